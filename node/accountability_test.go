package node

import (
	"context"
	"crypto/ed25519"
	"testing"
	"time"

	"github.com/posnode/posnode/chain"
	"github.com/posnode/posnode/consensus"
)

// One validator's key signs 2,000 blocks for one slot, another's two votes for one epoch (PROTOCOL.md §8b). Every
// node stores at most two of the blocks; the evidence of both offences is on every node's chain within the
// evidence window; each offender loses SlashPercent of its stake on every node and leaves the stake table.
func TestEquivocatorsAreSlashed(t *testing.T) {
	c := newCluster(t, []uint64{10, 20, 30, 40, 10, 10}, 300*time.Millisecond, 2*time.Second)
	const epochLen = 8
	honest := []int{0, 1, 2, 3}
	c.startMesh(3, 2, 1, 0) // keys 4 and 5 run no node: the equivocators hold them
	c.waitFinalized(1, 60*time.Second, honest...)
	blocks := newEquivocator(t, c, c.keys[4], honest...)
	votes := newEquivocator(t, c, c.keys[5], honest...)

	va, vb := votes.doubleVote()
	votes.publish(votes.votes, va.Encode())
	votes.publish(votes.votes, vb.Encode())
	base, parent := blocks.winSlot(60 * time.Second)
	slot := base.Header.Slot
	blocks.publish(blocks.blocks, base.Encode())
	for i := 1; i < 2000; i++ {
		blocks.publish(blocks.blocks, blocks.version(base, parent, i).Encode())
	}

	stake := chain.Amount(10)
	want := AccountView{Stake: 0, Unbonding: uint64(stake - stake*chain.SlashPercent/100), Slashed: true}
	for _, e := range []*equivocator{blocks, votes} {
		waitFor(t, 60*time.Second, "the evidence against "+e.addr.Short()+" on every chain", func() bool {
			for _, i := range honest {
				if _, ok := c.evidenceAgainst(i, e.addr); !ok {
					return false
				}
			}
			return true
		})
		for _, i := range honest {
			ev, _ := c.evidenceAgainst(i, e.addr)
			blk, err := c.nodes[i].Block(context.Background(), ev.Height)
			if err != nil {
				t.Fatal(err)
			}
			if in := chain.Epoch(blk.Slot / epochLen); in > chain.Epoch(ev.Epoch)+chain.EvidenceWindow {
				t.Errorf("node %d: %s evidence of epoch %d included in epoch %d", i, ev.Kind, ev.Epoch, in)
			}
			if ev.Burned != uint64(stake*chain.SlashPercent/100) {
				t.Errorf("node %d: %s burned %d, want %d", i, ev.Kind, ev.Burned, stake*chain.SlashPercent/100)
			}
			got := c.account(i, e.addr)
			if got.Stake != want.Stake || got.Unbonding != want.Unbonding || !got.Slashed {
				t.Errorf("node %d: offender %s: stake %d unbonding %d slashed %v; want 0, %d, true", i,
					e.addr.Short(), got.Stake, got.Unbonding, got.Slashed, want.Unbonding)
			}
			t.Logf("node %d: %s evidence of epoch %d in block %d (slot %d)", i, ev.Kind, ev.Epoch, ev.Height, blk.Slot)
		}
	}
	// Of the 2,000 versions a node stores the first two gossip brought, and any other that an honest proposer built
	// on, which sync brings with its child (PROTOCOL.md §8).
	c.agreeAt(c.minHeight(honest...), 60*time.Second, honest...)
	for _, i := range honest {
		n, childless := c.stored(i, blocks.addr, slot)
		if n == 0 || childless > chain.MaxVersionsPerSlot || n > chain.MaxVersionsPerSlot*len(honest) {
			t.Errorf("node %d stored %d of the 2000 blocks for slot %d, %d with no child; want at most %d with no child",
				i, n, slot, childless, chain.MaxVersionsPerSlot)
		}
		t.Logf("node %d stored %d of the 2000 blocks for slot %d", i, n, slot)
	}
	for _, e := range []*equivocator{blocks, votes} {
		for _, i := range honest {
			ev, _ := c.evidenceAgainst(i, e.addr)
			blk, _ := c.nodes[i].Block(context.Background(), ev.Height)
			in := chain.Epoch(blk.Slot / epochLen)
			waitFor(t, 60*time.Second, "two epochs after the slashing", func() bool {
				return chain.Epoch(c.status(i).HeadSlot/epochLen) >= in+2
			})
			if !c.tableHas(i, in+1, e.addr) || c.tableHas(i, in+2, e.addr) {
				t.Errorf("node %d: %s slashed in epoch %d: in the table of epoch %d %v, of epoch %d %v; want true, false",
					i, e.addr.Short(), in, in+1, c.tableHas(i, in+1, e.addr), in+2, c.tableHas(i, in+2, e.addr))
			}
		}
	}
	before := c.finalized(0).Epoch
	c.waitFinalized(before+2, 60*time.Second, honest...)
	c.sameFinalized(honest...)
}

