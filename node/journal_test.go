package node

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/posnode/posnode/chain"
)

// openTestJournal opens the journal at path, failing the test on error, and returns the warnings it gave.
func openTestJournal(t *testing.T, path string) (*journal, []chain.Tx, []string) {
	t.Helper()
	var warns []string
	j, txs, err := openJournal(path, func(n int, reason error) { warns = append(warns, fmt.Sprintf("torn tail of %d bytes: %v", n, reason)) })
	if err != nil {
		t.Fatalf("open journal: %v", err)
	}
	return j, txs, warns
}

// writeTxs appends and syncs each tx, one batch each.
func writeTxs(t *testing.T, j *journal, txs []chain.Tx) {
	t.Helper()
	for _, tx := range txs {
		if err := j.Sync(j.Append(tx)); err != nil {
			t.Fatal(err)
		}
	}
}

func TestJournalAppendSyncReopenCompact(t *testing.T) {
	_, keys, id := mempoolFixture(t)
	path := filepath.Join(t.TempDir(), "pending.txs")
	j, got, _ := openTestJournal(t, path)
	if len(got) != 0 {
		t.Fatalf("open new: got %d txs, want 0", len(got))
	}
	var txs []chain.Tx
	for n := range chain.Nonce(3) {
		txs = append(txs, bpmTx(keys[0], n, id))
	}
	writeTxs(t, j, txs)
	j.Close()
	j, got, _ = openTestJournal(t, path)
	if len(got) != 3 || got[2].ID() != txs[2].ID() {
		t.Fatalf("reopen: got %d txs; want the 3 written", len(got))
	}
	unsynced := bpmTx(keys[1], 0, id)
	j.Append(unsynced) // appended but not durable: compaction must not write it
	if err := j.Compact(append(txs[2:], unsynced)); err != nil {
		t.Fatal(err)
	}
	if j.Len() != 1 {
		t.Errorf("after compaction: got %d records, want 1", j.Len())
	}
	j.Close()
	if _, got, _ = openTestJournal(t, path); len(got) != 1 || got[0].ID() != txs[2].ID() {
		t.Errorf("after compaction and reopen: got %d txs, want only the last durable one", len(got))
	}
}

// journalFile writes a format-2 journal of txs to a new file and returns its path and bytes.
func journalFile(t *testing.T, txs []chain.Tx) (string, []byte) {
	t.Helper()
	data := []byte(journalMagic)
	for i := range txs {
		data = appendEntry(data, &txs[i])
	}
	path := filepath.Join(t.TempDir(), "pending.txs")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return path, data
}

// TestJournalDamage: a torn tail after a crash is cut off with a warning; a damaged entry before the end is an
// error that names the file, the entry and what to do; a journal of format 1 is read and rewritten.
func TestJournalDamage(t *testing.T) {
	_, keys, id := mempoolFixture(t)
	txs := []chain.Tx{bpmTx(keys[0], 0, id), bpmTx(keys[0], 1, id), bpmTx(keys[0], 2, id)}
	entry := func(i int) int { return len(journalMagic) + i*journalEntrySize }
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
		{"not a journal", func(b []byte) []byte { return []byte("hello, world") }, -1, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path, data := journalFile(t, txs)
			if err := os.WriteFile(path, tt.damage(data), 0o600); err != nil {
				t.Fatal(err)
			}
			var warns []string
			j, got, err := openJournal(path, func(n int, reason error) { warns = append(warns, fmt.Sprintf("torn tail of %d bytes: %v", n, reason)) })
			if tt.keep < 0 {
				if !errors.Is(err, ErrJournalDamaged) || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "move it aside") {
					t.Fatalf("got %v, want ErrJournalDamaged naming %s and what to do", err, path)
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
			checkJournalFile(t, path, got)
		})
	}
}

// checkJournalFile checks that the file at path is a clean format-2 journal of exactly txs.
func checkJournalFile(t *testing.T, path string, txs []chain.Tx) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	d, err := decodeJournal(data)
	if err != nil || d.legacy || d.dropped != 0 || len(d.txs) != len(txs) {
		t.Fatalf("file after open: %d txs, legacy %t, %d bytes torn, %v; want a clean journal of %d", len(d.txs), d.legacy, d.dropped, err, len(txs))
	}
}

