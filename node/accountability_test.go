package node

import (
	"context"
	"crypto/ed25519"
	"testing"
	"time"

	"github.com/posnode/posnode/chain"
	"github.com/posnode/posnode/consensus"
)

// One validator's key signs up to 2,000 blocks for one slot (until the nodes ban it: once the slot is below the
// finalized checkpoint its versions are rejected), another's two votes for one epoch (PROTOCOL.md §8b). Every
// node stores at most two of the blocks that no proposer built on; the evidence of both offences is on every node's chain; each offender loses SlashPercent of its stake on every node and leaves the stake table.
func TestEquivocatorsAreSlashed(t *testing.T) {
	stakes := []uint64{10, 20, 30, 40, 20, 10} // the honest four hold 100 of 130: more than two thirds
	c := newCluster(t, stakes, 300*time.Millisecond, 2*time.Second)
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
	blocks.publish(blocks.blocks, blocks.version(base, parent, 1).Encode())
	sent := 2
	for ; sent < 2000; sent++ {
		// Versions that arrive once the slot is below the finalized checkpoint conflict with it: rejected, they get
		// the equivocator banned (PROTOCOL.md §10), and then nothing it publishes reaches a node.
		if err := blocks.tryPublish(blocks.blocks, blocks.version(base, parent, sent).Encode()); err != nil {
			break
		}
	}
	t.Logf("the equivocator published %d blocks for slot %d", sent, slot)

	for k, e := range []*equivocator{blocks, votes} {
		stake := chain.Amount(stakes[4+k])
		burned := stake * chain.SlashPercent / 100
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
			if ev.Burned != uint64(burned) {
				t.Errorf("node %d: %s burned %d, want %d", i, ev.Kind, ev.Burned, burned)
			}
			c.checkSlashed(i, e.addr, stake-burned, chain.Epoch(blk.Slot/epochLen)+chain.UnbondingEpochs)
			t.Logf("node %d: %s evidence of epoch %d in block %d (slot %d)", i, ev.Kind, ev.Epoch, ev.Height, blk.Slot)
		}
	}
	// Of the versions a node stores the first two gossip brought, and any other that an honest proposer built on,
	// which sync brings with its child (PROTOCOL.md §8).
	c.agreeAt(c.minHeight(honest...), 60*time.Second, honest...)
	for _, i := range honest {
		n, childless := c.stored(i, blocks.addr, slot)
		if n == 0 || childless > chain.MaxVersionsPerSlot || n > chain.MaxVersionsPerSlot*len(honest) {
			t.Errorf("node %d stored %d of the %d blocks for slot %d, %d with no child; want at most %d with no child",
				i, n, sent, slot, childless, chain.MaxVersionsPerSlot)
		}
		t.Logf("node %d stored %d of the %d blocks for slot %d", i, n, sent, slot)
	}
	for _, e := range []*equivocator{blocks, votes} {
		for _, i := range honest {
			ev, _ := c.evidenceAgainst(i, e.addr)
			blk, _ := c.nodes[i].Block(context.Background(), ev.Height)
			in := chain.Epoch(blk.Slot / epochLen)
			last, gone := in+chain.StakeLag-1, in+chain.StakeLag // the lottery's tables lag the slashing (PROTOCOL.md §6)
			waitFor(t, 60*time.Second, "the stake-table lag after the slashing", func() bool {
				return chain.Epoch(c.status(i).HeadSlot/epochLen) >= gone
			})
			if !c.tableHas(i, last, e.addr) || c.tableHas(i, gone, e.addr) {
				t.Errorf("node %d: %s slashed in epoch %d: in the table of epoch %d %v, of epoch %d %v; want true, false",
					i, e.addr.Short(), in, last, c.tableHas(i, last, e.addr), gone, c.tableHas(i, gone, e.addr))
			}
		}
	}
	before := c.finalized(0).Epoch
	c.waitFinalized(before+2, 60*time.Second, honest...)
	c.sameFinalized(honest...)
}

// checkSlashed fails unless a on node i holds no stake, is marked slashed, and has rest tokens unbonding until
// epoch release, or already released if the head is in that epoch (PROTOCOL.md §8b).
func (c *cluster) checkSlashed(i int, a chain.Address, rest chain.Amount, release chain.Epoch) {
	c.t.Helper()
	got := c.account(i, a)
	headEpoch := c.gen.EpochOf(chain.Slot(c.status(i).HeadSlot))
	unbonding := got.Unbonding == uint64(rest) && got.UnbondEpoch == uint64(release)
	released := got.Unbonding == 0 && headEpoch >= release
	if got.Stake != 0 || !got.Slashed || !(unbonding || released) {
		c.t.Errorf("node %d: offender %s: stake %d, unbonding %d until epoch %d, slashed %v; want 0, %d until %d, true",
			i, a.Short(), got.Stake, got.Unbonding, got.UnbondEpoch, got.Slashed, rest, release)
	}
}

