package node

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/posnode/posnode/chain"
)

func TestJournalAppendSyncReopenCompact(t *testing.T) {
	_, keys, id := mempoolFixture(t)
	path := filepath.Join(t.TempDir(), "pending.txs")
	j, got, err := openJournal(path)
	if err != nil || len(got) != 0 {
		t.Fatalf("open new: got %d txs, %v; want 0, nil", len(got), err)
	}
	var txs []chain.Tx
	for n := range chain.Nonce(3) {
		tx := bpmTx(keys[0], n, id)
		txs = append(txs, tx)
		seq, err := j.Append(tx)
		if err != nil {
			t.Fatal(err)
		}
		if err := j.Sync(seq); err != nil {
			t.Fatal(err)
		}
	}
	j.Close()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.Write(txs[0].Encode()[:50]) // a torn record, as after a crash mid-write
	f.Close()

	j, got, err = openJournal(path)
	if err != nil || len(got) != 3 || got[2].ID() != txs[2].ID() {
		t.Fatalf("reopen: got %d txs, %v; want the 3 written", len(got), err)
	}
	if err := j.Compact(txs[2:]); err != nil {
		t.Fatal(err)
	}
	if j.Len() != 1 {
		t.Errorf("after compaction: got %d records, want 1", j.Len())
	}
	j.Close()
	if _, got, _ = openJournal(path); len(got) != 1 || got[0].ID() != txs[2].ID() {
		t.Errorf("after compaction and reopen: got %d txs, want only the last", len(got))
	}
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
