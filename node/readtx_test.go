package node

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/posnode/posnode/chain"
	"github.com/posnode/posnode/consensus"
)

// readCountingStore counts the reads of blocks and of the transaction index that reach the tree's store: the tree
// is the event loop's, so each is a read on the loop.
type readCountingStore struct {
	chain.Store
	reads atomic.Int64
}

func (s *readCountingStore) Block(h chain.Hash) (*chain.Block, error) {
	s.reads.Add(1)
	return s.Store.Block(h)
}

func (s *readCountingStore) TxBlocks(id chain.Hash) ([]chain.Hash, error) {
	s.reads.Add(1)
	return s.Store.TxBlocks(id)
}

func (s *readCountingStore) TxIDs(prefix []byte, max int) ([]chain.Hash, error) {
	s.reads.Add(1)
	return s.Store.TxIDs(prefix, max)
}

// standInLoop runs n's event-loop calls on a goroutine, for a node whose loop does not run; the returned func
// stops it.
func standInLoop(n *Node) func() {
	done := make(chan struct{})
	rt := newLoopRuntime(done)
	n.rt = rt
	go func() {
		for {
			select {
			case f := <-rt.calls:
				f()
			case f := <-rt.posts:
				f()
			case <-done:
				return
			}
		}
	}()
	return func() { close(done) }
}

// Tx and FindTx find a pending transaction, one in a stored block and one in a block accepted and not yet stored,
// by ID and by an 8-digit prefix, without reading the store on the event loop: the tree's store sees no read.
func TestFindTxOffTheLoop(t *testing.T) {
	c := newCluster(t, []uint64{10, 20}, time.Second, -time.Hour)
	store := &readCountingStore{}
	n, err := New(Config{Home: c.homes[0], Genesis: c.gen,
		storeWrap: func(s chain.Store) chain.Store { store.Store = s; return store }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.pendingLog.Close(); n.guard.Close(); n.store.Close() })
	tree, err := chain.OpenTree(chain.TreeConfig{Genesis: c.gen, Store: chain.NewMemStore(), Elect: consensus.Leader,
		Better: consensus.Better, Finality: consensus.FFGRules()})
	if err != nil {
		t.Fatal(err)
	}
	key, id := c.keys[0], c.gen.Hash()
	stored, unstored, pending := bpmTx(key, 0, id), bpmTx(key, 1, id), bpmTx(key, 2, id)
	for s, txs := range [][]chain.Tx{nil, {stored}, nil, {unstored}} {
		if s == 3 {
			if err := n.tree.Flush(); err != nil { // blocks 1..3 stored, block 4 only accepted
				t.Fatal(err)
			}
		}
		if err := n.importBlock(c.propose(tree, chain.Slot(s+1), txs...)); err != nil {
			t.Fatal(err)
		}
	}
	if n.tree.Unflushed() != 1 {
		t.Fatalf("%d blocks wait for the store, want 1 (the test's unstored case)", n.tree.Unflushed())
	}
	if err := n.pool.AddLocal(pending, n.tree.HeadState()); err != nil {
		t.Fatal(err)
	}
	defer standInLoop(n)()
	store.reads.Store(0)
	ctx := context.Background()
	for _, tc := range []struct {
		name   string
		tx     chain.Tx
		status string
		height uint64
	}{{"stored", stored, "committed", 2}, {"unstored", unstored, "committed", 4}, {"pending", pending, "pending", 0}} {
		full := tc.tx.ID()
		byID, err := n.Tx(ctx, full)
		if err != nil {
			t.Fatalf("%s: Tx: %v", tc.name, err)
		}
		byPrefix, err := n.FindTx(ctx, full.String()[:MinTxPrefix])
		if err != nil {
			t.Fatalf("%s: FindTx: %v", tc.name, err)
		}
		for _, st := range []TxStatus{byID, byPrefix} {
			if st.ID != full || st.Status != tc.status || st.Height != tc.height || st.Tx == nil || st.Tx.ID != full {
				t.Errorf("%s: got %s %s at height %d (tx %v), want %s at height %d with the tx", tc.name,
					st.ID.Short(), st.Status, st.Height, st.Tx != nil, tc.status, tc.height)
			}
		}
	}
	if _, err := n.FindTx(ctx, "0123456789abcdef"); !errors.Is(err, ErrNotFound) {
		t.Errorf("FindTx of an unknown prefix: %v, want ErrNotFound", err)
	}
	if got := store.reads.Load(); got != 0 {
		t.Errorf("the lookups read the store %d times on the event loop, want 0", got)
	}
}
