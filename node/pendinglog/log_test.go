package pendinglog

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/posnode/posnode/chain"
)

// openTestLog opens the log at path, failing the test on error, and returns the warnings it gave.
func openTestLog(t *testing.T, path string) (*Log, []chain.Tx, []string) {
	t.Helper()
	var warns []string
	j, txs, err := Open(path, func(n int, reason error) { warns = append(warns, fmt.Sprintf("torn tail of %d bytes: %v", n, reason)) })
	if err != nil {
		t.Fatalf("open log: %v", err)
	}
	return j, txs, warns
}

// writeTxs appends and syncs each tx, one batch each.
func writeTxs(t *testing.T, j *Log, txs []chain.Tx) {
	t.Helper()
	for _, tx := range txs {
		if err := j.Sync(j.Append(tx)); err != nil {
			t.Fatal(err)
		}
	}
}

// fixture returns two keys and a chain ID to sign transactions with.
func fixture() ([]ed25519.PrivateKey, chain.Hash) {
	var keys []ed25519.PrivateKey
	for i := range 2 {
		seed := sha256.Sum256(fmt.Appendf(nil, "pendinglog key %d", i))
		keys = append(keys, ed25519.NewKeyFromSeed(seed[:]))
	}
	return keys, chain.HashBytes([]byte("pendinglog chain"))
}

// bpmTx returns a signed heart-rate record of key with nonce, on chain id.
func bpmTx(key ed25519.PrivateKey, nonce chain.Nonce, id chain.Hash) chain.Tx {
	tx := chain.Tx{Kind: chain.TxBPM, From: chain.AddressOf(key.Public().(ed25519.PublicKey)), Nonce: nonce, Value: 70, Fee: 1}
	tx.Sign(id, key)
	return tx
}

func TestAppendSyncReopenCompact(t *testing.T) {
	keys, id := fixture()
	path := filepath.Join(t.TempDir(), "pending.txs")
	j, got, _ := openTestLog(t, path)
	if len(got) != 0 {
		t.Fatalf("open new: got %d txs, want 0", len(got))
	}
	var txs []chain.Tx
	for n := range chain.Nonce(3) {
		txs = append(txs, bpmTx(keys[0], n, id))
	}
	writeTxs(t, j, txs)
	j.Close()
	j, got, _ = openTestLog(t, path)
	if len(got) != 3 || got[2].ID() != txs[2].ID() {
		t.Fatalf("reopen: got %d txs; want the 3 written", len(got))
	}
	unsynced := bpmTx(keys[1], 0, id)
	b := j.Append(unsynced) // appended but not durable: compaction neither writes nor drops it
	if !j.Holds(unsynced.ID()) {
		t.Error("an appended transaction is not held before its commit")
	}
	dropped, err := j.Compact(func(tx *chain.Tx) bool { return tx.From == txs[0].From && tx.Nonce < 2 })
	if err != nil || dropped != 2 {
		t.Fatalf("compaction: dropped %d, %v; want 2", dropped, err)
	}
	if j.Len() != 1 || j.Holds(txs[0].ID()) || !j.Holds(txs[2].ID()) || !j.Holds(unsynced.ID()) {
		t.Errorf("after compaction: %d records, holds dropped %t, kept %t, unsynced %t; want 1, false, true, true",
			j.Len(), j.Holds(txs[0].ID()), j.Holds(txs[2].ID()), j.Holds(unsynced.ID()))
	}
	if err := j.Sync(b); err != nil {
		t.Fatal(err)
	}
	if n, err := j.Compact(func(*chain.Tx) bool { return false }); n != 0 || err != nil {
		t.Errorf("compaction with nothing to drop: dropped %d, %v", n, err)
	}
	if e := j.Entries(); len(e) != 2 || e[0].ID() != txs[2].ID() || e[1].ID() != unsynced.ID() {
		t.Errorf("entries: got %d, want the kept one then the one committed after the compaction", len(e))
	}
	j.Close()
	if _, got, _ = openTestLog(t, path); len(got) != 2 || got[0].ID() != txs[2].ID() || got[1].ID() != unsynced.ID() {
		t.Errorf("after compaction and reopen: got %d txs, want the kept one and the one committed after", len(got))
	}
}

// logFile writes a format-2 log of txs to a new file and returns its path and bytes.
func logFile(t *testing.T, txs []chain.Tx) (string, []byte) {
	t.Helper()
	data := Encode(txs)
	path := filepath.Join(t.TempDir(), "pending.txs")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return path, data
}

