package simnet

import (
	"math"

	"github.com/posnode/posnode/chain"
	"github.com/posnode/posnode/consensus"
)

// The fairness of the lottery (PROTOCOL.md §6) under unequal stakes that change during the run, crashes,
// doppelganger waits and partitions. There is one leader per slot and no fallback: a block whose proposer is not
// the lottery's winner on its parent is invalid (chain.Tree.validate, ErrWrongProposer), so the slot of a leader
// that is down, still waiting out its doppelganger check, or cut off stays empty on the canonical chain, and
// nobody else's chance in it changes. Two counts per validator follow from that, each against its own
// expectation, slot by slot with the stake table of the slot's own epoch:
//
//   - Won: the slots from 1 to the reference's head slot whose winner on the canonical chain (the lottery seeded by
//     the canonical block before the slot) is the validator, whether or not a block fills them; expected Σ share,
//     variance Σ share·(1 − share). Only the lottery and the seed are tested: no fault can hide a slot from it.
//   - Blocks: the canonical blocks the validator proposed; expected Σ share over the slots in which it was able to
//     propose: up, and past the doppelganger wait of its latest start (a restart at slot r with wait w can sign
//     from slot r + w, r + 1 without a wait). Blocks lost to partitions or to a stale head after a restart only
//     lower the count, so the blocks test is one-sided: it asks whether any validator gets more blocks than its
//     stake gives it.
//
// The walk-through's expectation — canonical blocks × genesis share — is kept as NaiveMean: it counts the slots
// of validators that were down as slots the others could have won, and so expects too few blocks of those up.

// slotSpan is a range of slots, both ends included.
type slotSpan struct{ from, to chain.Slot }

// ShareCount is one validator's share of a run (Stats.Shares), against what its stake gives it.
type ShareCount struct {
	Stake             uint64  // genesis stake
	Won               int     // slots it won on the canonical chain, filled or not
	WonMean, WonVar   float64 // Σ share and Σ share·(1 − share) over every slot
	Blocks            int     // canonical blocks it proposed
	BlockMean, BlkVar float64 // the same sums over the slots in which it was able to propose
	NaiveMean         float64 // canonical blocks × its genesis share of the stake
}

// slotOf is the slot of virtual time t.
func (s *Sim) slotOf(t int64) chain.Slot { return chain.Slot(t / int64(s.cfg.Slot)) }

// ableFrom notes that p started now: it can propose from the slot its doppelganger wait ends (the next slot
// when there is none, but from slot 0 at the network's first start).
func (s *Sim) ableFrom(p *process, wait uint64) {
	from := s.slotOf(int64(s.sched.now)) + chain.Slot(max(wait, 1))
	if p.inc == 1 {
		from = 0
	}
	p.able = append(p.able, slotSpan{from: from, to: math.MaxUint64})
}

// ableUntil notes that p crashed now: the slot under way was its last chance.
func (s *Sim) ableUntil(p *process) {
	if n := len(p.able); n > 0 {
		p.able[n-1].to = s.slotOf(int64(s.sched.now))
	}
}

// wasAble reports whether p could propose in slot sl.
func (p *process) wasAble(sl chain.Slot) bool {
	for _, a := range p.able {
		if a.from <= sl && sl <= a.to {
			return true
		}
	}
	return false
}

// countShares walks the slots from 1 to the head's slot on t, the reference's tree, and fills Stats.Shares. The
// seed of each slot is computed here from the canonical blocks' headers (PROTOCOL.md §6), not asked of the tree,
// which forgets blocks below its finalized floor; a canonical block whose proposer is not the winner so computed
// is a violation (the tree should have refused it).
func (s *Sim) countShares(t *chain.Tree) {
	head := t.Head()
	g := t.Genesis()
	w := &slotWalk{tree: t, tables: map[chain.Epoch][]chain.Stake{}, parent: g.Hash(), last: chain.GenesisMix(g.Hash())}
	w.shares = make([]ShareCount, s.cfg.Validators)
	for i := range w.shares {
		w.shares[i].Stake = s.cfg.stakeOf(i)
	}
	w.mixBefore = []chain.Hash{w.last} // mixBefore[e]: the mix of the newest canonical block before epoch e
	next := chain.Height(1)
	for sl := chain.Slot(1); sl <= head.Slot; sl++ {
		for uint64(len(w.mixBefore)) <= uint64(g.EpochOf(sl)) {
			w.mixBefore = append(w.mixBefore, w.last)
		}
		var b *chain.Block
		if next <= head.Height {
			if c, err := t.BlockAt(next); err == nil && c.Header.Slot == sl {
				b = c
			}
		}
		s.countSlot(w, sl, b)
		if b != nil {
			w.parent, w.last, next = b.Hash(), b.Header.Mix, next+1
		}
	}
	s.countNaive(w.shares)
	s.stats.Shares = w.shares
}