// keyOf returns the cluster's key of address a.
func (c *cluster) keyOf(a chain.Address) ed25519.PrivateKey {
	for _, k := range c.keys {
		if chain.AddressOf(k.Public().(ed25519.PublicKey)) == a {
			return k
		}
	}
	c.t.Fatalf("no key for %s", a)
	return nil
}

// The private-branch attack against finality: an attacker holding every validator's key builds a branch from
// genesis in private, filling every slot and justifying every epoch with all the stake's votes, so that fork choice
// alone would prefer it; released once the honest chain has finalized checkpoints, it is refused by every node
// (ErrConflictsFinalized, the sender's block rejected) and reverts nothing (PROTOCOL.md §8).
func TestPrivateBranchCannotRevertFinality(t *testing.T) {
	c := newCluster(t, []uint64{10, 20, 30, 40, 20}, 300*time.Millisecond, 2*time.Second)
	honest := []int{0, 1, 2, 3}
	c.startMesh(3, 2, 1, 0) // key 4 runs no node: its slots stay empty on the honest chain
	c.waitFinalized(3, 60*time.Second, honest...)
	attacker := newEquivocator(t, c, c.keys[4], honest...)
	private, privTip := c.privateBranch(chain.Slot(c.status(0).Slot))

	st := c.status(0)
	finalized := make([]chain.Checkpoint, len(c.nodes))
	rejectedBefore := make([]float64, len(c.nodes))
	for _, i := range honest {
		finalized[i], rejectedBefore[i] = c.finalized(i), rejected(c.nodes[i])
	}
	honestTip := chain.Tip{Hash: st.Head, Height: chain.Height(st.Height), Justified: st.Justified.Epoch}
	if !consensus.Better(privTip, honestTip) {
		t.Fatalf("the private branch (height %d, justified %d) is not better than the honest head (height %d, "+
			"justified %d): the attack would not be tested", privTip.Height, privTip.Justified, honestTip.Height, honestTip.Justified)
	}
	t.Logf("private branch: height %d justified epoch %d; honest head: height %d justified %d finalized %d",
		privTip.Height, privTip.Justified, honestTip.Height, honestTip.Justified, st.Finalized.Epoch)
	for _, b := range private {
		attacker.publish(attacker.blocks, b.Encode())
	}
	waitFor(t, 30*time.Second, "every node to reject the private branch", func() bool {
		for _, i := range honest {
			if rejected(c.nodes[i]) <= rejectedBefore[i] {
				return false
			}
		}
		return true
	})
	c.waitFinalized(c.finalized(0).Epoch+1, 60*time.Second, honest...)
	for _, i := range honest {
		if !c.isFinal(i, finalized[i].Hash) {
			t.Errorf("node %d: checkpoint %s was finalized and is not final any more", i, finalized[i])
		}
		if c.onBranch(i, private) {
			t.Errorf("node %d holds a block of the private branch", i)
		}
	}
	c.sameFinalized(honest...)
}

// privateBranch builds a branch from genesis up to slot upto with every key of the cluster: each slot's winner
// proposes, each block carries every validator's vote for its epoch, and the first block a record of key 4, so
// that the branch shares no block with the honest chain. It returns the blocks and the branch's tip.
func (c *cluster) privateBranch(upto chain.Slot) ([]*chain.Block, chain.Tip) {
	c.t.Helper()
	tree, err := chain.OpenTree(chain.TreeConfig{Genesis: c.gen, Store: chain.NewMemStore(), Elect: consensus.Leader,
		Better: consensus.Better, Finality: consensus.FFGRules()})
	if err != nil {
		c.t.Fatal(err)
	}
	chainID := c.gen.Hash()
	mark := chain.NewTx(chain.TxBPM, chain.AddressOf(c.keys[4].Public().(ed25519.PublicKey)), 0, chain.Address{}, 77, c.gen.TxFee)
	mark.Sign(chainID, c.keys[4])
	var out []*chain.Block
	for s := chain.Slot(1); s <= upto; s++ {
		leader, ok := tree.Leader(s)
		if !ok {
			c.t.Fatal("no leader")
		}
		body := chain.Body{}
		if s == 1 {
			body.Txs = []chain.Tx{mark}
		}
		if e := c.gen.EpochOf(s); e > 0 {
			source, _ := tree.Finality()
			for _, k := range c.keys {
				v := chain.Vote{Validator: chain.AddressOf(k.Public().(ed25519.PublicKey)), Source: source, Target: tree.Checkpoint(e)}
				v.Sign(chainID, k)
				body.Votes = append(body.Votes, v)
			}
		}
		b, _, err := tree.ProposeBody(tree.Head().Hash, s, c.keyOf(leader), body)
		if err == nil {
			_, err = tree.Insert(b, s)
		}
		if err != nil {
			c.t.Fatalf("private slot %d: %v", s, err)
		}
		out = append(out, b)
	}
	return out, tree.Head()
}

// onBranch reports whether node i holds any of the blocks.
func (c *cluster) onBranch(i int, bs []*chain.Block) bool {
	held := false
	c.nodes[i].call(context.Background(), func() {
		for _, b := range bs {
			held = held || c.nodes[i].tree.Has(b.Hash())
		}
	})
	return held
}
