package node

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/zap/zaptest"

	"github.com/posnode/posnode/chain"
	"github.com/posnode/posnode/node/blocksync"
)

// failingStore is a chain store whose block writes fail while fail is set, as on a full or failing disk.
type failingStore struct {
	chain.Store
	fail   atomic.Bool
	writes atomic.Int64 // block writes attempted
}

func (s *failingStore) PutBlock(b *chain.Block) error { return s.PutBlocks([]*chain.Block{b}) }

func (s *failingStore) PutBlocks(bs []*chain.Block) error {
	s.writes.Add(1)
	if s.fail.Load() {
		return fmt.Errorf("%w: put blocks: no space left on device", chain.ErrStoreFailed)
	}
	return s.Store.PutBlocks(bs)
}

// TestFailedFlushStopsSigning: while a validator cannot write accepted blocks to its chain database, it keeps
// following the chain in memory but signs no block and no vote, and says so in /api/status; once the database
// works again it stores what it accepted and signs again (PROTOCOL.md §11).
func TestFailedFlushStopsSigning(t *testing.T) {
	c := newCluster(t, []uint64{10, 10}, 200*time.Millisecond, 0)
	store := &failingStore{}
	c.start(0)
	n := c.run(1, Config{Home: c.homes[1], Genesis: c.gen, Listen: []string{"/ip4/127.0.0.1/tcp/0"},
		Bootstrap: []string{c.nodes[0].Addrs()[0]}, Logger: zaptest.NewLogger(t).Named("node1"),
		storeWrap: func(s chain.Store) chain.Store { store.Store = s; return store }})
	self := n.Address()
	waitFor(t, 30*time.Second, "node 1 to propose a block", func() bool { return c.proposedBy(0, self, 0) > 0 })

	store.fail.Store(true)
	waitFor(t, 10*time.Second, "node 1 to report that it stopped signing", func() bool {
		return strings.HasPrefix(c.status(1).Signing, "paused:")
	})
	paused := c.status(1)
	voted := lastVoted(t, n)
	waitFor(t, 30*time.Second, "node 1 to follow 12 more blocks in memory", func() bool {
		return c.status(1).Height >= paused.Height+12
	})
	if got := c.proposedBy(0, self, chain.Slot(paused.Slot)); got != 0 {
		t.Fatalf("node 1 signed %d blocks after slot %d, while it could not flush", got, paused.Slot)
	}
	if v := lastVoted(t, n); v != voted {
		t.Fatalf("node 1 voted for epoch %d while it could not flush (last vote before: epoch %d)", v, voted)
	}
	var unflushed int
	n.call(context.Background(), func() { unflushed = n.tree.Unflushed() })
	if unflushed < 12 {
		t.Fatalf("got %d accepted blocks unflushed, want at least the 12 followed while failing", unflushed)
	}

	store.fail.Store(false)
	resumed := c.status(1)
	waitFor(t, 10*time.Second, "node 1 to sign again", func() bool { return c.status(1).Signing == "active" })
	waitFor(t, 30*time.Second, "a block of node 1 after the disk recovered", func() bool {
		return c.proposedBy(0, self, chain.Slot(resumed.Slot)) > 0
	})
	// The head may be a block accepted after the last flush: the write-behind stores it within flushAfter.
	head := c.status(1)
	waitFor(t, 10*time.Second, fmt.Sprintf("node 1's head %s in its chain database after recovery", head.Head.Short()),
		func() bool { _, err := store.Store.Block(head.Head); return err == nil })
	t.Logf("paused at height %d; followed %d blocks unflushed; signed again after %d failed or successful block writes",
		paused.Height, unflushed, store.writes.Load())
}

// proposedBy counts the blocks of proposer after slot on node i's canonical chain.
func (c *cluster) proposedBy(i int, proposer chain.Address, after chain.Slot) int {
	h := c.status(i).Height
	count := 0
	for from := uint64(1); from <= h; from += blocksync.MaxRangeBlocks {
		bs, err := c.nodes[i].Blocks(context.Background(), from, min(h, from+blocksync.MaxRangeBlocks-1))
		if err != nil {
			c.t.Fatalf("node %d blocks: %v", i, err)
		}
		for _, b := range bs {
			if b.Proposer == proposer && chain.Slot(b.Slot) > after {
				count++
			}
		}
	}
	return count
}

// lastVoted returns the last epoch n voted for since it started.
func lastVoted(t *testing.T, n *Node) chain.Epoch {
	t.Helper()
	var e chain.Epoch
	if err := n.call(context.Background(), func() { e = n.ffg.LastVoted() }); err != nil {
		t.Fatal(err)
	}
	return e
}
