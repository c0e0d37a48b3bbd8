package node

import (
	"context"
	"crypto/ed25519"
	"testing"
	"time"

	"github.com/posnode/posnode/chain"
	"github.com/posnode/posnode/p2p"
)

// equivocator is a test-only peer over real libp2p that holds a validator's key and signs against the protocol:
// several blocks for one slot, two votes for one epoch, a branch that conflicts with finality. It builds on node
// 0's chain and publishes on the cluster's topics; it never runs a node.
type equivocator struct {
	t        *testing.T
	c        *cluster
	key      ed25519.PrivateKey
	addr     chain.Address
	blocks   *p2p.Topic
	votes    *p2p.Topic
	evidence *p2p.Topic
}

// newEquivocator joins the block, vote and evidence topics with key, bootstrapped to every running node.
func newEquivocator(t *testing.T, c *cluster, key ed25519.PrivateKey, running ...int) *equivocator {
	var boot []string
	for _, i := range running {
		boot = append(boot, c.nodes[i].Addrs()[0])
	}
	ctx, cancel := context.WithCancel(context.Background())
	h, err := p2p.New(ctx, p2p.Config{Key: key, Listen: []string{"/ip4/127.0.0.1/tcp/0"}, Bootstrap: boot,
		Namespace: c.gen.Hash().String()})
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); h.Close() })
	accept := func(context.Context, string, []byte) p2p.Verdict { return p2p.Accept }
	e := &equivocator{t: t, c: c, key: key, addr: chain.AddressOf(key.Public().(ed25519.PublicKey))}
	if e.blocks, err = h.Join("blocks", accept); err == nil {
		e.votes, err = h.Join(voteTopicName, accept)
	}
	if err == nil {
		e.evidence, err = h.Join(evidenceTopicName, accept)
	}
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, 20*time.Second, "the equivocator to join the topics", func() bool {
		return e.blocks.Peers() >= len(running) && e.votes.Peers() >= len(running) && e.evidence.Peers() >= len(running)
	})
	return e
}

// onLoop runs f on node 0's event loop.
func (e *equivocator) onLoop(f func(n *Node)) {
	n := e.c.nodes[0]
	if err := n.call(context.Background(), func() { f(n) }); err != nil {
		e.t.Fatal(err)
	}
}

// winSlot waits for a slot the key wins on node 0's head and returns its block for that slot, empty, with the
// head's state, on which version builds the others.
func (e *equivocator) winSlot(timeout time.Duration) (*chain.Block, *chain.State) {
	var base *chain.Block
	var parent *chain.State
	waitFor(e.t, timeout, "a slot won by the equivocator", func() bool {
		e.onLoop(func(n *Node) {
			s, head := n.currentSlot(), n.tree.Head()
			if leader, ok := n.tree.Leader(s); !ok || leader != e.addr || head.Slot >= s {
				return
			}
			var err error
			if base, _, err = n.tree.ProposeBody(head.Hash, s, e.key, chain.Body{}); err != nil {
				e.t.Fatal(err)
			}
			parent = n.tree.HeadState().Clone()
		})
		return base != nil
	})
	return base, parent
}

// version returns another block for base's slot, valid on the same parent (whose state is parent): base with a
// transfer of i tokens.
func (e *equivocator) version(base *chain.Block, parent *chain.State, i int) *chain.Block {
	b := &chain.Block{Header: base.Header}
	tx := chain.NewTx(chain.TxTransfer, e.addr, parent.Account(e.addr).Nonce, e.c.nodes[0].Address(), uint64(i), e.c.gen.TxFee)
	tx.Sign(e.c.gen.Hash(), e.key)
	b.Txs = []chain.Tx{tx}
	b.Header.TxRoot = chain.TxRoot(b.Txs)
	post := parent.Clone()
	if err := post.ApplyBlock(b); err != nil {
		e.t.Fatal(err)
	}
	b.Header.StateRoot = post.Root()
	b.Sign(e.c.gen.Hash(), e.key)
	return b
}

// doubleVote returns two votes of the key for the current epoch: the honest one on node 0's head (from its
// justified checkpoint, or its finalized one if the epoch is justified already), and one for another target.
func (e *equivocator) doubleVote() (chain.Vote, chain.Vote) {
	var a chain.Vote
	e.onLoop(func(n *Node) {
		epoch := n.cfg.Genesis.EpochOf(n.currentSlot())
		source, _ := n.tree.Finality()
		if source.Epoch >= epoch { // the epoch is justified already: link from the finalized checkpoint instead
			_, source = n.tree.Finality()
		}
		a = chain.Vote{Validator: e.addr, Source: source, Target: n.tree.Checkpoint(epoch)}
	})
	b := a
	b.Target.Hash = chain.HashBytes([]byte("a checkpoint elsewhere"))
	a.Sign(e.c.gen.Hash(), e.key)
	b.Sign(e.c.gen.Hash(), e.key)
	return a, b
}

func (e *equivocator) publish(t *p2p.Topic, data []byte) {
	if err := e.tryPublish(t, data); err != nil {
		e.t.Fatalf("equivocator publish: %v", err)
	}
}

// tryPublish publishes data, and fails once no node will take it any more: the nodes banned the equivocator.
func (e *equivocator) tryPublish(t *p2p.Topic, data []byte) error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return t.Publish(ctx, data)
}

// stored counts the blocks of proposer for slot in node i's store, and those of them no stored block builds on.
func (c *cluster) stored(i int, proposer chain.Address, slot chain.Slot) (versions, childless int) {
	parents := map[chain.Hash]bool{}
	var found []chain.Hash
	err := c.nodes[i].call(context.Background(), func() {
		if err := c.nodes[i].store.ForEach(func(b *chain.Block) error {
			parents[b.Header.Parent] = true
			if b.Header.Proposer == proposer && b.Header.Slot == slot {
				found = append(found, b.Hash())
			}
			return nil
		}); err != nil {
			c.t.Errorf("node %d store: %v", i, err)
		}
	})
	if err != nil {
		c.t.Fatal(err)
	}
	for _, h := range found {
		if !parents[h] {
			childless++
		}
	}
	return len(found), childless
}

// account reads an account on node i.
func (c *cluster) account(i int, a chain.Address) AccountView {
	v, err := c.nodes[i].Account(context.Background(), a)
	if err != nil {
		c.t.Fatalf("node %d account: %v", i, err)
	}
	return v
}

// tableHas reports whether a is in the stake table of epoch e on node i's head branch.
func (c *cluster) tableHas(i int, e chain.Epoch, a chain.Address) bool {
	var table []chain.Stake
	var err error
	if cerr := c.nodes[i].call(context.Background(), func() { table, err = c.nodes[i].tree.StakeTable(e) }); cerr != nil {
		c.t.Fatal(cerr)
	}
	if err != nil {
		c.t.Fatalf("node %d stake table of epoch %d: %v", i, e, err)
	}
	for _, s := range table {
		if s.Addr == a {
			return true
		}
	}
	return false
}

// evidenceAgainst returns the included evidence against a on node i, if any.
func (c *cluster) evidenceAgainst(i int, a chain.Address) (EvidenceView, bool) {
	evs, err := c.nodes[i].Evidence(context.Background())
	if err != nil {
		c.t.Fatalf("node %d evidence: %v", i, err)
	}
	for _, ev := range evs {
		if ev.Offender == a && ev.Status == "included" {
			return ev, true
		}
	}
	return EvidenceView{}, false
}
