package node

import (
	"testing"
	"time"
)

// A node bootstrapped to one node of a running 4-node network learns the other three from it by peer exchange
// (PROTOCOL.md §10) and connects to them: it does not stay with its one bootstrap peer.
func TestJoinerLearnsPeersBeyondItsBootstrap(t *testing.T) {
	c := newCluster(t, []uint64{10, 20, 30, 40, 0}, 500*time.Millisecond, time.Second)
	c.start(0)
	for i := 1; i < 4; i++ {
		c.start(i, 0)
	}
	joiner := c.start(4, 1)
	waitFor(t, 20*time.Second, "the joiner connected to more than its bootstrap node", func() bool { return len(joiner.Peers()) > 1 })
	waitFor(t, 20*time.Second, "the joiner connected to all four nodes", func() bool { return len(joiner.Peers()) == 4 })
	want := map[string]bool{}
	for _, n := range c.nodes[:4] {
		want[n.Address().String()] = true
	}
	for _, p := range joiner.Peers() {
		if !want[p.ID] {
			t.Errorf("the joiner is connected to %s, not a node of the network", p.ID)
		}
	}
}
