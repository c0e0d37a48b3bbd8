package finality

import (
	"errors"
	"fmt"

	"github.com/posnode/posnode/chain"
)

// Errors of votes and evidence from peers (PROTOCOL.md §10). The gossip validators answer ErrVoteEpoch and
// ErrNotPunishable with Ignore, since an honest peer on another branch or with another clock may forward such a
// message, and ErrStranger with Reject.
var (
	// ErrVoteEpoch: a vote's target epoch is ahead of the clock, or older than the node keeps votes
	// (chain.Retained), or, for the pool, older than a block can count (chain.Countable).
	ErrVoteEpoch = errors.New("vote for an epoch outside the window")
	// ErrNotPunishable: evidence against a validator already slashed, or holding nothing to slash.
	ErrNotPunishable = errors.New("offender cannot be punished")
	// ErrStranger: the signer is in no stake table the node could count its vote in and holds nothing evidence
	// could burn (chain.State.Accountable): its message is refused before its signature is checked.
	ErrStranger = errors.New("signer neither counted nor punishable")
)

// Precheck runs the checks of a gossiped vote that need no signature and no event loop, at epoch now (PROTOCOL.md
// §10): its target epoch within what the node retains (ErrVoteEpoch), its signer accountable on head, the head's
// state (ErrStranger). It reads only its arguments.
func Precheck(v *chain.Vote, now chain.Epoch, head *chain.State) error {
	if v.Target.Epoch > now || !chain.Retained(v.Target.Epoch, now) {
		return fmt.Errorf("%w: epoch %d, now %d", ErrVoteEpoch, v.Target.Epoch, now)
	}
	if !head.Accountable(v.Validator) {
		return fmt.Errorf("%w: %s", ErrStranger, v.Validator.Short())
	}
	return nil
}

// AdmitVote takes a verified vote from a peer into the pool at epoch now (PROTOCOL.md §8a): its target epoch must
// be one a block can still count (ErrVoteEpoch), its validator in that epoch's table on c's branch
// (chain.ErrVoteNotValidator), and the pool must not hold it (votepool.ErrKnown). A vote slashable against one the
// pool holds is not kept (votepool.ErrConflict): the evidence it makes is returned, for AddEvidence.
func (d *Duty) AdmitVote(v chain.Vote, now chain.Epoch, c Chain) (*chain.Evidence, error) {
	if !chain.Countable(v.Target.Epoch, now) {
		return nil, fmt.Errorf("%w: epoch %d, now %d", ErrVoteEpoch, v.Target.Epoch, now)
	}
	in, err := c.InStakeTable(v.Target.Epoch, v.Validator)
	if err != nil {
		return nil, err
	}
	if !in {
		return nil, fmt.Errorf("%w: %s in epoch %d", chain.ErrVoteNotValidator, v.Validator.Short(), v.Target.Epoch)
	}
	return d.votes.AddVote(v)
}

// AddEvidence keeps verified evidence, found by this node or received, until a block includes it (PROTOCOL.md
// §8b): its offender must be punishable on c's branch (ErrNotPunishable); the pool refuses it expired, known, or
// when it holds evidence against the same offender (votepool errors). Evidence it keeps is the node's to gossip.
func (d *Duty) AddEvidence(e chain.Evidence, c Chain) error {
	if !Punishable(c.HeadState(), e.Offender()) {
		return fmt.Errorf("%w: %s", ErrNotPunishable, e.Offender().Short())
	}
	return d.votes.AddEvidence(e)
}

// CanAccuse reports whether evidence against a would be kept: a can still be punished on c's branch and no
// evidence against it is pending (PROTOCOL.md §8b).
func (d *Duty) CanAccuse(a chain.Address, c Chain) bool {
	return !d.votes.Pending(a) && Punishable(c.HeadState(), a)
}

// Conflict returns the vote of the pool that v is slashable against, when evidence against v's validator would
// be kept (CanAccuse); the node then checks v's signature and adds the evidence. v itself is not kept.
func (d *Duty) Conflict(v chain.Vote, c Chain) (chain.Vote, bool) {
	if !d.CanAccuse(v.Validator, c) {
		return chain.Vote{}, false
	}
	return d.votes.Conflict(v)
}
