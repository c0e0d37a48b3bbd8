package node

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/posnode/posnode/chain"
)

// startMesh starts the nodes in the order given, each bootstrapped to every node started before it, so that
// stopping some of them leaves the others connected.
func (c *cluster) startMesh(order ...int) {
	for k, i := range order {
		c.start(i, order[:k]...)
	}
}

// finalized returns node i's finalized checkpoint.
func (c *cluster) finalized(i int) chain.Checkpoint { return c.status(i).Finalized }

// waitFinalized waits until every given node has finalized a checkpoint of at least epoch e, and returns the
// slot (by node nodes[0]'s clock) at which each node was first seen to finalize each epoch up to e.
func (c *cluster) waitFinalized(e chain.Epoch, timeout time.Duration, nodes ...int) map[int]map[chain.Epoch]chain.Slot {
	c.t.Helper()
	seen := map[int]map[chain.Epoch]chain.Slot{}
	for _, i := range nodes {
		seen[i] = map[chain.Epoch]chain.Slot{}
	}
	waitFor(c.t, timeout, fmt.Sprintf("nodes %v to finalize epoch %d", nodes, e), func() bool {
		done := true
		for _, i := range nodes {
			st := c.status(i)
			for f := chain.Epoch(1); f <= st.Finalized.Epoch; f++ {
				if _, ok := seen[i][f]; !ok {
					seen[i][f] = chain.Slot(st.Slot)
				}
			}
			done = done && st.Finalized.Epoch >= e
		}
		return done
	})
	return seen
}

// sameFinalized fails unless the nodes agree on finality: each node's finalized checkpoint is final on every node
// that finalized as far.
func (c *cluster) sameFinalized(nodes ...int) {
	c.t.Helper()
	for _, i := range nodes {
		f := c.finalized(i)
		for _, j := range nodes {
			if j != i && c.finalized(j).Epoch >= f.Epoch && !c.isFinal(j, f.Hash) {
				c.t.Errorf("node %d finalized %s, which is not final on node %d", i, f, j)
			}
		}
	}
}

// isFinal reports whether block h is final on node i's chain.
func (c *cluster) isFinal(i int, h chain.Hash) bool {
	var final bool
	if err := c.nodes[i].call(context.Background(), func() { final = c.nodes[i].tree.IsFinal(h) }); err != nil {
		c.t.Fatalf("node %d: %v", i, err)
	}
	return final
}

// TestFinality: 4 validators with stakes 10/20/30/40 (PROTOCOL.md §8a). Under full participation every node
// finalizes each checkpoint within 2 epochs of its epoch; with the 10 and 20 validators stopped (30 % of the
// stake) finality goes on; with the 40 validator stopped too (70 % offline) blocks go on and finality stops, and
// it resumes when the 40 validator returns.
func TestFinality(t *testing.T) {
	c := newCluster(t, []uint64{10, 20, 30, 40}, 300*time.Millisecond, 2*time.Second)
	const epochLen = 8 // newCluster's
	c.startMesh(3, 2, 1, 0)
	all := []int{0, 1, 2, 3}

	seen := c.waitFinalized(4, 90*time.Second, all...)
	for _, i := range all {
		for e := chain.Epoch(1); e <= 4; e++ {
			if at := chain.Epoch(uint64(seen[i][e]) / epochLen); at > e+2 {
				t.Errorf("node %d: checkpoint of epoch %d first seen finalized in epoch %d (slot %d), want by epoch %d",
					i, e, at, seen[i][e], e+2)
			}
		}
		t.Logf("node %d: epoch → slot first seen finalized: %v", i, seen[i])
	}
	c.sameFinalized(all...)

	c.stop(0)
	c.stop(1)
	base := min(c.finalized(2).Epoch, c.finalized(3).Epoch)
	c.waitFinalized(base+3, 90*time.Second, 2, 3)
	c.sameFinalized(2, 3)
	t.Logf("without 10 and 20: finalized epoch %d → %d", base, c.finalized(2).Epoch)

	c.stop(3)
	stoppedIn := chain.Epoch(c.status(2).Slot / epochLen)
	waitFor(t, 60*time.Second, "two epochs after the stop", func() bool {
		return chain.Epoch(c.status(2).Slot/epochLen) >= stoppedIn+2
	})
	frozen, height := c.finalized(2), c.status(2).Height
	waitFor(t, 60*time.Second, "three more epochs", func() bool {
		return chain.Epoch(c.status(2).Slot/epochLen) >= stoppedIn+5
	})
	if st := c.status(2); st.Finalized != frozen || st.Height <= height {
		t.Fatalf("with 70 %% of the stake offline: finalized %s → %s, height %d → %d; want finality stopped, blocks going on",
			frozen, st.Finalized, height, st.Height)
	}

	c.start(3, 2)
	c.waitFinalized(frozen.Epoch+2, 90*time.Second, 2, 3)
	c.sameFinalized(2, 3)
	t.Logf("with 40 back: finalized epoch %d → %d at height %d", frozen.Epoch, c.finalized(2).Epoch, c.status(2).Height)
}
