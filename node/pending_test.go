package node

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/posnode/posnode/chain"
	"github.com/posnode/posnode/node/pendinglog"
)

// openTestLog opens the pending-transaction log at path, failing the test on an error, on a warning or when it
// does not hold want entries.
func openTestLog(t *testing.T, path string, want int) *pendinglog.Log {
	t.Helper()
	l, txs, err := pendinglog.Open(path, func(n int, reason error) { t.Errorf("torn tail of %d bytes: %v", n, reason) })
	if err != nil {
		t.Fatalf("open pending-transaction log: %v", err)
	}
	if len(txs) != want || l.Len() != want {
		t.Fatalf("open pending-transaction log: got %d entries, want %d", len(txs), want)
	}
	return l
}

// writeTxs appends and syncs each tx, one batch each.
func writeTxs(t *testing.T, l *pendinglog.Log, txs []chain.Tx) {
	t.Helper()
	for _, tx := range txs {
		if err := l.Sync(l.Append(tx)); err != nil {
			t.Fatal(err)
		}
	}
}

// journalAt writes a pending-transaction log of txs at path.
func logAt(t *testing.T, path string, txs []chain.Tx) {
	t.Helper()
	if err := os.WriteFile(path, pendinglog.Encode(txs), 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestRestoredEntriesValidated: log entries with a valid checksum but a bad signature, or signed for another
// chain, are dropped at restore rather than put in the mempool and gossiped.
func TestRestoredEntriesValidated(t *testing.T) {
	c := newCluster(t, []uint64{10}, time.Second, time.Hour)
	key := c.keys[0]
	good := bpmTx(key, 0, c.gen.Hash())
	foreign := bpmTx(key, 1, chain.HashBytes([]byte("another chain")))
	forged := bpmTx(key, 1, c.gen.Hash())
	forged.Value = 99 // the signature was made over 70
	logAt(t, filepath.Join(c.homes[0], "pending.txs"), []chain.Tx{good, foreign, forged})
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