// slotWalk is countShares's state: the canonical chain walked so far.
type slotWalk struct {
	tree      *chain.Tree
	tables    map[chain.Epoch][]chain.Stake
	shares    []ShareCount
	parent    chain.Hash   // the newest canonical block so far
	last      chain.Hash   // its mix
	mixBefore []chain.Hash // by epoch: the mix of the newest canonical block before the epoch's first slot
}

// source is the seed source of slot sl in epoch e (PROTOCOL.md §6, chain.Tree.SeedSource).
func (w *slotWalk) source(sl chain.Slot) chain.Hash {
	g := w.tree.Genesis()
	if g.Rule() == chain.SeedParentHash {
		return w.parent
	}
	if e := g.EpochOf(sl); e >= 2 {
		return w.mixBefore[e-1]
	}
	return w.mixBefore[0]
}

// countSlot adds slot sl, filled by b (nil: empty), to the shares.
func (s *Sim) countSlot(w *slotWalk, sl chain.Slot, b *chain.Block) {
	e := w.tree.Genesis().EpochOf(sl)
	table, ok := w.tables[e]
	if !ok {
		table, _ = w.tree.StakeTable(e) // nil beyond the tree's memory: the slot counts for nobody
		w.tables[e] = table
	}
	if len(table) == 0 {
		s.stats.Uncounted++
		return
	}
	leader, _ := consensus.Leader(table, w.source(sl), sl)
	if b != nil && b.Header.Proposer != leader {
		s.violate("lottery: the canonical block at slot %d was proposed by %s; the lottery on its parent names %s",
			sl, b.Header.Proposer.Short(), leader.Short())
	}
	var total float64
	for _, st := range table {
		total += float64(st.Amount)
	}
	for _, st := range table {
		i, known := s.byPeer[st.Addr.String()]
		if !known || i >= len(w.shares) {
			continue
		}
		sh, c := float64(st.Amount)/total, &w.shares[i]
		c.WonMean, c.WonVar = c.WonMean+sh, c.WonVar+sh*(1-sh)
		if st.Addr == leader {
			c.Won++
		}
		if s.procs[i].wasAble(sl) {
			c.BlockMean, c.BlkVar = c.BlockMean+sh, c.BlkVar+sh*(1-sh)
		}
		if b != nil && st.Addr == leader {
			c.Blocks++
		}
	}
}

// countNaive fills NaiveMean: the canonical blocks times each validator's genesis share.
func (s *Sim) countNaive(shares []ShareCount) {
	var total, blocks float64
	for _, c := range shares {
		total += float64(c.Stake)
		blocks += float64(c.Blocks)
	}
	for i := range shares {
		shares[i].NaiveMean = blocks * float64(shares[i].Stake) / total
	}
}

// checkShares checks each validator's counts (countShares) against its stake, 5 standard deviations wide: an
// honest validator proposes no more canonical blocks than its share of the slots in which it could propose gives
// it, and at least half as many (partitions and stale heads after restarts cost it some), and — in a run without byzantine validators, whose grinding and withholding move seeds on purpose — every
// validator wins its share of all slots.
func (s *Sim) checkShares() {
	for i, c := range s.stats.Shares {
		if s.isByzantine(i) {
			continue
		}
		sd := 5*math.Sqrt(c.BlkVar) + 1
		if hi := c.BlockMean + sd; float64(c.Blocks) > hi {
			s.violate("fairness: validator %d (stake %d) proposed %d canonical blocks, more than its share of the "+
				"slots it could propose in allows: expected %.1f, at most %.1f", i, c.Stake, c.Blocks, c.BlockMean, hi)
		}
		if lo := c.BlockMean/2 - sd; float64(c.Blocks) < lo {
			s.violate("fairness: validator %d (stake %d) proposed %d canonical blocks, fewer than half its share of "+
				"the slots it could propose in: expected %.1f, at least %.1f", i, c.Stake, c.Blocks, c.BlockMean, lo)
		}
		if s.cfg.byzantineCount() > 0 || c.WonMean < 10 {
			continue
		}
		if band := 5*math.Sqrt(c.WonVar) + 1; math.Abs(float64(c.Won)-c.WonMean) > band {
			s.violate("lottery: validator %d (stake %d) won %d slots on the canonical chain, expected %.1f ± %.1f",
				i, c.Stake, c.Won, c.WonMean, band)
		}
	}
}
