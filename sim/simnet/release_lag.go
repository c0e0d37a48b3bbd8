package simnet

import (
	"time"

	"github.com/posnode/posnode/chain"
	"github.com/posnode/posnode/consensus"
)

// What a private branch does to finality (PROTOCOL.md §9, "Vote splitting"). Each honest validator signs one vote
// per target epoch (§8a, §11), for the checkpoint on its head's branch when it votes. A releasing process's
// private branch forks below the epoch's first slot, so its checkpoint of the epoch is another block: an honest
// validator votes for a checkpoint that does not stay canonical when the branch overtakes its head after it voted
// (released two heights above it, §8), or when the branch reached it before the vote and loses afterwards (a
// peer that syncs from the releasing process receives the private blocks before their release). Such a vote
// never counts on the canonical chain, and a second vote for the epoch would be a double vote (§8b). Of ten
// validators with equal stakes, two of them byzantine, two such honest votes leave the honest votes for the
// canonical checkpoint below two thirds; with three byzantine, one.

// noteHonestVote remembers the target of an honest validator's vote in a release run.
func (s *Sim) noteHonestVote(p *process, v chain.Vote) {
	if !s.cfg.Strategies.has(Release) || s.isByzantine(p.id) {
		return
	}
	m := &s.adv.more
	if m.honestVotes == nil {
		m.honestVotes = map[chain.Epoch]map[int]chain.Hash{}
	}
	if m.honestVotes[v.Target.Epoch] == nil {
		m.honestVotes[v.Target.Epoch] = map[int]chain.Hash{}
	}
	m.honestVotes[v.Target.Epoch][p.id] = v.Target.Hash
}

// splitByRelease reports whether a private branch split the honest votes for epoch e's checkpoint on t's head
// branch so that they cannot justify it: the honest votes for the checkpoint hold less than two thirds of e's stake
// table (consensus.Supermajority), and would hold two thirds with the honest votes that name another block where
// that block or the checkpoint is a block of a private branch. Honest validators that did not vote, and honest
// votes split with no private block involved, are never excused.
func (s *Sim) splitByRelease(t *chain.Tree, e chain.Epoch) bool {
	m := &s.adv.more
	votes := m.honestVotes[e]
	if e == 0 || len(votes) == 0 {
		return false
	}
	c := t.Checkpoint(e)
	table, err := t.StakeTable(e)
	if err != nil {
		return false
	}
	var total, counted, split chain.Amount
	for _, st := range table {
		total += st.Amount
	}
	for id, h := range votes { // sums: the map's order does not matter
		switch {
		case h == c.Hash:
			counted += stakeOf(table, s.procs[id].addr)
		case m.held[h] || m.held[c.Hash]:
			split += stakeOf(table, s.procs[id].addr)
		}
	}
	return !consensus.Supermajority(counted, total) && consensus.Supermajority(counted+split, total)
}

// lagBound is the finality lag the protocol promises at the start of epoch now on t's head branch: lagBoundOf
// with the epochs whose honest votes a private branch split.
func (s *Sim) lagBound(t *chain.Tree, now uint64) uint64 {
	if s.strictLag || len(s.adv.more.honestVotes) == 0 {
		return maxFinalityLag
	}
	return lagBoundOf(now, func(e uint64) bool { return s.splitByRelease(t, chain.Epoch(e)) })
}

// lagBoundOf is the finality lag allowed at the start of epoch now when split(e) tells which epochs' checkpoints
// cannot be justified. Under the k = 1 rule (PROTOCOL.md §8a) epoch f is finalized only by a supermajority link
// from f to f + 1, so a split epoch finalizes neither itself nor the epoch before it. The newest epoch that can be
// final is the newest f ≤ now − 2 such that neither f nor f + 1 was split; the bound is maxFinalityLag (the lag
// when none was) plus how far f is below now − 2: one split epoch allows 5, two in a row 6.
func lagBoundOf(now uint64, split func(e uint64) bool) uint64 {
	if now < 2 {
		return maxFinalityLag
	}
	f := now - 2
	for f > 0 && (split(f) || split(f+1)) {
		f--
	}
	return maxFinalityLag + now - 2 - f
}

// countSplits is how many epochs before now whose votes were cast while the network was whole (every epoch when
// no fault is configured, else those that began after every fault healed) had their honest votes split by a
// private branch, on t's head branch (Stats.SplitCheckpoints). Splits in the fault phase are not counted: there a
// partition splits the votes as well.
func (s *Sim) countSplits(t *chain.Tree, now uint64) int {
	n := 0
	from := uint64(1)
	if s.cfg.Faults != (Faults{}) {
		epoch := time.Duration(s.cfg.Epoch) * s.cfg.Slot
		from = uint64((s.cfg.Duration + epoch - 1) / epoch)
	}
	for e := from; e < now && len(s.adv.more.honestVotes) > 0; e++ {
		if s.splitByRelease(t, chain.Epoch(e)) {
			n++
		}
	}
	return n
}

func stakeOf(table []chain.Stake, a chain.Address) chain.Amount {
	for _, st := range table {
		if st.Addr == a {
			return st.Amount
		}
	}
	return 0
}
