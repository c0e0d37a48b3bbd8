package node

import (
	"context"
	"crypto/ed25519"
	"testing"
	"time"

	"github.com/posnode/posnode/chain"
)

// TestOldParentBlocksCostNoReplay reproduces issue class 3 over real libp2p: a peer gossips blocks on parents far
// below the head, whose states the node dropped. Those signed by a key without stake are rejected with no block
// replayed; those signed by a staked validator's key that did not win cost at most a checkpoint interval of
// replay each. The honest chain keeps growing.
func TestOldParentBlocksCostNoReplay(t *testing.T) {
	const built = 2000
	slot := 100 * time.Millisecond
	c := newCluster(t, []uint64{10, 20}, slot, -(built+20)*slot)
	for i := range 2 {
		if err := BuildChain(c.homes[i], c.gen, c.keys, built, 0); err != nil {
			t.Fatal(err)
		}
	}
	c.startAll()
	c.agreeAt(built+2, 60*time.Second, 0, 1)
	n := c.nodes[0]
	// The built chain has no votes, so node 0's first finalization after the start raises its floor from genesis
	// and rebuilds the state of every epoch's checkpoint below the window of kept states, within the unbonding
	// period (PROTOCOL.md §8b), once, each block replayed at most once (each checkpoint's state from the one before):
	// about 1,500 blocks here, some 6,500 when each checkpoint replayed from its nearest kept state. Those are not
	// the forged blocks' cost, and on a loaded machine the first finalization can come after the measurement began;
	// it is waited for first.
	waitFor(t, 60*time.Second, "node 0 to raise its floor to a finalized checkpoint", func() bool {
		floor, _, _ := floorOf(t, n)
		return floor > 0
	})
	floor, _, _ := floorOf(t, n)
	t.Logf("node 0 raised its floor to height %d; %d blocks replayed before the attack", floor, replayedOn(n))
	if r := replayedOn(n); r > uint64(floor) {
		t.Errorf("the floor's rise to height %d replayed %d blocks: some more than once", floor, r)
	}
	heightBefore := c.status(0).Height
	for _, tc := range []struct {
		name  string
		key   func(a *attacker) ed25519.PrivateKey
		count int
		most  uint64 // blocks replayed per forged block, at most
		// seen counts node 0's verdicts on the forged blocks: a stranger's are rejected; a staked key's, on
		// parents below the finalized checkpoint, are read for evidence and ignored (PROTOCOL.md §8b, §10).
		seen func(*Node) float64
	}{
		// At most 9 from one peer: from ten rejected messages on, gossip scoring graylists it (PROTOCOL.md §10)
		// and the rest would never be validated.
		{"key without stake", func(a *attacker) ed25519.PrivateKey { return a.key }, 9, 0, rejected},
		{"staked key, not the winner", func(*attacker) ed25519.PrivateKey { return c.keys[1] }, 5, 63, judged},
	} {
		a := newAttacker(t, c) // a fresh peer: gossip scoring mutes one that sent many invalid blocks
		blocks := a.oldParentBlocks(t, tc.key(a), tc.count)
		before, replayed := tc.seen(n), replayedOn(n)
		for _, b := range blocks {
			a.publish(b)
		}
		waitFor(t, 20*time.Second, "node 0 to judge every forged block", func() bool {
			return tc.seen(n)-before >= float64(len(blocks))
		})
		got := replayedOn(n) - replayed
		if got > tc.most*uint64(len(blocks)) {
			t.Errorf("%s: %d blocks on old parents cost %d replayed blocks, want at most %d each", tc.name, len(blocks), got, tc.most)
		}
		t.Logf("%s: %d forged blocks on parents at heights 100..%d (head %d), all refused, %d blocks replayed",
			tc.name, len(blocks), blocks[len(blocks)-1].Header.Height-1, c.status(0).Height, got)
	}
	waitFor(t, 20*time.Second, "the chain to grow past the attack", func() bool {
		return c.minHeight(0, 1) >= heightBefore+5
	})
}

// oldParentBlocks returns count blocks signed by key, each on a canonical parent of node 0 between 100 and 600
// heights below its head, at the current slot, with a made-up state root.
func (a *attacker) oldParentBlocks(t *testing.T, key ed25519.PrivateKey, count int) []*chain.Block {
	t.Helper()
	st := a.c.status(0)
	var out []*chain.Block
	for i := range count {
		h := 100 + uint64(i)*(st.Height-700)/uint64(count)
		bs, err := a.c.nodes[0].Blocks(context.Background(), h, h)
		if err != nil || len(bs) != 1 {
			t.Fatalf("block %d of node 0: %v", h, err)
		}
		b := &chain.Block{Header: chain.Header{Height: chain.Height(h + 1), Slot: chain.Slot(st.Slot), Parent: bs[0].Hash,
			Proposer: chain.AddressOf(key.Public().(ed25519.PublicKey)), TxRoot: chain.TxRoot(nil), VoteRoot: chain.VoteRoot(nil), EvRoot: chain.EvidenceRoot(nil),
			StateRoot: chain.HashBytes([]byte("made up"))}}
		b.Sign(a.c.gen.Hash(), key)
		out = append(out, b)
	}
	return out
}

// replayedOn returns how many blocks n's tree has replayed to rebuild dropped states.
func replayedOn(n *Node) uint64 {
	var r uint64
	n.call(context.Background(), func() { r = n.tree.Replayed() })
	return r
}
