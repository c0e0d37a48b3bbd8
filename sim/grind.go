package sim

import (
	"fmt"

	"github.com/posnode/posnode/chain"
	"github.com/posnode/posnode/consensus"
)

// grind plays the Grind strategy on the public chain.
func (r *run) grind() error {
	for s := chain.Slot(1); s <= chain.Slot(r.p.Slots); s++ {
		done, err := r.honestTurn(s)
		if err != nil || done {
			if err != nil {
				return err
			}
			continue
		}
		if leader, ok := r.pub.Leader(s); !ok || leader != r.w.advID {
			continue
		}
		b, err := r.w.choose(r.pub, s, r.p.K)
		if err != nil {
			return err
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

// option is one thing the adversary can do with a slot it won: publish one version of its block (on the head,
// or on the head's parent), or withhold.
type option struct {
	block  *chain.Block // nil: withhold
	value  int          // canonical blocks it gives the adversary now, plus later slots it is known to win
	future int          // of value, the later slots: none of them can be an honest block
}

// beats orders options by value, then by future slots won: of two options that give the adversary as many
// blocks, the one that leaves fewer slots to honest validators raises its share more.
func (o option) beats(p option) bool {
	return o.value > p.value || (o.value == p.value && o.future > p.future)
}

// choose returns the block the adversary publishes at slot on tree's head, or nil to withhold, picking the
// option of highest value: its block if canonical, plus the later slots it is then known to win — slot+1 under
// parent-hash (each of k versions gives another hash), the whole of epoch(slot)+2 under randao when no honest
// block can follow in epoch(slot) (any other withholding leaves the seeds to honest VRF outputs it cannot
// know). Ties go to publishing the first version on the head.
func (w *world) choose(tr *chain.Tree, slot chain.Slot, k int) (*chain.Block, error) {
	head := tr.Head()
	var recs []chain.Tx
	if w.gen.Rule() == chain.SeedParentHash && k > 1 {
		recs = w.records(tr.HeadState()) // the versions: its records in k orders, each a different block hash
	}
	base, _, err := tr.Propose(slot, w.adv, recs)
	if err != nil {
		return nil, fmt.Errorf("slot %d: adversary proposal: %w", slot, err)
	}
	ev := evaluator{w: w, tr: tr, slot: slot, head: head}
	best := ev.publish(base, base.Hash(), base.Header.Mix)
	if w.gen.Rule() == chain.SeedParentHash { // randao never reads the hash: every version has the same mix
		hdr := base.Header
		for v := 1; v < k && best.future == 0; v++ { // a version can win at most the next slot
			hdr.TxRoot = chain.TxRoot(permutation(recs, v))
			if o := ev.publish(nil, hdr.Hash(), hdr.Mix); o.beats(best) {
				if o.block, err = ev.build(permutation(recs, v), hdr.Hash()); err != nil {
					return nil, err
				}
				best = o
			}
		}
	}
	if f := ev.future(head.Hash, head.Mix); (option{value: f, future: f}).beats(best) {
		best = option{value: f, future: f}
	}
	alt, ok, err := ev.onParent()
	if err != nil {
		return nil, err
	}
	if ok && alt.beats(best) {
		best = alt
	}
	return best.block, nil
}

// publish values publishing a block on the head with hash h and mix; b is the block, or nil while the version
// is only valued.
func (e *evaluator) publish(b *chain.Block, h, mix chain.Hash) option {
	f := e.future(h, mix)
	return option{block: b, value: 1 + f, future: f}
}

// evaluator values the options of one won slot.
type evaluator struct {
	w    *world
	tr   *chain.Tree
	slot chain.Slot
	head chain.Tip
}

// build proposes the version of the adversary's block holding txs in that order and checks it is the one whose
// hash was valued.
func (e *evaluator) build(txs []chain.Tx, want chain.Hash) (*chain.Block, error) {
	b, _, err := e.tr.Propose(e.slot, e.w.adv, txs)
	if err != nil {
		return nil, fmt.Errorf("slot %d: adversary version: %w", e.slot, err)
	}
	if b.Hash() != want {
		return nil, fmt.Errorf("slot %d: version hash %s, valued %s", e.slot, b.Hash().Short(), want.Short())
	}
	return b, nil
}

// future returns the later slots the adversary knows it wins if the chain's newest block is (hash, mix) after
// the slot: see choose.
func (e *evaluator) future(hash, mix chain.Hash) int {
	g := e.w.gen
	if g.Rule() == chain.SeedParentHash {
		return b2i(e.w.leads(hash, e.slot+1))
	}
	ep := g.EpochOf(e.slot)
	end := chain.Slot((uint64(ep) + 1) * g.EpochLength) // first slot of the next epoch
	src, err := e.tr.SeedSource(e.head.Hash, e.slot)
	if err != nil {
		return 0
	}
	for t := e.slot + 1; t < end; t++ {
		if !e.w.leads(src, t) {
			return 0 // an honest block can still follow in this epoch
		}
		proof := chain.ProveVRF(e.w.adv, g.Hash(), t)
		out, err := proof.Output()
		if err != nil {
			return 0
		}
		mix = chain.NextMix(mix, out) // its own later blocks of the epoch, which it will publish
	}
	wins := 0
	for t := chain.Slot((uint64(ep) + 2) * g.EpochLength); t < chain.Slot((uint64(ep)+3)*g.EpochLength); t++ {
		wins += b2i(e.w.leads(mix, t))
	}
	return wins
}

// onParent values building on the head's parent instead of the head, when the adversary also wins the slot
// there: the block competes with the head under fork choice (PROTOCOL.md §8).
func (e *evaluator) onParent() (option, bool, error) {
	if e.head.Height == 0 {
		return option{}, false, nil
	}
	hb, err := e.tr.Block(e.head.Hash)
	if err != nil {
		return option{}, false, fmt.Errorf("slot %d: head block: %w", e.slot, err)
	}
	// The best a block there can be is the lowest hash; if fork choice prefers the head even to that, the option
	// is worth withholding at most, and the block need not be built.
	if !consensus.Better(chain.Tip{Height: e.head.Height, Slot: e.slot}, e.head) {
		return option{}, false, nil
	}
	leader, ok, err := e.tr.LeaderOn(hb.Header.Parent, e.slot)
	if err != nil || !ok || leader != e.w.advID {
		return option{}, false, err
	}
	b, err := e.proposeOn(hb.Header.Parent)
	if err != nil {
		return option{}, false, err
	}
	if !consensus.Better(b.Tip(), e.head) {
		f := e.future(e.head.Hash, e.head.Mix) // it would not become the head
		return option{block: b, value: f, future: f}, true, nil
	}
	return e.publish(b, b.Hash(), b.Header.Mix), true, nil
}

// proposeOn builds the adversary's block on an earlier block of the tree.
func (e *evaluator) proposeOn(parent chain.Hash) (*chain.Block, error) {
	b, _, err := e.tr.ProposeOn(parent, e.slot, e.w.adv, nil)
	if err != nil {
		return nil, fmt.Errorf("slot %d: adversary proposal on %s: %w", e.slot, parent.Short(), err)
	}
	return b, nil
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}
