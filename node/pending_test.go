package node

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/posnode/posnode/chain"
	"github.com/posnode/posnode/consensus"
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

// TestOwnNonceSkipsALoggedRecordTheMempoolLacks: a record the node acknowledged is in the pending-transaction log
// but no longer in its mempool (expired, evicted, not admitted again after a restart or a reorg); the next record
// its user submits takes the next free nonce, not the logged record's, and both commit once a proposer sees them
// (PROTOCOL.md §11), and the logged records go back to the mempool at once. Signed with the logged record's nonce, one of the two acknowledged records would be lost: the
// defect a node killed during checkpoint sync and pruning showed (TestKilledDuringCheckpointSyncAndPruning).
func TestOwnNonceSkipsALoggedRecordTheMempoolLacks(t *testing.T) {
	c := newCluster(t, []uint64{10, 0}, 200*time.Millisecond, 0)
	n := c.start(1) // alone: no proposer takes its records
	ids := []chain.Hash{c.submitBPM(1, 61), c.submitBPM(1, 62)}
	if err := n.call(context.Background(), func() {
		tx, ok := n.pool.Get(ids[0])
		if !ok {
			t.Error("the first record is not in the mempool")
			return
		}
		n.pool.Drop(tx, errors.New("dropped by the test")) // with its follower, nonce 1
	}); err != nil {
		t.Fatal(err)
	}
	if !n.PendingHolds(ids[0]) || !n.PendingHolds(ids[1]) {
		t.Fatal("the log lost the records the mempool dropped")
	}
	ids = append(ids, c.submitBPM(1, 63))
	st, err := n.Tx(context.Background(), ids[2])
	if err != nil || st.Tx == nil {
		t.Fatalf("the third record: %+v, %v", st, err)
	}
	if st.Tx.Nonce != 2 {
		t.Fatalf("the third record took nonce %d; want 2, after the two the log holds", st.Tx.Nonce)
	}
	// The log's records go back to the mempool now, not at the next move of finality (there is none: no proposer).
	waitFor(t, 10*time.Second, "the logged records back in the mempool", func() bool {
		back := false
		n.call(context.Background(), func() { back = n.pool.Has(ids[0]) && n.pool.Has(ids[1]) })
		return back
	})
	c.start(0, 1)
	waitForCommitted(t, c, ids, []int{0, 1})
}

// TestPendingLeavesOnlyWhenFinal: the compaction rule (PROTOCOL.md §11) drops an entry a finalized block holds and
// one whose nonce a different final transaction took; it keeps one a block holds that is not final, and one no
// block holds.
func TestPendingLeavesOnlyWhenFinal(t *testing.T) {
	c := newCluster(t, []uint64{10, 10}, time.Second, time.Hour)
	key, id := c.keys[0], c.gen.Hash()
	final, committed, pending := bpmTx(key, 0, id), bpmTx(key, 2, id), bpmTx(key, 3, id)
	superseded, other := bpmTx(key, 1, id), bpmTx(key, 1, id)
	other.Value = 80
	other.Sign(id, key)
	finalState := c.gen.State()
	for _, tx := range []chain.Tx{final, other} {
		if err := finalState.ApplyTx(&tx); err != nil {
			t.Fatal(err)
		}
	}
	head := finalState.Clone()
	if err := head.ApplyTx(&committed); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "pending.txs")
	l := openTestLog(t, path, 0)
	defer l.Close()
	writeTxs(t, l, []chain.Tx{final, superseded, committed, pending})
	dropped, err := l.Compact(passedBy(finalState))
	if err != nil {
		t.Fatal(err)
	}
	got := l.Entries()
	if dropped != 2 || len(got) != 2 || got[0].ID() != committed.ID() || got[1].ID() != pending.ID() {
		t.Fatalf("dropped %d, kept %d; want the final and the superseded entries dropped, the committed-not-final "+
			"and the pending ones kept", dropped, len(got))
	}
	if head.Account(committed.From).Nonce <= committed.Nonce {
		t.Fatal("the fixture's head does not hold the committed entry")
	}
}

// TestReorgKeepsReturnedTransactions: the transactions of a block that left the canonical chain are appended to
// the pending-transaction log, whoever signed them, and survive a restart (PROTOCOL.md §11).
func TestReorgKeepsReturnedTransactions(t *testing.T) {
	c := newCluster(t, []uint64{10, 20}, time.Second, -time.Hour)
	n, err := New(Config{Home: c.homes[0], Genesis: c.gen})
	if err != nil {
		t.Fatal(err)
	}
	branchA, branchB := testTree(t, c), testTree(t, c)
	own, foreign := bpmTx(c.keys[0], 0, c.gen.Hash()), bpmTx(c.keys[1], 0, c.gen.Hash())
	if err := n.importBlock(c.propose(branchA, 1, own, foreign)); err != nil {
		t.Fatal(err)
	}
	for _, b := range []*chain.Block{c.propose(branchB, 2, own), c.propose(branchB, 3)} {
		if err := n.importBlock(b); err != nil {
			t.Fatal(err)
		}
	}
	n.pendingSyncs.Wait()
	if !n.pool.Has(foreign.ID()) || n.pendingLog.Len() != 2 {
		t.Fatalf("after the reorg: foreign record pooled %t, log holds %d; want true and both records", n.pool.Has(foreign.ID()), n.pendingLog.Len())
	}
	n.pendingLog.Close()
	n.guard.Close()
	n.store.Close()
	n, err = New(Config{Home: c.homes[0], Genesis: c.gen})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { n.pendingLog.Close(); n.guard.Close(); n.store.Close() }()
	if n.pendingLog.Len() != 2 {
		t.Errorf("after a restart: the log holds %d, want both records (the new branch's block holding one is not final)", n.pendingLog.Len())
	}
}

// testTree returns a tree of c's genesis over a memory store, for blocks made outside a node.
func testTree(t *testing.T, c *cluster) *chain.Tree {
	t.Helper()
	tree, err := chain.OpenTree(chain.TreeConfig{Genesis: c.gen, Store: chain.NewMemStore(), Elect: consensus.Leader,
		Better: consensus.Better, Finality: consensus.FFGRules()})
	if err != nil {
		t.Fatal(err)
	}
	return tree
}
