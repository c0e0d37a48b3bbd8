package node

import (
	"context"
	"testing"
	"time"

	"github.com/posnode/posnode/chain"
)

// A validator cut off from every peer while it votes publishes its vote to nobody; once it is back it publishes
// it again (PROTOCOL.md §8a), and a block proposed by another node includes it. Node 0 holds 1 % of the stake so
// that it almost never proposes (and includes its own vote) itself.
func TestVoteOfCutOffValidatorIsIncluded(t *testing.T) {
	c := newCluster(t, []uint64{1, 33, 33, 33}, 300*time.Millisecond, 2*time.Second)
	const epochLen = 8 // newCluster's
	c.startMesh(0, 1, 2, 3)
	all, others := []int{0, 1, 2, 3}, []int{1, 2, 3}
	c.waitFinalized(1, 60*time.Second, all...)
	// Cut node 0 off in the last slot of an epoch, once that slot's block had time to arrive: it holds the next
	// epoch's checkpoint, sees no block of that epoch, and votes alone after voteDelay slots.
	var e chain.Epoch
	waitFor(t, 10*time.Second, "the last slot of an epoch", func() bool {
		s := c.status(0).Slot
		e = chain.Epoch(s/epochLen + 1)
		return s%epochLen == epochLen-1
	})
	time.Sleep(150 * time.Millisecond)
	c.partition([]int{0}, others, true)
	waitFor(t, 10*time.Second, "node 0 to vote while cut off", func() bool { return c.lastVoted(0) >= e })
	if got := c.lastVoted(0); got != e {
		t.Fatalf("node 0 voted for epoch %d while cut off, want %d", got, e)
	}
	time.Sleep(900 * time.Millisecond)
	if c.holdsVoteOf(1, 0, e) != nil {
		t.Fatalf("node 1's chain holds node 0's vote for epoch %d before node 0 came back", e)
	}
	c.partition([]int{0}, others, false)
	var b *chain.Block
	waitFor(t, 20*time.Second, "a block of node 1's chain to hold node 0's vote", func() bool {
		b = c.holdsVoteOf(1, 0, e)
		return b != nil
	})
	if b.Header.Proposer == c.nodes[0].Address() {
		t.Skipf("node 0 included its own vote (block %d): the republication was not needed this time", b.Header.Height)
	}
	t.Logf("node 0's vote for epoch %d is in block %d (slot %d) by %s", e, b.Header.Height, b.Header.Slot, b.Header.Proposer.Short())
}

// lastVoted returns the last epoch node i voted for.
func (c *cluster) lastVoted(i int) chain.Epoch {
	var e chain.Epoch
	if err := c.nodes[i].call(context.Background(), func() { e = c.nodes[i].ffg.lastVoted }); err != nil {
		c.t.Fatal(err)
	}
	return e
}

// holdsVoteOf returns the canonical block of node i that holds node j's vote for epoch e, or nil.
func (c *cluster) holdsVoteOf(i, j int, e chain.Epoch) *chain.Block {
	voter := c.nodes[j].Address()
	var found *chain.Block
	err := c.nodes[i].call(context.Background(), func() {
		tree := c.nodes[i].tree
		for h := tree.Head().Height; h > 0 && found == nil; h-- {
			b, err := tree.BlockAt(h)
			if err != nil || c.gen.EpochOf(b.Header.Slot) < e { // votes for e are in blocks of e and e+1
				return
			}
			for _, v := range b.Votes {
				if v.Validator == voter && v.Target.Epoch == e {
					found = b
				}
			}
		}
	})
	if err != nil {
		c.t.Fatal(err)
	}
	return found
}