// The long-range attack against finality (PROTOCOL.md §8, §9): two validators holding 80 % of the genesis stake
// unstake at once and leave; the four that stay finalize checkpoints. Later the two old keys build a branch from
// genesis on which they never left: it fills their slots, justifies every epoch with their votes and runs ahead of
// the clock, so fork choice alone would prefer it. Released, it is refused by every node (ErrConflictsFinalized:
// read for evidence and dropped, PROTOCOL.md §8b) and reverts nothing.
func TestPrivateBranchCannotRevertFinality(t *testing.T) {
	const epochLen = 8
	c := newCluster(t, []uint64{10, 20, 30, 40, 200, 200}, 300*time.Millisecond, 2*time.Second)
	honest, retired := []int{0, 1, 2, 3}, []int{4, 5}
	c.startMesh(3, 2, 1, 0) // keys 4 and 5 run no node
	for _, r := range retired {
		addr := chain.AddressOf(c.keys[r].Public().(ed25519.PublicKey))
		tx := chain.NewTx(chain.TxUnstake, addr, 0, chain.Address{}, 200, c.gen.TxFee)
		tx.Sign(c.gen.Hash(), c.keys[r])
		if _, err := c.nodes[0].Submit(context.Background(), tx); err != nil {
			t.Fatal(err)
		}
	}
	c.waitFinalized(3, 90*time.Second, honest...)
	attacker := newEquivocator(t, c, c.keys[4], honest...)
	st := c.status(0)
	private, privTip := c.privateBranch(chain.Slot(st.Slot+3*epochLen), retired...)
	honestTip := chain.Tip{Hash: st.Head, Height: chain.Height(st.Height), Justified: st.Justified.Epoch}
	if !consensus.Better(privTip, honestTip) {
		t.Fatalf("the private branch (height %d, justified %d) is not better than the honest head (height %d, "+
			"justified %d): the attack would not be tested", privTip.Height, privTip.Justified, honestTip.Height, honestTip.Justified)
	}
	t.Logf("private branch: %d blocks, height %d, justified epoch %d; honest head: height %d, justified %d, finalized %d",
		len(private), privTip.Height, privTip.Justified, honestTip.Height, honestTip.Justified, st.Finalized.Epoch)
	finalized := make([]chain.Checkpoint, len(c.nodes))
	rejectedBefore := make([]float64, len(c.nodes))
	for _, i := range honest {
		finalized[i], rejectedBefore[i] = c.finalized(i), judged(c.nodes[i])
	}
	for _, b := range private {
		attacker.publish(attacker.blocks, b.Encode())
	}
	waitFor(t, 30*time.Second, "every node to refuse the private branch", func() bool {
		for _, i := range honest {
			if judged(c.nodes[i]) <= rejectedBefore[i] {
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

// privateBranch builds a branch from genesis up to slot upto, ahead of the clock if need be, with the keys of the
// given validators only: each slot one of them wins gets a block, and each block carries their votes for its
// epoch. It returns the blocks and the branch's tip.
func (c *cluster) privateBranch(upto chain.Slot, signers ...int) ([]*chain.Block, chain.Tip) {
	c.t.Helper()
	tree, err := chain.OpenTree(chain.TreeConfig{Genesis: c.gen, Store: chain.NewMemStore(), Elect: consensus.Leader,
		Better: consensus.Better, Finality: consensus.FFGRules()})
	if err != nil {
		c.t.Fatal(err)
	}
	keys := map[chain.Address]ed25519.PrivateKey{}
	for _, i := range signers {
		keys[chain.AddressOf(c.keys[i].Public().(ed25519.PublicKey))] = c.keys[i]
	}
	var out []*chain.Block
	for s := chain.Slot(1); s <= upto; s++ {
		leader, ok := tree.Leader(s)
		key, mine := keys[leader]
		if !ok || !mine {
			continue
		}
		b, _, err := tree.ProposeBody(tree.Head().Hash, s, key, chain.Body{Votes: c.privateVotes(tree, s, keys)})
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

// privateVotes returns the votes of keys for the epoch of slot s on tree's head branch.
func (c *cluster) privateVotes(tree *chain.Tree, s chain.Slot, keys map[chain.Address]ed25519.PrivateKey) []chain.Vote {
	e := c.gen.EpochOf(s)
	if e == 0 {
		return nil
	}
	source, _ := tree.Finality()
	var votes []chain.Vote
	for a, k := range keys {
		v := chain.Vote{Validator: a, Source: source, Target: tree.Checkpoint(e)}
		v.Sign(c.gen.Hash(), k)
		votes = append(votes, v)
	}
	return votes
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

// judged counts the gossiped blocks node n refused: rejected, or ignored (a block of an accountable proposer on a
// branch that conflicts with finality, PROTOCOL.md §8b, and a block known already).
func judged(n *Node) float64 { return rejected(n) + gossipCount(n, "blocks", "ignore") }
