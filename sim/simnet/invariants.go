package simnet

import (
	"fmt"
	"time"

	"github.com/posnode/posnode/chain"
)

// maxFinalityLag is how many epochs the finalized checkpoint may trail the current epoch while the network is
// whole (no fault configured, or the heal phase after healLagGrace): finality advances at least every 2 epochs
// (PROTOCOL.md §8a: a checkpoint is justified in its epoch's votes, finalized by the next). A private branch
// that split an epoch's honest votes allows more, and only as much as the k = 1 rule loses (lagBound,
// release_lag.go).
const maxFinalityLag = 3

// healLagGrace is how many epochs after the heal the network has to finalize again, after the restarted
// validators' doppelganger wait (Config.DoppelgangerSlots).
const healLagGrace = 4

// violate records a broken invariant with the time and what broke it.
func (s *Sim) violate(format string, args ...any) {
	s.viol = append(s.viol, fmt.Sprintf("t=%v (slot %d, %s phase): ", s.sched.now, uint64(s.sched.now/s.cfg.Slot), s.phase)+
		fmt.Sprintf(format, args...))
}

// reference is the live process with the highest finalized checkpoint (the lowest id among equals); nil when none
// is up. In a long-range run it is an honest process, and a witness only when no other is up (longrange.go).
func (s *Sim) reference() *process {
	for _, witnesses := range []bool{false, true} {
		var ref *process
		var best chain.Epoch
		for _, p := range s.procs {
			if !s.referenceCandidate(p, witnesses) {
				continue
			}
			if _, f := p.node.Chain().Finality(); ref == nil || f.Epoch > best {
				ref, best = p, f.Epoch
			}
		}
		if ref != nil || !s.longRange {
			return ref
		}
	}
	return nil
}

// checkSafety: no two live processes finalized conflicting checkpoints — every one's finalized block is on the
// reference's canonical chain (no stake is slashed in these runs, so no conflict is allowed at all).
func (s *Sim) checkSafety(ref *process) {
	rt := ref.node.Chain()
	for _, p := range s.procs {
		if !p.up || p == ref || s.longRange && s.isByzantine(p.id) { // a long-range attacker's history is its own
			continue
		}
		_, f := p.node.Chain().Finality()
		if f.Epoch == 0 || f.Hash == s.gen.Hash() { // the genesis, which every chain holds
			continue
		}
		b, err := p.node.Chain().Block(f.Hash)
		if err != nil {
			s.violate("process %d cannot read its own finalized block %s: %v", p.id, f, err)
			continue
		}
		at, err := rt.BlockAt(b.Header.Height)
		if err != nil || at.Hash() != f.Hash {
			_, rf := rt.Finality()
			s.violate("safety: process %d finalized %s at height %d, not on the chain of process %d (finalized %s)",
				p.id, f, b.Header.Height, ref.id, rf)
		}
	}
}

// checkEpoch runs just after each epoch starts: safety, and the finality lag while the network is whole.
func (s *Sim) checkEpoch() {
	ref := s.reference()
	if ref == nil {
		return
	}
	s.checkLongRange() // before safety: a witness on the rebuilt chain breaks both, and this one says why
	s.checkSafety(ref)
	s.checkDurability()
	s.checkMemory()
	s.maybeWitness(ref)
	_, f := ref.node.Chain().Finality()
	epoch := uint64(s.sched.now/s.cfg.Slot) / s.cfg.Epoch
	s.noteShares(ref, epoch)
	lag := epoch - min(epoch, uint64(f.Epoch))
	if epoch <= healLagGrace || epoch < s.lrLivenessFrom() {
		return
	}
	s.stats.MaxFinalityLag = max(s.stats.MaxFinalityLag, lag)
	s.noteLag(lag)
	whole := s.cfg.Faults == (Faults{}) && s.cfg.LossPermille < 100 ||
		s.phase == "heal" && s.sched.now >= s.cfg.Duration+time.Duration(healLagGrace*s.cfg.Epoch+s.cfg.DoppelgangerSlots)*s.cfg.Slot
	if !whole || lag <= maxFinalityLag {
		return
	}
	if bound := s.lagBound(ref.node.Chain(), epoch); lag > bound {
		s.violate("liveness: finalized epoch %d in epoch %d (lag %d > %d) with every process up and connected",
			f.Epoch, epoch, lag, bound)
	}
}

// checkEnd runs at the end of the run: safety, liveness, every acknowledged record committed exactly once, no
// validator slashed (all are honest here), and each validator's share of blocks and of the lottery's slots within
// its band (fairness.go).
func (s *Sim) checkEnd() {
	ref := s.reference()
	if ref == nil {
		s.violate("no process is up at the end")
		return
	}
	s.checkEpoch()
	t := ref.node.Chain()
	head := t.Head()
	_, f := t.Finality()
	s.stats.Height, s.stats.FinalizedEpoch = uint64(head.Height), uint64(f.Epoch)
	s.stats.SplitCheckpoints = s.countSplits(t, uint64(s.sched.now/s.cfg.Slot)/s.cfg.Epoch)
	seen := map[chain.Hash]int{}
	proposed := map[chain.Address]int{}
	for h := chain.Height(1); h <= head.Height; h++ {
		b, err := t.BlockAt(h)
		if err != nil {
			s.violate("process %d cannot read its canonical block %d: %v", ref.id, h, err)
			return
		}
		proposed[b.Header.Proposer]++
		for i := range b.Txs {
			if id := b.Txs[i].ID(); s.isAcked(id) {
				seen[id]++
			}
		}
	}
	s.stats.Blocks = uint64(head.Height)
	s.checkRecords(ref, seen)
	s.checkSlashing(ref)
	s.countShares(t)
	s.checkShares()
	s.checkAccountability(ref)
	s.checkSignsAgain()
	s.checkAdversaryShare(proposed, int(head.Height))
	s.checkSyncLies(ref)
	s.checkLongRangeEnd(ref)
	if s.adv.forwarded > 0 {
		s.violate("gap forwarding: honest processes accepted %d of the %d gap flood messages", s.adv.forwarded,
			s.adv.gapSent/gapBatch)
	}
}

func (s *Sim) isAcked(id chain.Hash) bool {
	_, ok := s.acked[id]
	return ok
}

func (s *Sim) checkRecords(ref *process, seen map[chain.Hash]int) {
	lost, twice := 0, 0
	var example string
	for id, by := range s.acked {
		if s.isByzantine(by) {
			continue // a byzantine process's acknowledgements promise nothing
		}
		switch c := seen[id]; {
		case c == 0:
			lost++
			if example == "" {
				example = fmt.Sprintf("record %s acknowledged by process %d is not on the chain", id.Short(), by)
			}
		case c > 1:
			twice++
			example = fmt.Sprintf("record %s acknowledged by process %d is on the chain %d times", id.Short(), by, c)
		}
	}
	s.stats.Lost, s.stats.Twice = lost, twice
	if lost > 0 || twice > 0 {
		s.violate("records: %d of %d acknowledged lost, %d committed twice on the chain of process %d; e.g. %s",
			lost, len(s.acked), twice, ref.id, example)
	}
}

func (s *Sim) checkSlashing(ref *process) {
	st := ref.node.Chain().HeadState()
	for i := range s.cfg.Validators {
		if a := st.Account(s.procs[i].addr); a.Slashed && !s.isByzantine(i) {
			s.violate("slashing: honest validator %d was slashed", i)
		}
	}
}