// TestDamage: a torn tail after a crash is cut off with a warning; a damaged entry before the end is an
// error that names the file, the entry and what to do; a log of format 1 is read and rewritten.
func TestDamage(t *testing.T) {
	keys, id := fixture()
	txs := []chain.Tx{bpmTx(keys[0], 0, id), bpmTx(keys[0], 1, id), bpmTx(keys[0], 2, id)}
	entry := func(i int) int { return len(Magic) + i*EntrySize }
	tests := []struct {
		name   string
		damage func([]byte) []byte
		keep   int    // transactions restored; -1: open fails
		warn   string // in the warning, if any
	}{
		{"intact", func(b []byte) []byte { return b }, 3, ""},
		{"partial last entry", func(b []byte) []byte { return b[:len(b)-50] }, 2, "torn tail of 107 bytes"},
		{"last entry garbage", func(b []byte) []byte { b[len(b)-1] ^= 1; return b }, 2, "checksum"},
		{"last two entries zeroed", func(b []byte) []byte { clear(b[entry(1):]); return b }, 1, "entry 1 of 3"},
		{"bpm value changed in the middle", func(b []byte) []byte { b[entry(1)+80] ^= 1; return b }, -1, ""},
		{"middle checksum changed", func(b []byte) []byte { b[entry(2)-1] ^= 1; return b }, -1, ""},
		{"not a log", func(b []byte) []byte { return []byte("hello, world") }, -1, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path, data := logFile(t, txs)
			if err := os.WriteFile(path, tt.damage(data), 0o600); err != nil {
				t.Fatal(err)
			}
			var warns []string
			j, got, err := Open(path, func(n int, reason error) { warns = append(warns, fmt.Sprintf("torn tail of %d bytes: %v", n, reason)) })
			if tt.keep < 0 {
				if !errors.Is(err, ErrDamaged) || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "move it aside") {
					t.Fatalf("got %v, want ErrDamaged naming %s and what to do", err, path)
				}
				t.Logf("%s: %v", tt.name, err)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer j.Close()
			if len(got) != tt.keep || (tt.warn == "") != (len(warns) == 0) || (tt.warn != "" && !strings.Contains(warns[0], tt.warn)) {
				t.Fatalf("got %d txs and warnings %q; want %d and a warning with %q", len(got), warns, tt.keep, tt.warn)
			}
			checkFile(t, path, got)
		})
	}
}

// checkFile checks that the file at path is a clean format-2 log of exactly txs.
func checkFile(t *testing.T, path string, txs []chain.Tx) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	d, err := decode(data)
	if err != nil || d.legacy || d.dropped != 0 || len(d.txs) != len(txs) {
		t.Fatalf("file after open: %d txs, legacy %t, %d bytes torn, %v; want a clean log of %d", len(d.txs), d.legacy, d.dropped, err, len(txs))
	}
}

func TestLegacyFormat(t *testing.T) {
	keys, id := fixture()
	var data []byte
	for n := range chain.Nonce(3) {
		tx := bpmTx(keys[0], n, id)
		data = tx.AppendTo(data)
	}
	path := filepath.Join(t.TempDir(), "pending.txs")
	if err := os.WriteFile(path, data[:len(data)-10], 0o600); err != nil { // with a torn last record
		t.Fatal(err)
	}
	j, got, _ := openTestLog(t, path)
	defer j.Close()
	if len(got) != 2 {
		t.Fatalf("format 1 log: got %d txs, want 2", len(got))
	}
	checkFile(t, path, got)
}

// FuzzDecode: decodeJournal never panics; what it accepts re-encodes to the bytes it kept.
func FuzzDecode(f *testing.F) {
	seed := sha256.Sum256([]byte("journal fuzz"))
	key, id := ed25519.NewKeyFromSeed(seed[:]), chain.HashBytes([]byte("journal fuzz chain"))
	var v2, v1 []byte
	v2 = append(v2, Magic...)
	for n := range chain.Nonce(3) {
		tx := bpmTx(key, n, id)
		v2 = appendEntry(v2, &tx)
		v1 = tx.AppendTo(v1)
	}
	for _, in := range [][]byte{nil, v2, v2[:len(v2)-3], v1, v1[:200], []byte(Magic), []byte("x")} {
		f.Add(in)
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		d, err := decode(in)
		if err != nil {
			if !errors.Is(err, ErrDamaged) {
				t.Fatalf("error %v does not wrap ErrDamaged", err)
			}
			return
		}
		var out []byte
		if !d.legacy && len(in) > 0 {
			out = append(out, Magic...)
		}
		for i := range d.txs {
			if d.legacy {
				out = d.txs[i].AppendTo(out)
			} else {
				out = appendEntry(out, &d.txs[i])
			}
		}
		if kept := in[:len(in)-d.dropped]; !bytes.Equal(out, kept) {
			t.Fatalf("re-encoding differs from the %d bytes kept", len(kept))
		}
	})
}

