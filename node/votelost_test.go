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
	e := c.cutWhileVoting(0, others, epochLen)
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

// cutWhileVoting cuts node i off from the others in the last slot of an epoch, once that slot's block had time to
// arrive, so that it holds the next epoch's checkpoint, sees no block of that epoch and votes alone after
// finality.VoteDelay slots; it returns that epoch. When node i's target is not the checkpoint the others see (a
// block reached it too late), it heals the cut and tries the next epoch, three times at most.
func (c *cluster) cutWhileVoting(i int, others []int, epochLen uint64) chain.Epoch {
	c.t.Helper()
	for range 3 {
		var e chain.Epoch
		waitFor(c.t, 10*time.Second, "the last slot of an epoch", func() bool {
			s := c.status(i).Slot
			e = chain.Epoch(s/epochLen + 1)
			return s%epochLen == epochLen-1
		})
		time.Sleep(150 * time.Millisecond)
		c.partition([]int{i}, others, true)
		waitFor(c.t, 10*time.Second, "the cut-off node to vote", func() bool { return c.lastVoted(i) >= e })
		var target chain.Checkpoint
		c.nodes[i].call(context.Background(), func() { target = c.nodes[i].ffg.Own().Target })
		var want chain.Checkpoint
		waitFor(c.t, 10*time.Second, "the others to enter the epoch", func() bool {
			c.nodes[others[0]].call(context.Background(), func() {
				tree := c.nodes[others[0]].tree
				if c.gen.EpochOf(tree.Head().Slot) >= e {
					want = tree.Checkpoint(e)
				}
			})
			return want.Epoch == e
		})
		if target == want {
			return e
		}
		c.t.Logf("node %d voted for %s, the others' checkpoint is %s: trying the next epoch", i, target, want)
		c.partition([]int{i}, others, false)
	}
	c.t.Fatal("no clean cut in three epochs")
	return 0
}

// lastVoted returns the last epoch node i voted for.
func (c *cluster) lastVoted(i int) chain.Epoch {
	var e chain.Epoch
	if err := c.nodes[i].call(context.Background(), func() { e = c.nodes[i].ffg.LastVoted() }); err != nil {
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
