package node

import (
	"context"
	"crypto/ed25519"
	"path/filepath"
	"testing"
	"time"

	"github.com/posnode/posnode/chain"
	"github.com/posnode/posnode/consensus"
)

// A node that joins late syncs a chain of more than 500 blocks from its peer.
func TestLateJoinerSyncs500Blocks(t *testing.T) {
	const built = 520
	slot := 100 * time.Millisecond
	c := newCluster(t, []uint64{10, 20, 30}, slot, -(built+30)*slot)
	c.prebuild(0, built)
	c.start(0)
	c.start(2, 0)
	c.agreeAt(built, 60*time.Second, 0, 2)
	st := c.status(2)
	t.Logf("late joiner at height %d (head %s)", st.Height, st.Head.Short())
}

// prebuild writes a chain of n blocks, every slot filled by its lottery winner, into node i's store.
func (c *cluster) prebuild(i, n int) {
	c.t.Helper()
	store, err := chain.OpenBolt(filepath.Join(c.homes[i], "chain.db"))
	if err != nil {
		c.t.Fatal(err)
	}
	defer store.Close()
	tree, err := chain.OpenTree(chain.TreeConfig{Genesis: c.gen, Store: store, Elect: consensus.Leader, Better: consensus.Better})
	if err != nil {
		c.t.Fatal(err)
	}
	keys := map[chain.Address]int{}
	for k, key := range c.keys {
		keys[chain.AddressOf(key.Public().(ed25519.PublicKey))] = k
	}
	for s := chain.Slot(1); s <= chain.Slot(n); s++ {
		leader, ok := tree.Leader(s)
		if !ok {
			c.t.Fatalf("no leader at slot %d", s)
		}
		b, _, err := tree.Propose(s, c.keys[keys[leader]], nil)
		if err == nil {
			_, err = tree.Insert(b, s)
		}
		if err != nil {
			c.t.Fatalf("slot %d: %v", s, err)
		}
	}
}

// Blocks with a bad signature or from a validator that did not win the slot are rejected by gossip validation and
// never become anyone's head.
func TestBadBlocksAreRejected(t *testing.T) {
	c := newCluster(t, []uint64{10, 20, 30}, 250*time.Millisecond, 1500*time.Millisecond)
	c.startAll()
	waitFor(t, 30*time.Second, "height 3", func() bool { return c.minHeight(0, 1, 2) >= 3 })
	attacker := newAttacker(t, c)
	var bad []chain.Hash
	for _, forge := range []func() *chain.Block{attacker.wrongProposer, attacker.badSignature} {
		before := rejected(c.nodes[0])
		var sent *chain.Block
		waitFor(t, 20*time.Second, "node 0 to reject the forged block", func() bool {
			sent = forge()
			bad = append(bad, sent.Hash())
			attacker.publish(sent)
			deadline := time.Now().Add(time.Second)
			for time.Now().Before(deadline) {
				if rejected(c.nodes[0]) > before {
					return true
				}
				time.Sleep(20 * time.Millisecond)
			}
			return false
		})
	}
	h := c.status(0).Height
	c.agreeAt(h+2, 30*time.Second, 0, 1, 2)
	for i := range 3 {
		for _, hash := range bad {
			var has bool
			c.nodes[i].call(context.Background(), func() { has = c.nodes[i].tree.Has(hash) })
			if has {
				t.Errorf("node %d accepted forged block %s", i, hash.Short())
			}
		}
	}
}
