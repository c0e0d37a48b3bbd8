package chain

import (
	"errors"
	"fmt"
)

// Accountability rules of the ledger (PROTOCOL.md §8b).
const (
	// UnbondingEpochs is how long unstaked tokens stay locked: tokens unstaked in epoch e return to the balance
	// when epoch e + UnbondingEpochs opens. Evidence has no expiry of its own: it is valid while its offender holds
	// stake or unbonding tokens, so this lock is the time evidence has to travel. It is twice
	// WeakSubjectivityEpochs (PROTOCOL.md §8b, §9, §12).
	UnbondingEpochs = 256
	// WeakSubjectivityEpochs is how old a finalized checkpoint a node may start from, or how long it may be cut off,
	// and still trust what the chain shows it: within it every validator that could have signed a conflicting
	// history is still locked, so its offence can still be punished (PROTOCOL.md §9, §12: Ethereum's formula
	// with no churn limit, halved to leave the evidence its window).
	WeakSubjectivityEpochs = UnbondingEpochs / 2
	// SlashPercent is the share of an offender's stake and unbonding tokens that evidence burns.
	SlashPercent = 50
	// WhistleblowerDivisor: the proposer that includes the evidence receives 1/8 of what is burned.
	WhistleblowerDivisor = 8
)

// Slashing errors.
var (
	// ErrAlreadySlashed: the offender was slashed before; one offence is punished once.
	ErrAlreadySlashed = errors.New("already slashed")
	// ErrNothingToSlash: the offender holds neither stake nor unbonding tokens.
	ErrNothingToSlash = errors.New("nothing to slash")
	// ErrSlashed: a slashed account cannot stake again.
	ErrSlashed = errors.New("account slashed")
)

// Slashing is what one piece of evidence did to the ledger.
type Slashing struct {
	Offender Address      `json:"offender"`
	Kind     EvidenceKind `json:"kind"`
	Burned   Amount       `json:"burned"` // taken from the offender's stake, then its unbonding tokens
	Reward   Amount       `json:"reward"` // of Burned, paid to the includer
}

// applyEvidence punishes the offender of e, included by proposer in a block of epoch epoch (PROTOCOL.md §8b):
// it burns SlashPercent of its stake and unbonding tokens, pays the proposer 1/WhistleblowerDivisor of that,
// marks the account slashed (out of every stake table from the next one computed, and out of every vote tally
// from this block on: Finality.Next) and moves the rest of its stake to unbonding. Evidence of any age is valid
// while its offender holds stake or unbonding tokens. The evidence's signatures are checked by ValidateBlock, its
// form by ValidateBasic.
func (s *State) applyEvidence(j *journal, e *Evidence, proposer Address, epoch Epoch) (Slashing, error) {
	off := e.Offender()
	acc := s.accounts.at(off)
	switch {
	case acc.Slashed:
		return Slashing{}, fmt.Errorf("%w: %s", ErrAlreadySlashed, off.Short())
	case acc.Stake == 0 && acc.Unbonding == 0:
		return Slashing{}, fmt.Errorf("%w: %s", ErrNothingToSlash, off.Short())
	}
	burnStake := percentOf(acc.Stake, SlashPercent)
	burnUnbonding := percentOf(acc.Unbonding, SlashPercent)
	burned := burnStake + burnUnbonding // both are at most half of an amount within the supply
	sl := Slashing{Offender: off, Kind: e.Kind, Burned: burned, Reward: burned / WhistleblowerDivisor}
	acc.Unbonding += acc.Stake - burnStake - burnUnbonding // cannot overflow: the sum is within the supply
	acc.Stake = 0
	acc.UnbondEpoch = max(acc.UnbondEpoch, epoch+UnbondingEpochs)
	acc.Slashed = true
	s.set(j, off, acc)
	if sl.Reward > 0 {
		inc := s.accounts.at(proposer)
		inc.Balance += sl.Reward // within the supply, as the burned tokens were
		s.set(j, proposer, inc)
	}
	s.supply -= burned - sl.Reward
	return sl, nil
}

// percentOf returns floor(a · p / 100) without overflow, for p ≤ 100.
func percentOf(a Amount, p uint64) Amount { return Amount(uint64(a)/100*p + uint64(a)%100*p/100) }

// releaseUnbonding moves every unbonding amount whose release epoch has come to its account's balance. It runs
// when a block opens epoch e (PROTOCOL.md §8b).
func (s *State) releaseUnbonding(j *journal, e Epoch) {
	for addr, acc := range s.accounts.all() { // order does not matter: each account changes on its own
		if acc.Unbonding == 0 || acc.UnbondEpoch > e {
			continue
		}
		acc.Balance += acc.Unbonding // within the supply
		acc.Unbonding, acc.UnbondEpoch = 0, 0
		s.set(j, addr, acc)
	}
}

// Retained reports whether a node keeps the votes and signed headers of epoch o at epoch now, to turn them into
// evidence (PROTOCOL.md §8b): from UnbondingEpochs epochs back, the longest an offender stays locked after it
// could last offend, to one epoch ahead (a peer's clock may run a little ahead). It is the one window of the vote
// pool and of vote gossip.
func Retained(o, now Epoch) bool { return o+UnbondingEpochs >= now && o <= now+1 }

// Countable reports whether a block of epoch now can count a vote for target epoch t (PROTOCOL.md §8a): the
// checkpoints of the branch's newest two epochs are the only targets a block takes.
func Countable(t, now Epoch) bool { return t <= now && t+1 >= now }
