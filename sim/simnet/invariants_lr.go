package simnet

import "time"

// checkLongRange checks PROTOCOL.md §12 against the long-range strategy (longrange.go) at each epoch check: no
// witness (an honest process started with a trusted checkpoint) adopts a chain without its checkpoint — neither
// a head at or past the checkpoint's epoch nor a finalized checkpoint of that epoch or later on a branch that
// does not contain it. Reported once per witness.
func (s *Sim) checkLongRange() {
	if !s.longRange {
		return
	}
	lr := &s.adv.more.lr
	for _, p := range s.procs {
		if !p.up || p.trusted == nil || s.isByzantine(p.id) || lr.told[p.id] {
			continue
		}
		c, t := *p.trusted, p.node.Chain()
		head := t.Head()
		_, f := t.Finality()
		what := ""
		if in, _ := t.Contains(head.Hash, c); !in && head.Height > 0 && s.gen.EpochOf(head.Slot) >= c.Epoch {
			what = "made head " + head.Hash.Short()
		} else if in, _ := t.Contains(f.Hash, c); !in && f.Epoch >= c.Epoch {
			what = "finalized " + f.Text()
		}
		if what == "" {
			continue
		}
		if lr.told == nil {
			lr.told = map[int]bool{}
		}
		lr.told[p.id] = true
		s.violate("long range: process %d, started with trusted checkpoint %s, %s (height %d) on a chain without it",
			p.id, c.Text(), what, head.Height)
	}
}

// checkLongRangeEnd checks at the end of a long-range run that every witness that is up and joined the honest
// processes at least witnessConverge epochs ago follows the real chain (its head's branch contains its trusted
// checkpoint, it finalized that epoch or later, and its head is at most two heights below the reference's), and
// that every witness to which a byzantine process delivered the rebuilt chain (its anchor, or its blocks of the
// checkpoint's epoch or later) penalised that process (PROTOCOL.md §12, §13a).
func (s *Sim) checkLongRangeEnd(ref *process) {
	if !s.longRange {
		return
	}
	epoch := time.Duration(s.cfg.Epoch) * s.cfg.Slot
	top := ref.node.Chain().Head().Height
	for _, p := range s.procs {
		if !p.up || p.trusted == nil || s.isByzantine(p.id) || s.sched.now-max(p.joinAt, p.since) < witnessConverge*epoch {
			continue
		}
		c, t := *p.trusted, p.node.Chain()
		head := t.Head()
		_, f := t.Finality()
		if in, _ := t.Contains(head.Hash, c); !in || f.Epoch < c.Epoch || head.Height+2 < top {
			s.violate("long range: process %d, started with trusted checkpoint %s, did not converge to the real chain: "+
				"head at height %d (contains the checkpoint: %v), finalized %s; process %d at height %d",
				p.id, c.Text(), head.Height, in, f.Text(), ref.id, top)
		}
	}
	lies := &s.adv.more.lies
	for w := range s.procs {
		for byz := range s.procs {
			if n := s.adv.more.lr.served[[2]int{w, byz}]; n > 0 && lies.penalties[[2]int{w, byz}] == 0 {
				s.violate("long range: byzantine process %d served the rebuilt chain to process %d %d times, and "+
					"was never penalised", byz, w, n)
			}
		}
	}
}

// lrLivenessFrom is the first epoch whose finality lag the liveness check holds a long-range run's real chain to:
// lrLivenessAfter epochs after its stake tables hold no byzantine stake (never, before the unstakes are in).
func (s *Sim) lrLivenessFrom() uint64 {
	if !s.longRange {
		return 0
	}
	if u := s.adv.more.lr.unstaked; u > 0 {
		return uint64(u) + lrLivenessAfter
	}
	return ^uint64(0)
}

// referenceCandidate reports whether p may be the reference process: live, and in a long-range run not byzantine
// (it follows the rebuilt history), nor a witness unless witnesses is set (the reference is taken among the
// witnesses only when no other honest process is up).
func (s *Sim) referenceCandidate(p *process, witnesses bool) bool {
	if !p.up {
		return false
	}
	if !s.longRange {
		return true
	}
	return !s.isByzantine(p.id) && (witnesses || p.trusted == nil)
}
