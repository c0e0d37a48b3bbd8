package node

import (
	"crypto/ed25519"
	"testing"
	"time"

	"github.com/posnode/posnode/chain"
	"github.com/posnode/posnode/consensus"
)

// When the head switches to a longer branch, the transactions of the abandoned blocks go back to the mempool,
// unless the new branch holds them already (PROTOCOL.md §8).
func TestReorgReturnsTransactionsToThePool(t *testing.T) {
	c := newCluster(t, []uint64{10, 20}, time.Second, -time.Hour)
	n, err := New(Config{Home: c.homes[0], Genesis: c.gen})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.pendingLog.Close(); n.store.Close() })
	branchA, err := chain.OpenTree(chain.TreeConfig{Genesis: c.gen, Store: chain.NewMemStore(), Elect: consensus.Leader, Better: consensus.Better, Finality: consensus.FFGRules()})
	if err != nil {
		t.Fatal(err)
	}
	kept, dropped := bpmTx(c.keys[0], 0, c.gen.Hash()), bpmTx(c.keys[1], 0, c.gen.Hash())

	// The node's branch: one block at slot 1 with both records.
	a1 := c.propose(branchA, 1, kept, dropped)
	if err := n.importBlock(a1); err != nil {
		t.Fatal(err)
	}
	// A longer branch that holds only one of them: blocks at slots 2 and 3 on genesis.
	branchB, err := chain.OpenTree(chain.TreeConfig{Genesis: c.gen, Store: chain.NewMemStore(), Elect: consensus.Leader, Better: consensus.Better, Finality: consensus.FFGRules()})
	if err != nil {
		t.Fatal(err)
	}
	b2, b3 := c.propose(branchB, 2, kept), c.propose(branchB, 3)
	for _, b := range []*chain.Block{b2, b3} {
		if err := n.importBlock(b); err != nil {
			t.Fatal(err)
		}
	}
	if head := n.tree.Head(); head.Hash != b3.Hash() {
		t.Fatalf("head: got %s, want the longer branch's %s", head.Hash.Short(), b3.Hash().Short())
	}
	if !n.pool.Has(dropped.ID()) {
		t.Error("the record only the abandoned block held is not back in the mempool")
	}
	if n.pool.Has(kept.ID()) {
		t.Error("the record the new branch holds is in the mempool again")
	}
}

// propose has the lottery's winner of slot s on tree's head propose a block with txs and inserts it into tree.
func (c *cluster) propose(tree *chain.Tree, s chain.Slot, txs ...chain.Tx) *chain.Block {
	c.t.Helper()
	leader, _ := tree.Leader(s)
	var key ed25519.PrivateKey
	for _, k := range c.keys {
		if chain.AddressOf(k.Public().(ed25519.PublicKey)) == leader {
			key = k
		}
	}
	if key == nil {
		c.t.Fatalf("no key for the leader %s of slot %d", leader, s)
	}
	b, bad, err := tree.Propose(s, key, txs)
	if err != nil || len(bad) > 0 {
		c.t.Fatalf("propose slot %d: %v %v", s, err, bad)
	}
	if _, err := tree.Insert(b, s); err != nil {
		c.t.Fatal(err)
	}
	return b
}
