package node

import (
	"context"
	"testing"
	"time"

	"github.com/posnode/posnode/chain"
	"github.com/posnode/posnode/node/blocksync"
)

// Five nodes with unequal stakes build one identical chain over more than 60 slots, and every BPM record
// submitted on the way is on it exactly once.
func TestFiveNodesBuildOneChain(t *testing.T) {
	c := newCluster(t, []uint64{10, 20, 30, 40, 50}, 250*time.Millisecond, 1500*time.Millisecond)
	c.startAll()
	all := []int{0, 1, 2, 3, 4}
	var submitted []chain.Hash
	waitFor(t, 60*time.Second, "slot 65", func() bool {
		if st := c.status(0); st.Slot%5 == 0 && len(submitted) < 40 {
			submitted = append(submitted, c.submitBPM(len(submitted)%5, 60+uint64(len(submitted))))
		}
		return c.status(0).Slot >= 65
	})
	h := c.minHeight(all...) - 2
	c.agreeAt(h, 20*time.Second, all...)
	want := c.canonical(0, h)
	for i := 1; i < 5; i++ {
		got := c.canonical(i, h)
		for k := range want {
			if got[k] != want[k] {
				t.Fatalf("node %d height %d: got %s, want %s", i, k+1, got[k], want[k])
			}
		}
	}
	if h < 40 {
		t.Errorf("only %d blocks in 65 slots: got height %d, want ≥ 40", h, h)
	}
	proposers := map[chain.Address]bool{}
	bs, _ := c.nodes[0].Blocks(context.Background(), 1, min(h, blocksync.MaxRangeBlocks))
	for _, b := range bs {
		proposers[b.Proposer] = true
	}
	if len(proposers) < 3 {
		t.Errorf("got %d distinct proposers over %d blocks, want ≥ 3", len(proposers), h)
	}
	top := c.status(0).Height
	c.agreeAt(top, 20*time.Second, all...)
	waitForCommitted(t, c, submitted, all)
	t.Logf("height %d after slot %d, %d proposers, %d bpm records committed once", h, c.status(0).Slot, len(proposers), len(submitted))
}

// waitForCommitted waits until every transaction is on every node's canonical chain, then checks each is there
// exactly once.
func waitForCommitted(t *testing.T, c *cluster, ids []chain.Hash, nodes []int) {
	t.Helper()
	waitFor(t, 30*time.Second, "every record committed", func() bool {
		for _, i := range nodes {
			for _, id := range ids {
				if st, err := c.nodes[i].Tx(context.Background(), id); err != nil || (st.Status != "committed" && st.Status != "finalized") {
					return false
				}
			}
		}
		return true
	})
	for _, i := range nodes {
		counts := c.txCounts(i, c.status(i).Height)
		for _, id := range ids {
			if counts[id] != 1 {
				t.Errorf("node %d: tx %s on the chain %d times, want 1", i, id.Short(), counts[id])
			}
		}
	}
}

// A node killed and restarted catches up with the others and proposes again.
func TestRestartedNodeCatchesUpAndProposes(t *testing.T) {
	c := newCluster(t, []uint64{10, 20, 30, 60}, 250*time.Millisecond, 1500*time.Millisecond)
	c.startAll()
	waitFor(t, 30*time.Second, "height 8", func() bool { return c.minHeight(0, 1, 2, 3) >= 8 })
	c.stop(3)
	stoppedAt := c.status(0).Height
	waitFor(t, 60*time.Second, "the others to move on", func() bool { return c.minHeight(0, 1, 2) >= stoppedAt+10 })
	target := c.status(0).Height
	c.start(3, 0)
	c.agreeAt(target, 30*time.Second, 0, 1, 2, 3)
	self := c.nodes[3].Address()
	waitFor(t, 60*time.Second, "the restarted node to propose a canonical block", func() bool {
		h := c.status(0).Height
		if h <= target {
			return false
		}
		bs, err := c.nodes[0].Blocks(context.Background(), target+1, h)
		for _, b := range bs {
			if b.Proposer == self {
				return err == nil
			}
		}
		return false
	})
	c.agreeAt(c.minHeight(0, 1, 2, 3), 30*time.Second, 0, 1, 2, 3)
}

// A 3/2 partition produces two branches; when it heals, one chain remains and every BPM record submitted on either
// side is on it exactly once.
func TestPartitionHealsIntoOneChain(t *testing.T) {
	c := newCluster(t, []uint64{20, 20, 20, 20, 20}, 250*time.Millisecond, 1500*time.Millisecond)
	c.startAll()
	all, a, b := []int{0, 1, 2, 3, 4}, []int{0, 1, 2}, []int{3, 4}
	waitFor(t, 30*time.Second, "height 5", func() bool { return c.minHeight(all...) >= 5 })
	c.partition(a, b, true)
	split := c.status(0).Height
	var ids []chain.Hash
	for v := range uint64(5) {
		ids = append(ids, c.submitBPM(0, 70+v), c.submitBPM(3, 80+v))
	}
	waitFor(t, 60*time.Second, "both sides to grow", func() bool {
		return c.minHeight(a...) >= split+6 && c.minHeight(b...) >= split+3
	})
	if ha, hb := c.status(0).Head, c.status(3).Head; ha == hb {
		t.Fatalf("got one head %s on both sides of the partition, want two branches", ha.Short())
	}
	c.partition(a, b, false)
	for v := range uint64(5) {
		ids = append(ids, c.submitBPM(1, 90+v), c.submitBPM(4, 100+v))
	}
	c.agreeAt(c.status(0).Height+3, 60*time.Second, all...)
	waitForCommitted(t, c, ids, all)
	c.agreeAt(c.minHeight(all...), 30*time.Second, all...)
}

// partition cuts (or heals) every connection between sides a and b.
func (c *cluster) partition(a, b []int, cut bool) {
	for _, i := range a {
		for _, j := range b {
			if cut {
				c.nodes[i].host.Block(c.nodes[j].host.ID())
				c.nodes[j].host.Block(c.nodes[i].host.ID())
			} else {
				c.nodes[i].host.Unblock(c.nodes[j].host.ID())
				c.nodes[j].host.Unblock(c.nodes[i].host.ID())
			}
		}
	}
	if !cut {
		for _, j := range b {
			c.nodes[j].Connect(context.Background(), c.nodes[a[0]].Addrs()[0])
		}
	}
}
