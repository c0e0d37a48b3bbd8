package sim

import (
	"fmt"

	"github.com/posnode/posnode/chain"
	"github.com/posnode/posnode/consensus"
)

// stakeGrind plays StakeGrind (withhold false) and StakeWithhold (withhold true) on the public chain: at each
// slot the adversary wins where a choice of its block's contents can reach a seed it knows, it tries k stake
// amounts of its own tokens and keeps the one whose stake table gives it the most later slots (PROTOCOL.md §6).
func (r *run) stakeGrind(withhold bool) error {
	lastGround := int64(-1) // the last epoch counted in GrindEpochs
	for s := chain.Slot(1); s <= chain.Slot(r.p.Slots); s++ {
		done, err := r.honestTurn(s)
		if err != nil {
			return err
		}
		if done {
			continue
		}
		if leader, ok := r.pub.Leader(s); !ok || leader != r.w.advID {
			continue
		}
		b, ground, err := r.w.chooseStake(r.pub, s, r.p.K, withhold)
		if err != nil {
			return err
		}
		if ep := int64(r.w.gen.EpochOf(s)); ground && ep != lastGround {
			r.res.GrindEpochs++
			lastGround = ep
		}
		if b == nil {
			r.res.Withheld++
			continue
		}
		if err := r.insert(b, s); err != nil {
			return err
		}
	}
	return nil
}

// stakeValue is what one option of a won slot is worth to a stake grinder: whether it holds the last slot of
// the target epoch (and so the tail it grinds at next), then the blocks it gives the adversary (its own block,
// if published, plus the target's slots it wins).
type stakeValue struct {
	last   bool
	blocks int
}

func (v stakeValue) beats(u stakeValue) bool {
	return v.last && !u.last || v.last == u.last && v.blocks > u.blocks
}

// stakeTarget is the later slots a block at a won slot can reach through a seed its proposer knows: under
// randao, epoch(slot)+2 when no honest block can follow in epoch(slot) (the seed of epoch e is the mix at the
// end of e-2, PROTOCOL.md §6); under parent-hash, the next slot (its seed is the block's hash).
type stakeTarget struct {
	epoch    chain.Epoch
	from, to chain.Slot   // the target slots [from, to)
	tail     []chain.Slot // randao: the adversary's later slots of the epoch, whose VRF outputs it adds to the mix
}

// chooseStake returns the block the adversary publishes at slot on tree's head (nil: withhold) and whether it
// ground: built k versions of the block, version v staking v of its tokens, applied each to the head's state with
// the real ledger, and valued each by the stake table of the target epoch its post-state gives (State.Validators)
// and the seed the version leads to. The version kept is then proposed by the tree and checked to be the one
// valued (its state root). Without a target it publishes an ordinary block.
func (w *world) chooseStake(tr *chain.Tree, slot chain.Slot, k int, withhold bool) (*chain.Block, bool, error) {
	base, _, err := tr.Propose(slot, w.adv, nil)
	if err != nil {
		return nil, false, fmt.Errorf("slot %d: adversary proposal: %w", slot, err)
	}
	tg, ok, err := w.stakeTarget(tr, slot)
	if err != nil || !ok {
		return base, false, err
	}
	head, st := tr.Head(), tr.HeadState()
	own, err := w.vrfOutput(slot)
	if err != nil {
		return nil, false, err
	}
	published, err := w.endMix(chain.NextMix(head.Mix, own), tg.tail) // randao: the same for every version
	if err != nil {
		return nil, false, err
	}
	bestV, best := 0, stakeValue{}
	var bestPost *chain.State
	for v := 1; v <= k; v++ {
		tx := w.stakeTx(st, v, w.gen.Rule() == chain.SeedParentHash)
		post := st.Clone()
		blk := &chain.Block{Header: base.Header, Txs: []chain.Tx{tx}}
		if err := post.ApplyBlock(blk); err != nil {
			return nil, false, fmt.Errorf("slot %d: stake version %d: %w", slot, v, err)
		}
		src := published
		if w.gen.Rule() == chain.SeedParentHash {
			blk.Header.TxRoot, blk.Header.StateRoot = chain.TxRoot(blk.Txs), post.Root()
			src = blk.Header.Hash()
		}
		val, err := w.valueTable(post.Validators(tg.epoch), src, tg)
		if err != nil {
			return nil, false, err
		}
		val.blocks++ // its own block
		if bestPost == nil || val.beats(best) {
			bestV, best, bestPost = v, val, post
		}
	}
	if withhold {
		src, err := w.endMix(head.Mix, tg.tail)
		if w.gen.Rule() == chain.SeedParentHash {
			src = head.Hash
		}
		if err != nil {
			return nil, false, err
		}
		val, err := w.valueTable(st.Validators(tg.epoch), src, tg)
		if err != nil {
			return nil, false, err
		}
		if val.beats(best) {
			return nil, k > 1, nil
		}
	}
	b, err := w.buildStake(tr, st, slot, bestV, bestPost.Root())
	return b, k > 1, err
}

