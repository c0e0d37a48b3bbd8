package node

import (
	"context"
	"testing"
	"time"

	"github.com/posnode/posnode/chain"
	"github.com/posnode/posnode/consensus"
	"github.com/posnode/posnode/node/view"
)

// offlineSlots describes the slots of epochs from..to for a node whose event loop does not run: a goroutine
// stands in for the loop and runs its calls.
func offlineSlots(t *testing.T, n *Node, from, to uint64) ([]view.Slot, error) {
	t.Helper()
	defer standInLoop(n)()
	snap, err := n.readSnapshot(context.Background())
	if err != nil {
		return nil, err
	}
	return n.slots(context.Background(), snap, from, to)
}

// The slot grid of an epoch whose states the tree has dropped costs the event loop no replay: the stake table is
// rebuilt off the loop (chain.StateSource), and the leaders are the ones the tree gives.
func TestOldSlotsReplayOffTheLoop(t *testing.T) {
	c := newCluster(t, []uint64{10, 20}, time.Second, -time.Hour)
	n, err := New(Config{Home: c.homes[0], Genesis: c.gen})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.pendingLog.Close(); n.guard.Close(); n.store.Close() })
	tree, err := chain.OpenTree(chain.TreeConfig{Genesis: c.gen, Store: chain.NewMemStore(), Elect: consensus.Leader,
		Better: consensus.Better, Finality: consensus.FFGRules()})
	if err != nil {
		t.Fatal(err)
	}
	parents := map[chain.Slot]chain.Hash{}
	parent := c.gen.Hash()
	for s := chain.Slot(1); s <= 800; s++ {
		parents[s] = parent
		if s%5 == 0 {
			continue // a missed slot, whose leader the grid draws
		}
		b := c.propose(tree, s)
		if err := n.importBlock(b); err != nil {
			t.Fatal(err)
		}
		parent = b.Hash()
	}
	before := n.tree.Replayed()
	grid, err := offlineSlots(t, n, 2, 3)
	if err != nil {
		t.Fatal(err)
	}
	if got := n.tree.Replayed(); got != before {
		t.Errorf("the grid of epochs 2..3 replayed %d blocks on the tree, want none", got-before)
	}
	for _, g := range grid {
		if g.State != view.SlotMissed {
			continue
		}
		want, _, err := n.tree.LeaderOn(parents[chain.Slot(g.Slot)], chain.Slot(g.Slot))
		if err != nil || g.Leader != want || g.LeaderStatus == "" {
			t.Errorf("slot %d: leader %s (%s), want %s (%v)", g.Slot, g.Leader.Short(), g.LeaderStatus, want.Short(), err)
		}
	}
	if n.tree.Replayed() == before {
		t.Error("the tree's own leader of an old slot replayed nothing: the states were kept, so the test proves nothing")
	}
}
