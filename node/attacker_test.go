package node

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"

	"github.com/posnode/posnode/chain"
	"github.com/posnode/posnode/p2p"
)

// attacker is a peer without stake that gossips forged blocks on the cluster's block topic.
type attacker struct {
	t     *testing.T
	c     *cluster
	key   ed25519.PrivateKey
	topic *p2p.Topic
}

func newAttacker(t *testing.T, c *cluster) *attacker {
	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	// No peer exchange: the attacker talks to node 0 alone, as each test sets it up.
	h, err := p2p.New(ctx, p2p.Config{Key: key, Listen: []string{"/ip4/127.0.0.1/tcp/0"},
		Bootstrap: []string{c.nodes[0].Addrs()[0]}, Namespace: c.gen.Hash().String(), NoPeerExchange: true})
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); h.Close() })
	topic, err := h.Join("blocks", func(context.Context, string, []byte) p2p.Verdict { return p2p.Accept })
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, 20*time.Second, "the attacker to join the block topic", func() bool { return topic.Peers() > 0 })
	return &attacker{t: t, c: c, key: key, topic: topic}
}

// next returns a header on top of node 0's head for the next free slot.
func (a *attacker) next() chain.Header {
	st := a.c.status(0)
	return chain.Header{Height: chain.Height(st.Height + 1), Slot: chain.Slot(max(st.Slot, st.HeadSlot+1)),
		Parent: st.Head, TxRoot: chain.TxRoot(nil), VoteRoot: chain.VoteRoot(nil), EvRoot: chain.EvidenceRoot(nil)}
}

// wrongProposer is well formed and correctly signed, by a key that did not win the slot.
func (a *attacker) wrongProposer() *chain.Block {
	b := &chain.Block{Header: a.next()}
	b.Header.Proposer = chain.AddressOf(a.key.Public().(ed25519.PublicKey))
	b.Sign(a.c.gen.Hash(), a.key)
	return b
}

// badSignature names the slot's real winner as proposer but carries a signature it never made.
func (a *attacker) badSignature() *chain.Block {
	b := &chain.Block{Header: a.next()}
	a.c.nodes[0].call(context.Background(), func() { b.Header.Proposer, _ = a.c.nodes[0].tree.Leader(b.Header.Slot) })
	rand.Read(b.Sig[:])
	return b
}

// beaconForge builds a block for the next free slot with the key of that slot's real winner (a stolen or
// misused validator key), a correct VRF proof and mix, then lets mutate break the beacon before it signs.
func (a *attacker) beaconForge(mutate func(h *chain.Header)) *chain.Block {
	h := a.next()
	var parent chain.Tip
	n := a.c.nodes[0]
	n.call(context.Background(), func() { parent = n.tree.Head(); h.Proposer, _ = n.tree.Leader(h.Slot) })
	key := a.key
	for _, k := range a.c.keys {
		if chain.AddressOf(k.Public().(ed25519.PublicKey)) == h.Proposer {
			key = k
		}
	}
	chainID := a.c.gen.Hash()
	h.VRFProof = chain.ProveVRF(key, chainID, h.Slot)
	out, err := h.VRFProof.Output()
	if err != nil {
		a.t.Fatal(err)
	}
	h.Mix = chain.NextMix(parent.Mix, out)
	mutate(&h)
	b := &chain.Block{Header: h}
	b.Sign(chainID, key)
	return b
}

// badMix is signed by the slot's winner but its mix is not the one its VRF proof gives (ErrBadMix).
func (a *attacker) badMix() *chain.Block {
	return a.beaconForge(func(h *chain.Header) { h.Mix[0] ^= 1 })
}

// foreignVRF is signed by the slot's winner but carries a VRF proof made by another key (ErrBadVRFProof).
func (a *attacker) foreignVRF() *chain.Block {
	return a.beaconForge(func(h *chain.Header) { h.VRFProof = chain.ProveVRF(a.key, a.c.gen.Hash(), h.Slot) })
}

func (a *attacker) publish(b *chain.Block) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := a.topic.Publish(ctx, b.Encode()); err != nil {
		a.t.Fatalf("attacker publish: %v", err)
	}
}

// rejected reads the node's count of rejected gossiped blocks.
func rejected(n *Node) float64 { return gossipCount(n, "blocks", "reject") }

// gossipCount reads the node's count of gossip verdicts v on topic.
func gossipCount(n *Node, topic, v string) float64 {
	var m dto.Metric
	if err := n.metrics.gossip.WithLabelValues(topic, v).Write(&m); err != nil {
		return 0
	}
	return m.GetCounter().GetValue()
}