// buildStake proposes the version staking v tokens through the tree and checks it is the version valued: the
// ledger gave it state root root.
func (w *world) buildStake(tr *chain.Tree, st *chain.State, slot chain.Slot, v int, root chain.Hash) (*chain.Block, error) {
	tx := w.stakeTx(st, v, true)
	b, bad, err := tr.Propose(slot, w.adv, []chain.Tx{tx})
	if err != nil || len(bad) > 0 {
		return nil, fmt.Errorf("slot %d: stake version %d: %v %w", slot, v, bad, err)
	}
	if b.Header.StateRoot != root {
		return nil, fmt.Errorf("slot %d: stake version %d has state root %s, valued %s", slot, v, b.Header.StateRoot.Short(), root.Short())
	}
	return b, nil
}

// stakeTx is the adversary's stake of v tokens on state st, signed when sign is set (the ledger does not read
// the signature; a block hash does).
func (w *world) stakeTx(st *chain.State, v int, sign bool) chain.Tx {
	tx := chain.NewTx(chain.TxStake, w.advID, st.Account(w.advID).Nonce, chain.Address{}, uint64(v), w.gen.TxFee)
	if sign {
		tx.Sign(w.gen.Hash(), w.adv)
	}
	return tx
}

// stakeTarget returns the target of a block at slot on tree's head, if it has one (see stakeTarget).
func (w *world) stakeTarget(tr *chain.Tree, slot chain.Slot) (stakeTarget, bool, error) {
	g := w.gen
	if g.Rule() == chain.SeedParentHash {
		return stakeTarget{epoch: g.EpochOf(slot + 1), from: slot + 1, to: slot + 2}, true, nil
	}
	ep := g.EpochOf(slot)
	table, err := consensus.NewTable(tr.HeadState().Validators(ep))
	if err != nil {
		return stakeTarget{}, false, fmt.Errorf("slot %d: stake table: %w", slot, err)
	}
	src, err := tr.SeedSource(tr.Head().Hash, slot)
	if err != nil {
		return stakeTarget{}, false, fmt.Errorf("slot %d: seed source: %w", slot, err)
	}
	tg := stakeTarget{epoch: ep + 2, from: chain.Slot(uint64(ep+2) * g.EpochLength), to: chain.Slot(uint64(ep+3) * g.EpochLength)}
	for t := slot + 1; t < chain.Slot(uint64(ep+1)*g.EpochLength); t++ {
		if a, ok := table.Pick(consensus.Seed(src, t)); !ok || a != w.advID {
			return stakeTarget{}, false, nil // an honest block can still follow in this epoch
		}
		tg.tail = append(tg.tail, t)
	}
	return tg, true, nil
}

// endMix returns the mix after the adversary's blocks at the tail slots, on a chain whose mix is src before them.
func (w *world) endMix(src chain.Hash, tail []chain.Slot) (chain.Hash, error) {
	for _, t := range tail {
		out, err := w.vrfOutput(t)
		if err != nil {
			return chain.Hash{}, err
		}
		src = chain.NextMix(src, out)
	}
	return src, nil
}

// valueTable counts the target slots the adversary wins with stake table stakes and seed source src.
func (w *world) valueTable(stakes []chain.Stake, src chain.Hash, tg stakeTarget) (stakeValue, error) {
	table, err := consensus.NewTable(stakes)
	if err != nil {
		return stakeValue{}, fmt.Errorf("target stake table: %w", err)
	}
	var val stakeValue
	for t := tg.from; t < tg.to; t++ {
		if a, ok := table.Pick(consensus.Seed(src, t)); ok && a == w.advID {
			val.blocks++
			val.last = t == tg.to-1 && w.gen.Rule() != chain.SeedParentHash
		}
	}
	return val, nil
}

// vrfOutput is the adversary's VRF output for slot, which it knows for every slot in advance (PROTOCOL.md §6).
func (w *world) vrfOutput(slot chain.Slot) (chain.VRFOutput, error) {
	proof := chain.ProveVRF(w.adv, w.gen.Hash(), slot)
	out, err := proof.Output()
	if err != nil {
		return chain.VRFOutput{}, fmt.Errorf("slot %d: vrf output: %w", slot, err)
	}
	return out, nil
}
