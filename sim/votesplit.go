package sim

import (
	"bytes"
	"fmt"
	"maps"
	"slices"

	"github.com/posnode/posnode/chain"
)

// voteSplit plays VoteSplit (split true) and its baseline HonestVotes (split false) with checkpoint votes and
// the real finality rules (PROTOCOL.md §8a). Every validator of an epoch e ≥ 1 votes once, D = max(E/4, 1)
// slots into it (when every posnode validator has voted), from its head's justified checkpoint to its head's
// checkpoint of e; every block an honest validator proposes includes the pooled votes that count on its branch.
//
// Under VoteSplit the adversary proposes as StakeWithhold does (it prefers to hold the last slot of an epoch)
// and includes no votes in its blocks, and it never votes. When the checkpoint block of epoch e (the last block
// before e) is its own, it splits perfectly: it released that block at the boundary so that the honest
// validator that sorts first saw it only after voting and voted for the block's parent, a target that does not
// count on the branch holding the block. The simulator has one view of the chain, so the split is assumed,
// not played over a network: this measures the finality delay a perfect splitter causes, an upper bound.
// Under HonestVotes the adversary proposes and votes like the others.
func (r *run) voteSplit(split bool) error {
	g := r.w.gen
	d := max(g.EpochLength/4, 1)
	honest := slices.SortedFunc(maps.Keys(r.w.honest), func(a, b chain.Address) int { return bytes.Compare(a[:], b[:]) })
	var pool []chain.Vote
	fc := finalityClock{epochLength: g.EpochLength}
	for s := chain.Slot(1); s <= chain.Slot(r.p.Slots); s++ {
		if err := r.proposeWithVotes(s, split, pool); err != nil {
			return err
		}
		if ep := g.EpochOf(s); ep >= 1 && uint64(s) == uint64(ep)*g.EpochLength+d {
			pool = slices.DeleteFunc(pool, func(v chain.Vote) bool { return v.Target.Epoch+1 < ep })
			votes, err := r.votes(ep, honest, split)
			if err != nil {
				return err
			}
			pool = append(pool, votes...)
		}
		_, fin := r.pub.Finality()
		fc.observe(s, fin.Epoch)
	}
	fc.finish(chain.Slot(r.p.Slots), g.EpochOf(chain.Slot(r.p.Slots)))
	r.res.MaxFinalityDelay, r.res.FinalityDelaySum, r.res.FinalityEpochs = fc.max, fc.sum, fc.epochs
	return nil
}

// proposeWithVotes lets the leader of slot propose on the public head: an honest one with the pooled votes, the
// adversary as StakeWithhold does when splitting, and with the pooled votes otherwise.
func (r *run) proposeWithVotes(slot chain.Slot, split bool, pool []chain.Vote) error {
	leader, ok := r.pub.Leader(slot)
	if !ok {
		return nil
	}
	if leader == r.w.advID && split {
		b, _, err := r.w.chooseStake(r.pub, slot, r.p.K, true)
		if err != nil || b == nil {
			if b == nil && err == nil {
				r.res.Withheld++
			}
			return err
		}
		return r.insert(b, slot)
	}
	key := r.w.adv
	if leader != r.w.advID {
		key = r.w.honest[leader]
	}
	b, _, err := r.pub.ProposeBody(r.pub.Head().Hash, slot, key, chain.Body{Votes: pool})
	if err != nil {
		return fmt.Errorf("slot %d: proposal with votes: %w", slot, err)
	}
	return r.insert(b, slot)
}

// votes returns the signed votes of epoch e on the public head: the honest validators' (the first of them
// voting for the checkpoint's parent when the adversary splits e) and, without a split, the adversary's.
func (r *run) votes(e chain.Epoch, honest []chain.Address, split bool) ([]chain.Vote, error) {
	chainID := r.w.gen.Hash()
	cp := r.pub.Checkpoint(e)
	source, _ := r.pub.Finality()
	splitHere := false
	var parent chain.Hash
	if split && cp.Hash != chainID {
		b, err := r.pub.Block(cp.Hash)
		if err != nil {
			return nil, fmt.Errorf("epoch %d checkpoint: %w", e, err)
		}
		splitHere, parent = b.Header.Proposer == r.w.advID, b.Header.Parent
	}
	if splitHere {
		r.res.Splits++
	}
	var out []chain.Vote
	vote := func(a chain.Address, target chain.Checkpoint) {
		key := r.w.adv
		if a != r.w.advID {
			key = r.w.honest[a]
		}
		v := chain.Vote{Validator: a, Source: source, Target: target}
		v.Sign(chainID, key)
		out = append(out, v)
	}
	for i, a := range honest {
		target := cp
		if splitHere && i == 0 {
			target = chain.Checkpoint{Epoch: e, Hash: parent}
		}
		vote(a, target)
	}
	if !split {
		vote(r.w.advID, cp)
	}
	return out, nil
}

// finalityClock measures, for every epoch e ≥ 1, how many slots after e's first slot the head's finalized
// checkpoint first reached epoch e.
type finalityClock struct {
	epochLength uint64
	final       chain.Epoch // newest finalized epoch seen
	max, sum    int         // slots
	epochs      int         // epochs measured
}

func (c *finalityClock) observe(slot chain.Slot, finalized chain.Epoch) {
	for ; c.final < finalized; c.final++ {
		c.add(int(uint64(slot) - uint64(c.final+1)*c.epochLength))
	}
}

// finish counts the epochs that should have been finalized by the last slot (all but the last two) and were
// not, with the delay they have at least.
func (c *finalityClock) finish(last chain.Slot, lastEpoch chain.Epoch) {
	for e := c.final + 1; e+2 <= lastEpoch; e++ {
		c.add(int(uint64(last) - uint64(e)*c.epochLength))
	}
}

func (c *finalityClock) add(delay int) {
	c.max = max(c.max, delay)
	c.sum += delay
	c.epochs++
}