// TestEachWalksTheFileInOrder: Each sees the durable entries in file order, not the appends of a commit to come;
// AppendID holds the ID it is given.
func TestEachWalksTheFileInOrder(t *testing.T) {
	keys, id := fixture()
	j, _, _ := openTestLog(t, filepath.Join(t.TempDir(), "pending.txs"))
	defer j.Close()
	txs := []chain.Tx{bpmTx(keys[0], 0, id), bpmTx(keys[1], 0, id), bpmTx(keys[0], 1, id)}
	writeTxs(t, j, txs)
	later := bpmTx(keys[1], 1, id)
	j.AppendID(later, later.ID()) // not synced: not in the file
	var got []chain.Hash
	j.Each(func(tx *chain.Tx) { got = append(got, tx.ID()) })
	want := []chain.Hash{txs[0].ID(), txs[1].ID(), txs[2].ID()}
	if !slices.Equal(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
	if !j.Holds(later.ID()) {
		t.Errorf("Holds(%s) after AppendID: got false, want true", later.ID().Short())
	}
}

// TestAppendIDsJoinsTheNextCommit: a batch appended with AppendIDs after a single Append goes into the same
// commit, is held from the append on, and is read back whole and in order after a restart.
func TestAppendIDsJoinsTheNextCommit(t *testing.T) {
	keys, id := fixture()
	path := filepath.Join(t.TempDir(), "pending.txs")
	j, _, _ := openTestLog(t, path)
	first := bpmTx(keys[0], 0, id)
	b0 := j.Append(first)
	batch := []chain.Tx{bpmTx(keys[1], 0, id), bpmTx(keys[0], 1, id), bpmTx(keys[1], 1, id)}
	ids := make([]chain.Hash, len(batch))
	for i := range batch {
		ids[i] = batch[i].ID()
	}
	if b := j.AppendIDs(batch, ids); b != b0 {
		t.Fatal("AppendIDs: got another batch than the pending commit's")
	}
	for _, h := range ids {
		if !j.Holds(h) {
			t.Errorf("Holds(%s) after AppendIDs: got false, want true", h.Short())
		}
	}
	if err := j.Sync(b0); err != nil {
		t.Fatal(err)
	}
	j.Close()
	j, got, _ := openTestLog(t, path)
	defer j.Close()
	want := append([]chain.Tx{first}, batch...)
	if !slices.EqualFunc(got, want, func(a, b chain.Tx) bool { return a.ID() == b.ID() }) {
		t.Errorf("after a restart: got %d entries, want the %d appended, in order", len(got), len(want))
	}
}

// HoldsNonce answers for every entry the log holds, appended or in the file, across a compaction and a reopen,
// and for no other sender or nonce; an entry dropped by a compaction frees its nonce unless another entry of the
// same sender holds it too (PROTOCOL.md §11: a node never gives a held nonce to a new transaction).
func TestHoldsNonceFollowsTheEntries(t *testing.T) {
	keys, id := fixture()
	path := filepath.Join(t.TempDir(), "pending.txs")
	j, _, _ := openTestLog(t, path)
	a, b := chain.AddressOf(keys[0].Public().(ed25519.PublicKey)), chain.AddressOf(keys[1].Public().(ed25519.PublicKey))
	tx3 := bpmTx(keys[0], 3, id)
	batch := j.Append(tx3)
	if !j.HoldsNonce(a, 3) || j.HoldsNonce(a, 2) || j.HoldsNonce(b, 3) {
		t.Fatalf("after an append of a's nonce 3: holds a/3 %t, a/2 %t, b/3 %t; want true, false, false",
			j.HoldsNonce(a, 3), j.HoldsNonce(a, 2), j.HoldsNonce(b, 3))
	}
	if err := j.Sync(batch); err != nil {
		t.Fatal(err)
	}
	other3 := bpmTx(keys[0], 3, id) // the same sender and nonce, another record: both are held
	other3.Value = 71
	other3.Sign(id, keys[0])
	writeTxs(t, j, []chain.Tx{other3, bpmTx(keys[0], 4, id), bpmTx(keys[1], 9, id)})
	if n, err := j.Compact(func(tx *chain.Tx) bool { return tx.ID() == tx3.ID() }); err != nil || n != 1 {
		t.Fatalf("compact: dropped %d, %v; want 1, nil", n, err)
	}
	if !j.HoldsNonce(a, 3) {
		t.Error("a/3 freed by the compaction though another entry holds it")
	}
	if _, err := j.Compact(func(tx *chain.Tx) bool { return tx.From == a && tx.Nonce == 3 }); err != nil {
		t.Fatal(err)
	}
	if j.HoldsNonce(a, 3) || !j.HoldsNonce(a, 4) || !j.HoldsNonce(b, 9) {
		t.Errorf("after compacting a/3 away: holds a/3 %t, a/4 %t, b/9 %t; want false, true, true",
			j.HoldsNonce(a, 3), j.HoldsNonce(a, 4), j.HoldsNonce(b, 9))
	}
	j.Close()
	j, _, _ = openTestLog(t, path)
	defer j.Close()
	if j.HoldsNonce(a, 3) || !j.HoldsNonce(a, 4) || !j.HoldsNonce(b, 9) {
		t.Errorf("after a reopen: holds a/3 %t, a/4 %t, b/9 %t; want false, true, true",
			j.HoldsNonce(a, 3), j.HoldsNonce(a, 4), j.HoldsNonce(b, 9))
	}
}
