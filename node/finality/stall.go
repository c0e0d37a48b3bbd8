package finality

import (
	"cmp"
	"slices"
	"time"

	"github.com/posnode/posnode/chain"
	"github.com/posnode/posnode/node/view"
)

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
