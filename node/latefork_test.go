package node

import (
	"testing"
	"time"

	"github.com/posnode/posnode/chain"
	"github.com/posnode/posnode/consensus"
)

// A late block cannot orphan a timely one by height alone (PROTOCOL.md §8): on the real fork-choice rule, a late
// branch one block higher than a timely head does not take the head; a late block that extends the head does; a
// late branch two blocks higher does.
func TestLateBlockDoesNotOrphanTimelyHead(t *testing.T) {
	c := newCluster(t, []uint64{10, 20}, time.Second, -time.Hour)
	open := func() *chain.Tree {
		tr, err := chain.OpenTree(chain.TreeConfig{Genesis: c.gen, Store: chain.NewMemStore(), Elect: consensus.Leader,
			Better: consensus.Better, Finality: consensus.FFGRules()})
		if err != nil {
			t.Fatal(err)
		}
		return tr
	}
	branchA, branchB, tr := open(), open(), open()
	a1 := c.propose(branchA, 1)
	b2, b3, b4 := c.propose(branchB, 2), c.propose(branchB, 3), c.propose(branchB, 4)
	a5 := c.propose(branchA, 5)
	insert := func(b *chain.Block, timely bool, want *chain.Block, why string) {
		t.Helper()
		if _, err := tr.InsertTimely(b, b.Header.Slot, timely); err != nil {
			t.Fatal(err)
		}
		if got := tr.Head(); got.Hash != want.Hash() {
			t.Fatalf("%s: head is #%d %s, want #%d %s", why, got.Height, got.Hash.Short(), want.Header.Height, want.Hash().Short())
		}
	}
	insert(a1, true, a1, "a timely block on genesis")
	insert(b2, false, a1, "a late block of the same height")
	insert(b3, false, a1, "a late branch one block higher than the timely head (the old rule took it)")
	insert(a5, false, a5, "a late block that extends the head")
	insert(b4, false, b4, "a late branch one block higher than a late head")
}
