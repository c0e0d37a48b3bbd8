package node

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/posnode/posnode/chain"
)

// A node that joins late syncs a chain of more than 500 blocks from its peer.
func TestLateJoinerSyncs500Blocks(t *testing.T) {
	const built = 520
	slot := 100 * time.Millisecond
	c := newCluster(t, []uint64{10, 20, 30}, slot, -(built+30)*slot)
	if err := BuildChain(c.homes[0], c.gen, c.keys, built, 0); err != nil {
		t.Fatal(err)
	}
	c.start(0)
	c.start(2, 0)
	c.agreeAt(built, 60*time.Second, 0, 2)
	st := c.status(2)
	t.Logf("late joiner at height %d (head %s)", st.Height, st.Head.Short())
}

// Blocks with a bad signature, from a validator that did not win the slot, or signed by the winner with a broken
// randomness beacon (a mix its proof does not give, another key's VRF proof) are rejected by gossip validation
// and never become anyone's head.
func TestBadBlocksAreRejected(t *testing.T) {
	c := newCluster(t, []uint64{10, 20, 30}, 250*time.Millisecond, 1500*time.Millisecond)
	c.startAll()
	waitFor(t, 30*time.Second, "height 3", func() bool { return c.minHeight(0, 1, 2) >= 3 })
	attacker := newAttacker(t, c)
	var bad []chain.Hash
	for _, forge := range []func() *chain.Block{attacker.wrongProposer, attacker.badSignature, attacker.badMix, attacker.foreignVRF} {
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

// A node never signs a slot at or below the last slot it recorded as signed, even after a restart: the record is
// read back from the store. Here the sole validator, which wins every slot, finds slot 50 already recorded while
// the clock is at slot 40.
func TestNeverSignsARecordedSlotAgain(t *testing.T) {
	slot := 100 * time.Millisecond
	c := newCluster(t, []uint64{10}, slot, -40*slot)
	store, err := chain.OpenBolt(filepath.Join(c.homes[0], "chain.db"))
	if err != nil {
		t.Fatal(err)
	}
	if err := store.PutMeta(metaLastSigned, encodeSlot(50)); err != nil {
		t.Fatal(err)
	}
	store.Close()
	c.start(0)
	waitFor(t, 20*time.Second, "height 3", func() bool { return c.status(0).Height >= 3 })
	b, err := c.nodes[0].Block(context.Background(), 1)
	if err != nil {
		t.Fatal(err)
	}
	if b.Slot <= 50 {
		t.Errorf("first block at slot %d, want > 50 (slot 50 was recorded as signed)", b.Slot)
	}
}
