package finality

import (
	"errors"
	"fmt"

	"github.com/posnode/posnode/chain"
	"github.com/posnode/posnode/node/votepool"
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

// ErrSlashings: the slashings read for a block are not one per piece of its evidence (Include).
var ErrSlashings = errors.New("slashings do not match the block's evidence")

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

// Punishable reports whether validator a can still be slashed on the branch whose head state is head: never
// slashed, and holding stake or unbonding tokens (PROTOCOL.md §8b).
func Punishable(head *chain.State, a chain.Address) bool {
	acc := head.Account(a)
	return !acc.Slashed && (acc.Stake > 0 || acc.Unbonding > 0)
}

func punishableOn(c Chain) func(*chain.Evidence) bool {
	return func(e *chain.Evidence) bool { return Punishable(c.HeadState(), e.Offender()) }
}

// Reverted makes the evidence that block h included pending again (PROTOCOL.md §8b): h left the canonical
// chain.
func (d *Duty) Reverted(h chain.Hash) { d.votes.Revert(h) }

// Applied takes the votes of block b, which joined the canonical chain, into the pool and returns the evidence
// they make with the votes it held (double and surround votes, PROTOCOL.md §8b), for AddEvidence. A vote the pool
// knows or cannot hold (out of its window) makes none.
func (d *Duty) Applied(b *chain.Block) []chain.Evidence {
	var found []chain.Evidence
	for _, v := range b.Votes {
		if ev, _ := d.votes.AddVote(v); ev != nil {
			found = append(found, *ev)
		}
	}
	return found
}

// Include records the evidence that canonical block b holds as included, with the slashings it applied
// (chain.Tree.Slashings: one per piece, in order; ErrSlashings otherwise). fresh is true for a block that joins the
// canonical chain now, false for one read at start. It returns, per piece of evidence, whether its slashing is to
// be counted and told: fresh, and an offence not counted before — a reorg can apply an offence again, which is
// counted once while its epoch is retained (chain.Retained); now is the current epoch.
func (d *Duty) Include(b *chain.Block, slashings []chain.Slashing, fresh bool, now chain.Epoch) ([]bool, error) {
	if len(slashings) != len(b.Evidence) {
		return nil, fmt.Errorf("%w: %d slashings, %d pieces of evidence", ErrSlashings, len(slashings), len(b.Evidence))
	}
	h := b.Hash()
	counted := make([]bool, len(b.Evidence))
	for i, e := range b.Evidence {
		d.votes.Include(votepool.Included{Evidence: e, Block: h, Height: b.Header.Height, Slashing: slashings[i]})
		counted[i] = fresh && d.slashed.first(&e, now)
	}
	return counted, nil
}

// Header checks the header of a block the node stored against the first header its proposer signed for the slot
// and returns the evidence of a double proposal when it is a second one (PROTOCOL.md §8b), for AddEvidence.
func (d *Duty) Header(b *chain.Block) *chain.Evidence { return d.votes.AddHeader(b.Header, b.Sig) }

// offence names one punishable act, whatever evidence proves it: its offender and kind, and the slot of a double
// proposal or the later target epoch of a double or surround vote.
type offence struct {
	offender chain.Address
	kind     chain.EvidenceKind
	at       uint64
}

func offenceOf(e *chain.Evidence) offence {
	at := uint64(max(e.VoteA.Target.Epoch, e.VoteB.Target.Epoch))
	if e.Kind == chain.EvidenceDoubleProposal {
		at = uint64(e.HeaderA.Slot)
	}
	return offence{offender: e.Offender(), kind: e.Kind, at: at}
}

// slashCount decides which slashings Include counts: each offence once, although a reorg can revert the block
// that applied its evidence and apply it (or other evidence of the same offence) again. It remembers an offence
// while the node keeps the messages of its epoch (chain.Retained, PROTOCOL.md §8b).
type slashCount struct {
	epochLength uint64
	counted     map[offence]chain.Epoch // the offence's epoch
}

func newSlashCount(epochLength uint64) slashCount {
	return slashCount{epochLength: epochLength, counted: map[offence]chain.Epoch{}}
}

// first reports whether e proves an offence not counted yet, and remembers it; now is the current epoch, before
// which expired offences are forgotten.
func (c *slashCount) first(e *chain.Evidence, now chain.Epoch) bool {
	for o, at := range c.counted {
		if !chain.Retained(at, now) {
			delete(c.counted, o)
		}
	}
	o := offenceOf(e)
	if _, ok := c.counted[o]; ok {
		return false
	}
	c.counted[o] = e.Epoch(c.epochLength)
	return true
}
