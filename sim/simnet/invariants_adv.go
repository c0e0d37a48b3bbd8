package simnet

import (
	"bytes"
	"fmt"
	"math"
	"time"

	"github.com/posnode/posnode/chain"
	"github.com/posnode/posnode/consensus"
)

// The invariants that byzantine processes, clients and restarts put to the test (invariants.go has the others).
const (
	// accountGrace is how many epochs before the end an offence must have been released to be punished by then:
	// the evidence travels, and a proposer includes it.
	accountGrace = 4
	// signGrace is how many epochs an honest validator that is up may go without signing a block or a vote at
	// the end of a run, after its start-up wait.
	signGrace = 3
	// advShareFactor bounds an adversary's share of the canonical blocks at this multiple of its stake share:
	// PROTOCOL.md §9 measures 0.105 / 0.263 / 0.346 of the blocks for 10 / 25 / 33 % of the stake that withholds
	// or grinds its stake, each within 1.06 times the share.
	advShareFactor = 1.06
)

// checkDurability checks PROTOCOL.md §11 on every live honest process: a record it acknowledged stays in its
// pending-transaction log until the sender's nonce in its finalized state has passed the record's. The finalized
// state is the highest the process has had in any life (process.finalMark): one that restarted without chain.db
// starts from an older one, and what left its log when it was final stays final. Reported once per check, with
// the count.
func (s *Sim) checkDurability() {
	for _, p := range s.procs {
		if p.up {
			p.markFinal()
		}
	}
	missing, example, first := 0, "", chain.Hash{}
	for id, by := range s.acked {
		p := s.procs[by]
		nonce, ok := s.adv.nonces[id]
		if !p.up || !ok || s.isByzantine(by) {
			continue
		}
		if p.finalMark > nonce || p.node.PendingHolds(id) {
			continue
		}
		missing++
		if example == "" || bytes.Compare(id[:], first[:]) < 0 { // the lowest ID: the message does not follow map order
			_, f := p.node.Chain().Finality()
			example, first = recordExample(id, by, nonce, f), id
		}
	}
	if missing > 0 {
		s.violate("durability: %d acknowledged records left the pending-transaction log before a finalized block "+
			"held them; e.g. %s", missing, example)
	}
}

// markFinal raises p.finalMark to the nonce of p's account in its node's finalized state. The node must be up.
func (p *process) markFinal() {
	if final, _, err := p.node.Chain().FinalizedState(); err == nil {
		p.finalMark = max(p.finalMark, final.Account(p.addr).Nonce)
	}
}

func recordExample(id chain.Hash, by int, nonce chain.Nonce, f chain.Checkpoint) string {
	return fmt.Sprintf("record %s of process %d (nonce %d), finalized checkpoint %s", id.Short(), by, nonce, f)
}

// checkAccountability checks that every offence released at least accountGrace epochs before the end has its
// offender slashed on the reference's canonical chain (PROTOCOL.md §8b): one violation per offender.
func (s *Sim) checkAccountability(ref *process) {
	st := ref.node.Chain().HeadState()
	s.stats.Equivocations, s.stats.GapTxs = len(s.adv.equivocations), s.adv.gapSent
	for i := range s.cfg.Validators {
		if s.isByzantine(i) && st.Account(s.procs[i].addr).Slashed {
			s.stats.Punished++
		}
	}
	cut := s.sched.now - time.Duration(accountGrace*s.cfg.Epoch)*s.cfg.Slot
	told := map[int]bool{}
	for _, e := range s.adv.equivocations {
		if e.released > cut || told[e.proc] || st.Account(s.procs[e.proc].addr).Slashed {
			continue
		}
		told[e.proc] = true
		s.violate("accountability: validator %d's %s, released at %v, is not punished: not slashed on the chain of "+
			"process %d", e.proc, e.what, e.released, ref.id)
	}
}

// checkSignsAgain checks that every honest validator that is up signed a block or a vote within the last
// signGrace epochs, unless it started too recently to have done so (its doppelganger wait, then an epoch or
// two): none is halted by a false alarm (PROTOCOL.md §10).
func (s *Sim) checkSignsAgain() {
	epoch := time.Duration(s.cfg.Epoch) * s.cfg.Slot
	wait := time.Duration(s.cfg.DoppelgangerSlots)*s.cfg.Slot + signGrace*epoch
	for i := range s.cfg.Validators {
		p := s.procs[i]
		if !p.up || s.isByzantine(i) || s.sched.now-p.since < wait {
			continue
		}
		if p.signed < s.sched.now-signGrace*epoch {
			last := "never"
			if p.signed >= 0 {
				last = "last at " + p.signed.String()
			}
			s.violate("signing: honest validator %d, up since %v, signed nothing in the last %d epochs (%s)", i,
				p.since, signGrace, last)
		}
	}
}

// noteShares adds the byzantine validators' share of the stake table of the current epoch, on the reference's
// head, to the run's mean.
func (s *Sim) noteShares(ref *process, epoch uint64) {
	if s.cfg.byzantineCount() == 0 {
		return
	}
	t, err := consensus.NewTable(ref.node.Chain().HeadState().Validators(chain.Epoch(epoch)))
	if err != nil || t.Total() == 0 {
		return
	}
	var adv chain.Amount
	for _, st := range t.Validators() {
		if i, ok := s.byPeer[st.Addr.String()]; ok && s.isByzantine(i) {
			adv += st.Amount
		}
	}
	s.adv.shareSum += float64(adv) / float64(t.Total())
	s.adv.shareN++
}

// checkAdversaryShare checks that the byzantine validators proposed at most advShareFactor times their mean
// stake share of the canonical blocks, plus 5 standard deviations of the binomial count (PROTOCOL.md §9).
func (s *Sim) checkAdversaryShare(proposed map[chain.Address]int, blocks int) {
	if s.adv.shareN == 0 || blocks == 0 {
		return
	}
	got := 0
	for i := range s.cfg.Validators {
		if s.isByzantine(i) {
			got += proposed[s.procs[i].addr]
		}
	}
	s.stats.AdversaryBlocks = got
	share := s.adv.shareSum / float64(s.adv.shareN)
	mean := float64(blocks) * min(share*advShareFactor, 1)
	bound := mean + 5*math.Sqrt(mean*(1-min(share, 1))) + 1
	if float64(got) > bound {
		s.violate("adversary share: the byzantine validators proposed %d of %d canonical blocks (%.3f) with %.3f of "+
			"the stake; PROTOCOL.md §9 bounds it at %.0f", got, blocks, float64(got)/float64(blocks), share, bound)
	}
}
