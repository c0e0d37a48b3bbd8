package node

import (
	"fmt"
	"strings"
	"time"

	"github.com/posnode/posnode/chain"
	"github.com/posnode/posnode/consensus"
	"github.com/posnode/posnode/node/finality"
	"github.com/posnode/posnode/node/view"
)

// noticeStall runs at every slot: when the finalized checkpoint lags the current epoch by more than
// view.StallEpochs it tells the prompt since when, and which validators, with how much stake, cast no vote this
// node saw for the last epoch; again every finality.StallRemind epochs while it lasts; and once when it ends
// (finality.Duty.Stall).
func (n *Node) noticeStall(s chain.Slot) {
	if n.events == nil {
		return
	}
	e := n.cfg.Genesis.EpochOf(s)
	_, fin := n.tree.Finality()
	switch n.ffg.Stall(e, fin) {
	case finality.Resumed:
		n.announce("finality resumed: finalized epoch %d (current epoch %d)", fin.Epoch, e)
	case finality.Stalled:
		n.announce("%s", n.stallLine(e, fin))
	}
}

// stallLine is the stall notice for current epoch e and finalized checkpoint fin.
func (n *Node) stallLine(e chain.Epoch, fin chain.Checkpoint) string {
	now := n.cfg.Now()
	var when string
	if at, ok := n.ffg.FinalizedAt(fin); ok {
		when = "finalized here at " + at.UTC().Format(time.TimeOnly) + " UTC, " + since(now, at)
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
	silent, total, err := n.ffg.Silent(e, n.tree)
	if err != nil {
		return fmt.Sprintf("stake table of epoch %d unreadable: %v", e, err)
	}
	var quiet uint64
	for _, st := range silent {
		quiet += uint64(st.Amount)
	}
	if len(silent) == 0 {
		return fmt.Sprintf("every validator of epoch %d voted, but not for one checkpoint with two thirds of the stake", e)
	}
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
