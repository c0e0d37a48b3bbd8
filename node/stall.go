package node

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/posnode/posnode/chain"
	"github.com/posnode/posnode/consensus"
	"github.com/posnode/posnode/node/view"
)

// stallRemind is how many epochs pass between two notices of the same finality stall.
const stallRemind = 8

// stallWatch is what the prompt was told of a finality stall (view.StallEpochs, PROTOCOL.md §8a).
type stallWatch struct {
	told     bool        // a stall was announced and has not ended
	toldAt   chain.Epoch // the epoch of the last notice of it
	movedAt  time.Time   // when this node last saw the finalized checkpoint move; zero before the first move
	movedFor chain.Epoch // the finalized epoch it moved to then
}

// noticeStall runs at every slot: when the finalized checkpoint lags the current epoch by more than
// view.StallEpochs it tells the prompt since when, and which validators, with how much stake, cast no vote this
// node saw for the last epoch; again every stallRemind epochs while it lasts; and once when it ends.
func (n *Node) noticeStall(s chain.Slot) {
	if n.events == nil {
		return
	}
	w := &n.notes.stall
	e := n.cfg.Genesis.EpochOf(s)
	_, fin := n.tree.Finality()
	stalled := uint64(e) > uint64(fin.Epoch)+view.StallEpochs
	switch {
	case !stalled && w.told:
		w.told = false
		n.announce("finality resumed: finalized epoch %d (current epoch %d)", fin.Epoch, e)
	case stalled && (!w.told || e >= w.toldAt+stallRemind):
		w.told, w.toldAt = true, e
		n.announce("%s", n.stallLine(e, fin))
	}
}

// finalityMoved records when the finalized checkpoint moved, for the stall notice's "since".
func (n *Node) finalityMoved(f chain.Checkpoint) {
	n.notes.stall.movedAt, n.notes.stall.movedFor = n.cfg.Now(), f.Epoch
}

// stallLine is the stall notice for current epoch e and finalized checkpoint fin.
func (n *Node) stallLine(e chain.Epoch, fin chain.Checkpoint) string {
	w := &n.notes.stall
	now := n.cfg.Now()
	var when string
	if !w.movedAt.IsZero() && w.movedFor == fin.Epoch {
		when = "finalized here at " + w.movedAt.UTC().Format(time.TimeOnly) + " UTC, " + since(now, w.movedAt)
	} else { // in time, epoch fin+1 is finalized by the start of epoch fin+3
		g := n.cfg.Genesis
		due := consensus.SlotStart(g.Time, time.Duration(g.SlotDuration), chain.Slot((uint64(fin.Epoch)+3)*g.EpochLength))
		when = "the next was due at " + due.UTC().Format(time.TimeOnly) + " UTC, " + since(now, due)
	}
	line := fmt.Sprintf("!!! FINALITY STALLED: nothing finalized after epoch %d (%s); the current epoch is %d, %d behind",
		fin.Epoch, when, e, e-fin.Epoch)
	return line + "; " + n.silentLine(e-1)
}

// silentLine names the validators of epoch e's stake table that cast no vote for e that this node saw, in the
// vote pool or in the head's branch, with their share of the stake (PROTOCOL.md §8a: finality needs two thirds).
func (n *Node) silentLine(e chain.Epoch) string {
	table, err := n.tree.StakeTable(e)
	if err != nil {
		return fmt.Sprintf("stake table of epoch %d unreadable: %v", e, err)
	}
	target := n.tree.Checkpoint(e)
	var silent []chain.Stake
	var quiet, total uint64
	for _, st := range table {
		total += uint64(st.Amount)
		if !n.ffg.votes.HasVote(st.Addr, e) && !n.tree.HoldsVote(target, st.Addr) {
			silent = append(silent, st)
			quiet += uint64(st.Amount)
		}
	}
	if len(silent) == 0 {
		return fmt.Sprintf("every validator of epoch %d voted, but not for one checkpoint with two thirds of the stake", e)
	}
	slices.SortFunc(silent, func(a, b chain.Stake) int { return cmp.Compare(b.Amount, a.Amount) })
	var names []string
	for i, st := range silent {
		if i == 5 {
			names = append(names, fmt.Sprintf("and %d more", len(silent)-5))
			break
		}
		names = append(names, fmt.Sprintf("%s (%s)", st.Addr.Short(), view.GroupDigits(uint64(st.Amount))))
	}
	return fmt.Sprintf("silent in epoch %d: %s of %s stake (%s), %d validator(s): %s", e, view.GroupDigits(quiet),
		view.GroupDigits(total), percent(quiet, total), len(silent), strings.Join(names, ", "))
}
