package chain

import (
	"crypto/sha256"
	"sync"
	"sync/atomic"
)

// VerifyMemo remembers the outcome of each signature, VRF proof and key check by the bytes checked: the outcome
// depends on nothing else. A simulator that runs many nodes in one process installs one (ShareVerification), so
// that a check every node repeats costs one verification, and its CPU goes to behaviour. Production never
// installs one: every node verifies everything itself.
type VerifyMemo struct {
	mu   sync.Mutex
	sigs map[[32]byte]bool
	vrfs map[[32]byte]vrfOutcome
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
	m := &VerifyMemo{sigs: map[[32]byte]bool{}, vrfs: map[[32]byte]vrfOutcome{}}
	memo.Store(m)
	return func() { memo.CompareAndSwap(m, nil) }
}

// memoKey is the SHA-256 of a check's kind and its length-prefixed inputs.
func memoKey(kind byte, parts ...[]byte) [32]byte {
	h := sha256.New()
	h.Write([]byte{kind})
	for _, p := range parts {
		var n [4]byte
		n[0], n[1], n[2], n[3] = byte(len(p)>>24), byte(len(p)>>16), byte(len(p)>>8), byte(len(p))
		h.Write(n[:])
		h.Write(p)
	}
	var k [32]byte
	h.Sum(k[:0])
	return k
}

// remembered returns check's outcome from m, running it once for a key not seen.
func (m *VerifyMemo) remembered(k [32]byte, check func() bool) bool {
	m.mu.Lock()
	ok, seen := m.sigs[k]
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

func (m *VerifyMemo) vrf(k [32]byte, check func() (VRFOutput, bool)) (VRFOutput, bool) {
	m.mu.Lock()
	o, seen := m.vrfs[k]
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
