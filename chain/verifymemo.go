package chain

import (
	"encoding/binary"
	"sync"
	"sync/atomic"
)

// VerifyMemo remembers the outcome of each signature, VRF proof and key check by the bytes checked: the outcome
// depends on nothing else. A simulator that runs many nodes in one process installs one (ShareVerification), so
// that a check every node repeats costs one verification, and its CPU goes to behaviour. Production never
// installs one: every node verifies everything itself.
//
// A check is remembered under its key: the check's kind and each input, length-prefixed — the bytes themselves,
// not a digest of them, so a look-up costs a map hash instead of a SHA-256, and two inputs can share a key only if
// they are the same bytes.
type VerifyMemo struct {
	mu   sync.Mutex
	key  []byte // the key being looked up; under mu
	sigs map[string]bool
	vrfs map[string]vrfOutcome
}

type vrfOutcome struct {
	out VRFOutput
	ok  bool
}

// memo is the installed VerifyMemo; nil in production.
var memo atomic.Pointer[VerifyMemo]

// ShareVerification installs a new VerifyMemo for every check of this process until the returned function is
// called. For simulators only.
func ShareVerification() (uninstall func()) {
	m := &VerifyMemo{sigs: map[string]bool{}, vrfs: map[string]vrfOutcome{}}
	memo.Store(m)
	return func() { memo.CompareAndSwap(m, nil) }
}

// setKey makes m.key the key of a check of the kind on parts: the kind, then each part as its length (u32,
// big-endian) and its bytes. The caller holds m.mu.
func (m *VerifyMemo) setKey(kind byte, parts [][]byte) {
	k := append(m.key[:0], kind)
	for _, p := range parts {
		k = append(binary.BigEndian.AppendUint32(k, uint32(len(p))), p...)
	}
	m.key = k
}

// remembered returns the outcome of check, a check of the kind on parts, running it once for a key not seen.
func (m *VerifyMemo) remembered(kind byte, check func() bool, parts ...[]byte) bool {
	m.mu.Lock()
	m.setKey(kind, parts)
	ok, seen := m.sigs[string(m.key)]
	k := ""
	if !seen {
		k = string(m.key)
	}
	m.mu.Unlock()
	if seen {
		return ok
	}
	ok = check()
	m.mu.Lock()
	m.sigs[k] = ok
	m.mu.Unlock()
	return ok
}

// vrf is remembered for a VRF proof's check, which has an output besides its verdict.
func (m *VerifyMemo) vrf(check func() (VRFOutput, bool), parts ...[]byte) (VRFOutput, bool) {
	m.mu.Lock()
	m.setKey('v', parts)
	o, seen := m.vrfs[string(m.key)]
	k := ""
	if !seen {
		k = string(m.key)
	}
	m.mu.Unlock()
	if seen {
		return o.out, o.ok
	}
	o.out, o.ok = check()
	m.mu.Lock()
	m.vrfs[k] = o
	m.mu.Unlock()
	return o.out, o.ok
}
