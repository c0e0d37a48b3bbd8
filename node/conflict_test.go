package node

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"fmt"
	"testing"
	"time"

	"go.uber.org/zap/zaptest"

	"github.com/posnode/posnode/chain"
)

// Conflicting finality is punished on both sides (PROTOCOL.md §8a, §8b). A validator of 34 % runs a node on
// each side of a partition of the honest 66 %, so each side holds 67 % and finalizes its own checkpoints: the key
// signs two votes for every epoch. After both sides finalized and ten epochs more, the partition heals. Each side
// refuses the other's chain (chain.ErrConflictsFinalized), yet every honest node reads the other side's blocks for
// evidence, and the double voter is slashed on the chain each node follows.
func TestConflictingFinalityIsPunished(t *testing.T) {
	const epochLen = 8
	c := newCluster(t, []uint64{34, 17, 16, 17, 16}, 300*time.Millisecond, 2500*time.Millisecond)
	sideA, sideB := []int{0, 1, 2}, []int{3, 4}
	c.startMesh(0, 1, 2)
	c.startMesh(3, 4)
	// The two sides never bootstrap to each other (and the twins share one network identity, so a deny-list
	// could not tell them apart): the partition holds until the honest nodes connect across it.
	twin := c.startExtra(c.keys[0], zaptest.NewLogger(t).Named("twin"), func(*Config) {}, 3, 4)
	nodesA := []*Node{c.nodes[0], c.nodes[1], c.nodes[2]}
	nodesB := []*Node{twin, c.nodes[3], c.nodes[4]}
	offender := chain.AddressOf(c.keys[0].Public().(ed25519.PublicKey))

	c.waitFinalized(1, 60*time.Second, sideA...)
	c.waitFinalized(1, 60*time.Second, sideB...)
	fa, fb := c.finalized(1), c.finalized(3)
	if c.isFinal(3, fa.Hash) || c.isFinal(1, fb.Hash) {
		t.Fatalf("the sides finalized %s and %s, one final on the other side: no conflict to test", fa, fb)
	}
	last := max(fa.Epoch, fb.Epoch) + 10
	waitFor(t, 90*time.Second, fmt.Sprintf("epoch %d, ten after both sides finalized", last), func() bool {
		return c.gen.EpochOf(chain.Slot(c.status(1).Slot)) >= last
	})
	fa, fb = c.finalized(1), c.finalized(3)
	t.Logf("partition: side A finalized %s, side B %s; healing in epoch %d", fa, fb, last)
	if c.isFinal(3, fa.Hash) || c.isFinal(1, fb.Hash) {
		t.Fatalf("conflicting finality expected: %s on A, %s on B", fa, fb)
	}

	healed := chain.Slot(c.status(1).Slot)
	for _, i := range []int{1, 2} {
		for _, j := range []int{3, 4} {
			if err := c.nodes[j].Connect(context.Background(), c.nodes[i].Addrs()[0]); err != nil {
				t.Fatalf("heal: connect node %d to node %d: %v", j, i, err)
			}
		}
	}
	all := append(append([]*Node{}, nodesA...), nodesB...)
	names := []string{"A0 (offender)", "A1", "A2", "B0 (offender)", "B1", "B2"}
	waitFor(t, 60*time.Second, "the double voter slashed on every node's chain", func() bool {
		for _, n := range all {
			if !slashedOn(t, n, offender) {
				return false
			}
		}
		return true
	})
	for k, n := range all {
		ev, ok := includedAgainst(t, n, offender)
		st, err := n.Status(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		blk, err := n.Block(context.Background(), ev.Height)
		if !ok || err != nil {
			t.Fatalf("node %s: evidence %v, block: %v", names[k], ok, err)
		}
		after := float64(chain.Slot(blk.Slot)-healed) / epochLen
		t.Logf("node %s: %s evidence of epoch %d in block %d, %.2f epochs after the heal; finalized %s",
			names[k], ev.Kind, ev.Epoch, ev.Height, after, st.Finalized)
		if blk.Slot < uint64(healed) {
			t.Errorf("node %s: slashed before the heal, at slot %d: each side alone cannot see the double vote", names[k], blk.Slot)
		}
	}
	for _, i := range sideA {
		if c.isFinal(i, fb.Hash) {
			t.Errorf("node %d (side A) holds side B's finalized checkpoint %s as final", i, fb)
		}
	}
}

// includedAgainst returns the included evidence against a on node n, if any.
func includedAgainst(t *testing.T, n *Node, a chain.Address) (EvidenceView, bool) {
	evs, err := n.Evidence(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, ev := range evs {
		if ev.Offender == a && ev.Status == "included" {
			return ev, true
		}
	}
	return EvidenceView{}, false
}

// slashedOn reports whether a is slashed on node n's head.
func slashedOn(t *testing.T, n *Node, a chain.Address) bool {
	acc, err := n.Account(context.Background(), a)
	if err != nil {
		t.Fatal(err)
	}
	_, ok := includedAgainst(t, n, a)
	return acc.Slashed && ok
}

// strangerKey returns the i-th key of no validator.
func strangerKey(i int) ed25519.PrivateKey {
	seed := sha256.Sum256(fmt.Appendf(nil, "stranger-%d", i))
	return ed25519.NewKeyFromSeed(seed[:])
}