func TestJournalLegacyFormat(t *testing.T) {
	_, keys, id := mempoolFixture(t)
	var data []byte
	for n := range chain.Nonce(3) {
		tx := bpmTx(keys[0], n, id)
		data = tx.AppendTo(data)
	}
	path := filepath.Join(t.TempDir(), "pending.txs")
	if err := os.WriteFile(path, data[:len(data)-10], 0o600); err != nil { // with a torn last record
		t.Fatal(err)
	}
	j, got, _ := openTestJournal(t, path)
	defer j.Close()
	if len(got) != 2 {
		t.Fatalf("format 1 journal: got %d txs, want 2", len(got))
	}
	checkJournalFile(t, path, got)
}

// TestRestoredEntriesValidated: journal entries with a valid checksum but a bad signature, or signed for another
// chain, are dropped at restore rather than put in the mempool and gossiped.
func TestRestoredEntriesValidated(t *testing.T) {
	c := newCluster(t, []uint64{10}, time.Second, time.Hour)
	key := c.keys[0]
	good := bpmTx(key, 0, c.gen.Hash())
	foreign := bpmTx(key, 1, chain.HashBytes([]byte("another chain")))
	forged := bpmTx(key, 1, c.gen.Hash())
	forged.Value = 99 // the signature was made over 70
	journalAt(t, filepath.Join(c.homes[0], "pending.txs"), []chain.Tx{good, foreign, forged})
	n := c.start(0)
	acct, err := n.Account(context.Background(), n.Address())
	if err != nil {
		t.Fatal(err)
	}
	var has [3]bool
	n.call(context.Background(), func() {
		for i, tx := range []chain.Tx{good, foreign, forged} {
			has[i] = n.pool.Has(tx.ID())
		}
	})
	if acct.Pending != 1 || !has[0] || has[1] || has[2] {
		t.Fatalf("restored: %d pending, good %t foreign %t forged %t; want only the good one", acct.Pending, has[0], has[1], has[2])
	}
}

// journalAt writes a format-2 journal of txs at path.
func journalAt(t *testing.T, path string, txs []chain.Tx) {
	t.Helper()
	data := []byte(journalMagic)
	for i := range txs {
		data = appendEntry(data, &txs[i])
	}
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
}

// FuzzDecodeJournal: decodeJournal never panics; what it accepts re-encodes to the bytes it kept.
func FuzzDecodeJournal(f *testing.F) {
	seed := sha256.Sum256([]byte("journal fuzz"))
	key, id := ed25519.NewKeyFromSeed(seed[:]), chain.HashBytes([]byte("journal fuzz chain"))
	var v2, v1 []byte
	v2 = append(v2, journalMagic...)
	for n := range chain.Nonce(3) {
		tx := bpmTx(key, n, id)
		v2 = appendEntry(v2, &tx)
		v1 = tx.AppendTo(v1)
	}
	for _, in := range [][]byte{nil, v2, v2[:len(v2)-3], v1, v1[:200], []byte(journalMagic), []byte("x")} {
		f.Add(in)
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		d, err := decodeJournal(in)
		if err != nil {
			if !errors.Is(err, ErrJournalDamaged) {
				t.Fatalf("error %v does not wrap ErrJournalDamaged", err)
			}
			return
		}
		var out []byte
		if !d.legacy && len(in) > 0 {
			out = append(out, journalMagic...)
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

// Records a user submitted survive a restart of their node before any block holds them, keep their nonces, and
// are committed once the node reaches a proposer.
func TestPendingRecordsSurviveRestart(t *testing.T) {
	c := newCluster(t, []uint64{10, 0}, 200*time.Millisecond, 0)
	c.start(1) // alone: no proposer can see its records
	ids := []chain.Hash{c.submitBPM(1, 61), c.submitBPM(1, 62)}
	c.stop(1)
	c.start(0)
	n := c.start(1, 0)
	acct, err := n.Account(context.Background(), n.Address())
	if err != nil || acct.Pending != 2 {
		t.Fatalf("after restart: got %d pending, %v; want 2", acct.Pending, err)
	}
	ids = append(ids, c.submitBPM(1, 63)) // takes nonce 2, after the restored ones
	waitForCommitted(t, c, ids, []int{0, 1})
}
