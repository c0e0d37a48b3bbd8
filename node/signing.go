package node

import (
	"fmt"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/posnode/posnode/chain"
	"github.com/posnode/posnode/node/signgate"
)

// Why a validator will not sign (PROTOCOL.md §10, §11) goes through one signgate.Gate. Reasons that are events
// are set where they happen: another process with the key (checkOwnKey) and a refusal of the slashing protection
// record (propose, voteDuty). The reasons that follow the node's state (a sync, the start-up watch, the disk, the
// clock as clockOff estimates it, the record) are brought up to date by refreshSigning at every slot, before each
// duty and for every status answer.

// refusal is the slashing protection record's latest refusal of a signature this node asked for.
type refusal struct {
	duty signgate.Duty
	slot chain.Slot
	err  error
}

// refreshSigning says whether the node is a validator at all (a node with nothing to sign shows no reason as an
// alarm, signgate.Gate.SetValidator), and sets or clears the gate's reasons that follow the node's state: a view of the chain older than
// the weak-subjectivity period (PROTOCOL.md §12), a sync under way, the
// start-up doppelganger wait, a failing disk, the clock (clock.go) and the slashing protection record. Called on the event loop.
func (n *Node) refreshSigning() {
	s := n.currentSlot()
	n.gate.SetValidator(n.isValidator(s))
	n.gate.Update(signgate.WeakSubjectivity, n.outOfTouch != "", signgate.All, "the view of the chain is older than the weak-subjectivity period")
	n.gate.Update(signgate.Syncing, !n.synced || n.busySyncing(), signgate.All, "not caught up with the best peer yet")
	n.gate.Update(signgate.DoppelgangerWait, s < n.signFrom, signgate.All,
		fmt.Sprintf("waiting for the doppelganger check until slot %d", n.signFrom))
	n.gate.Update(signgate.Disk, n.flushing.err != nil, signgate.All, fmt.Sprintf("%v: %v", errNotDurable, n.flushing.err))
	offset, off := n.clockOff()
	n.gate.Update(signgate.Clock, off, signgate.All, fmt.Sprintf("this node's clock is %s %s the network's (check NTP)",
		offset.Abs().Round(time.Millisecond), behindAhead(offset)))
	d, why := n.recordRefuses(s)
	n.gate.Update(signgate.SlashingProtection, d != 0, d, why)
}

// isValidator reports whether this node's key is in the stake table of slot s's epoch or the next one, as the
// head's state knows them (PROTOCOL.md §6): whether it has blocks or votes to sign now or soon. A stake committed
// in the head's chain that counts from a later epoch makes it one too: the next table is the head's stakes.
func (n *Node) isValidator(s chain.Slot) bool {
	st, e := n.tree.HeadState(), n.cfg.Genesis.EpochOf(s)
	return st.IsValidator(e, n.self) || st.IsValidator(e+1, n.self)
}

// recordRefuses returns what the slashing protection record keeps the node from signing at slot s, and why: all
// of it when the record cannot be written; blocks while it holds a block slot above s (no block before the slot
// after it, PROTOCOL.md §11); votes while it holds a target epoch above s's; and the duty it refused in s (a
// block) or s's epoch (a vote, which is tried once per epoch).
func (n *Node) recordRefuses(s chain.Slot) (signgate.Duty, string) {
	if err := n.guard.Err(); err != nil {
		return signgate.All, err.Error()
	}
	var d signgate.Duty
	var why []string
	if latest, ok := n.guard.LatestBlock(n.self); ok && latest > s {
		d |= signgate.Block
		why = append(why, fmt.Sprintf("it holds a block of this key at slot %d, ahead of the clock (slot %d); no block before slot %d",
			latest, s, latest+1))
	}
	e := n.cfg.Genesis.EpochOf(s)
	if _, target, ok := n.guard.LatestVote(n.self); ok && target > e {
		d |= signgate.Vote
		why = append(why, fmt.Sprintf("it holds a vote of this key for epoch %d, ahead of the clock (epoch %d); no vote before epoch %d",
			target, e, target+1))
	}
	if r := n.refused; r.err != nil && (r.duty == signgate.Block && r.slot == s ||
		r.duty == signgate.Vote && n.cfg.Genesis.EpochOf(r.slot) == e) {
		d |= r.duty
		why = append(why, fmt.Sprintf("refused the %s of slot %d: %v", strings.TrimSuffix(r.duty.String(), "s"), r.slot, r.err))
	}
	return d, strings.Join(why, "; ")
}

// noteRefusal keeps the record's refusal of duty at slot s for the gate.
func (n *Node) noteRefusal(duty signgate.Duty, s chain.Slot, err error) {
	n.refused = refusal{duty, s, err}
	n.refreshSigning()
}

// maySign reports whether no reason keeps the node from signing for duty d at slot s; the reason, if any, was
// logged when it started, so a skipped slot is only a DEBUG line. Called on the event loop.
func (n *Node) maySign(d signgate.Duty, s chain.Slot) bool {
	n.refreshSigning()
	k, blocked := n.gate.Blocks(d)
	if blocked {
		n.log.Debug("not signing", zap.Stringer("duty", d), zap.Uint64("slot", uint64(s)), zap.Stringer("reason", k))
	}
	return !blocked
}
