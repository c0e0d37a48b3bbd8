package finality

import (
	"errors"
	"fmt"
	"time"

	"github.com/posnode/posnode/chain"
	"github.com/posnode/posnode/node/votepool"
)

// ErrSlashings: the slashings read for a block are not one per piece of its evidence.
var ErrSlashings = errors.New("slashings do not match the block's evidence")

// Chain is what the duty reads of the node's head's branch (PROTOCOL.md §8a); *chain.Tree implements it.
type Chain interface {
	// Head is the canonical head.
	Head() chain.Tip
	// HeadState is the head's state: the ledger that says who can still be slashed.
	HeadState() *chain.State
	// Finality is the head's justified and finalized checkpoints.
	Finality() (justified, finalized chain.Checkpoint)
	// Checkpoint is epoch e's checkpoint on the head's branch.
	Checkpoint(e chain.Epoch) chain.Checkpoint
	// InStakeTable reports whether a is in the stake table the votes for epoch e are counted against.
	InStakeTable(e chain.Epoch, a chain.Address) (bool, error)
	// StakeTable is that table.
	StakeTable(e chain.Epoch) ([]chain.Stake, error)
	// HoldsVote reports whether the head's branch holds a's vote for target.
	HoldsVote(target chain.Checkpoint, a chain.Address) bool
}

// Duty is one node's finality state: its vote pool, the epoch it last voted for, its latest own vote, the last
// finalized checkpoint it reported, and the offences it counted.
type Duty struct {
	g         *chain.Genesis
	self      chain.Address
	votes     *votepool.Pool   // votes, first headers and evidence
	lastVoted chain.Epoch      // the last epoch the voting duty was done for (since New)
	announced chain.Checkpoint // the last finalized checkpoint Finalized reported
	slashed   slashCount       // the offences Include counted
	own       *chain.Vote      // this node's latest vote, published again until a block includes it
	ownAt     chain.Slot       // the slot it was signed at
	stall     stallWatch       // what the node's users were told of a finality stall
}

// New returns the duty of validator self on network g at epoch now, with c's finalized checkpoint taken as
// reported already.
func New(g *chain.Genesis, self chain.Address, c Chain, now chain.Epoch) *Duty {
	d := &Duty{g: g, self: self, votes: votepool.New(g.EpochLength), slashed: newSlashCount(g.EpochLength)}
	d.votes.Prune(now, punishableOn(c))
	_, d.announced = c.Finality()
	return d
}

// Pool is the duty's vote pool, for reading (the node's queries and its reading of refused blocks).
func (d *Duty) Pool() *votepool.Pool { return d.votes }

// Punishable reports whether validator a can still be slashed on the branch whose head state is head: never
// slashed, and holding stake or unbonding tokens (PROTOCOL.md §8b).
func Punishable(head *chain.State, a chain.Address) bool {
	acc := head.Account(a)
	return !acc.Slashed && (acc.Stake > 0 || acc.Unbonding > 0)
}

func punishableOn(c Chain) func(*chain.Evidence) bool {
	return func(e *chain.Evidence) bool { return Punishable(c.HeadState(), e.Offender()) }
}

// Slot moves the duty to slot s: the pool to s's epoch, dropping pending evidence whose offender can no longer
// be punished on c's head (PROTOCOL.md §8b). It returns this node's latest vote when it is to be published again
// now (Republish).
func (d *Duty) Slot(s chain.Slot, c Chain) (chain.Vote, bool) {
	d.votes.Prune(d.g.EpochOf(s), punishableOn(c))
	return d.Republish(s, c)
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

// Finalized reports whether f, the head's finalized checkpoint, is newer than the last one it reported, and
// remembers it with the local time at which the node saw it (FinalizedAt): the node tells its users once per
// finalized checkpoint.
func (d *Duty) Finalized(f chain.Checkpoint, at time.Time) bool {
	if f.Epoch <= d.announced.Epoch {
		return false
	}
	d.announced = f
	d.stall.movedAt, d.stall.movedFor = at, f.Epoch
	return true
}

// ForBlock is what the pool offers this node's next block (PROTOCOL.md §8a, §8b): its votes, older target epoch
// first, and its pending evidence, which chain.Tree.ProposeBody filters on the parent's branch.
func (d *Duty) ForBlock() ([]chain.Vote, []chain.Evidence) {
	return d.votes.Votes(), d.votes.Evidence()
}
