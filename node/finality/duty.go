package finality

import (
	"cmp"
	"slices"
	"time"

	"github.com/posnode/posnode/chain"
	"github.com/posnode/posnode/node/view"
	"github.com/posnode/posnode/node/votepool"
)

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

// Slot moves the duty to slot s: the pool to s's epoch, dropping pending evidence whose offender can no longer
// be punished on c's head (PROTOCOL.md §8b). It returns this node's latest vote when it is to be published again
// now (Republish).
func (d *Duty) Slot(s chain.Slot, c Chain) (chain.Vote, bool) {
	d.votes.Prune(d.g.EpochOf(s), punishableOn(c))
	return d.Republish(s, c)
}

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

// StallRemind is how many epochs pass between two notices of the same finality stall.
const StallRemind = 8

// StallNews is what Stall tells the node to say of finality at a slot.
type StallNews uint8

// What Stall decides.
const (
	NoNews  StallNews = iota // nothing to say
	Stalled                  // finality stalled, or is still stalled StallRemind epochs after the last notice
	Resumed                  // a stall told of ended
)

// stallWatch is what the node's users were told of a finality stall (view.StallEpochs, PROTOCOL.md §8a).
type stallWatch struct {
	told     bool        // a stall was told of and has not ended
	toldAt   chain.Epoch // the epoch of the last notice of it
	movedAt  time.Time   // when the node last saw the finalized checkpoint move; zero before the first move
	movedFor chain.Epoch // the finalized epoch it moved to then
}

// Stall decides, at current epoch e with finalized checkpoint fin, what the node tells its users of a finality
// stall: Stalled when fin lags e by more than view.StallEpochs, again every StallRemind epochs while it lasts;
// Resumed once when it ends.
func (d *Duty) Stall(e chain.Epoch, fin chain.Checkpoint) StallNews {
	w := &d.stall
	stalled := uint64(e) > uint64(fin.Epoch)+view.StallEpochs
	switch {
	case !stalled && w.told:
		w.told = false
		return Resumed
	case stalled && (!w.told || e >= w.toldAt+StallRemind):
		w.told, w.toldAt = true, e
		return Stalled
	}
	return NoNews
}

// FinalizedAt returns the local time at which Finalized reported fin, when fin is the last checkpoint it
// reported: the "since" of a stall notice.
func (d *Duty) FinalizedAt(fin chain.Checkpoint) (time.Time, bool) {
	w := &d.stall
	return w.movedAt, !w.movedAt.IsZero() && w.movedFor == fin.Epoch
}

// Silent returns the stakes of epoch e's table whose validators cast no vote for e that the node saw, in the pool
// or on c's branch, largest first, and the table's total stake (PROTOCOL.md §8a: finality needs two thirds of
// it). The error is the table's, unreadable.
func (d *Duty) Silent(e chain.Epoch, c Chain) (silent []chain.Stake, total uint64, err error) {
	table, err := c.StakeTable(e)
	if err != nil {
		return nil, 0, err
	}
	target := c.Checkpoint(e)
	for _, st := range table {
		total += uint64(st.Amount)
		if !d.votes.HasVote(st.Addr, e) && !c.HoldsVote(target, st.Addr) {
			silent = append(silent, st)
		}
	}
	slices.SortFunc(silent, func(a, b chain.Stake) int { return cmp.Compare(b.Amount, a.Amount) })
	return silent, total, nil
}

// LagSlots is how many slots the finalized checkpoint's epoch started before slot now (0 if not before): how far
// finality lags the clock (PROTOCOL.md §8a).
func LagSlots(finalized chain.Checkpoint, now chain.Slot, epochLength uint64) uint64 {
	start := uint64(finalized.Epoch) * epochLength
	return uint64(now) - min(start, uint64(now))
}
