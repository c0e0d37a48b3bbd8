package node

import (
	"errors"
	"fmt"
	"math"

	"go.uber.org/zap"

	"github.com/posnode/posnode/chain"
)

// ErrDoppelganger: another process signs with this node's key, so this node signs nothing more.
var ErrDoppelganger = errors.New("another process signs with this node's key")

// Doppelganger protection (PROTOCOL.md §9, §10) is node behaviour, not a consensus rule: a validator whose key
// runs in two processes (a restored backup, a second machine) would sign two blocks for some slots. At start the
// node watches cfg.DoppelgangerSlots slots for blocks signed with its key that it did not make before it signs
// anything; whenever it sees one, then or later, it stops signing blocks and its own transactions for good (until
// restarted), and says so in its log, on the prompt, in /api/status and in the posnode_doppelganger metric.

// startDoppelgangerWatch sets the slots of the start-up wait: blocks of this key from watchFrom on that the node
// did not make are another process's; it signs from signFrom on. A node started before genesis does not wait:
// nothing can have been signed yet.
func (n *Node) startDoppelgangerWatch() {
	now := n.currentSlot()
	wait := chain.Slot(n.cfg.DoppelgangerSlots)
	n.watchFrom = now - min(now, wait)
	if n.cfg.Now().Before(n.cfg.Genesis.Time) {
		return
	}
	n.signFrom = now + min(wait, math.MaxUint64-now)
	if wait > 0 {
		n.log.Info("doppelganger protection: watching for blocks signed with this key before signing",
			zap.Uint64("slots", uint64(wait)), zap.Uint64("signing_from_slot", uint64(n.signFrom)))
	}
}

// checkOwnKey is called for every block from a peer whose signature verified: one signed with this node's key
// that this node's store does not hold, from a slot since watchFrom, was made by another process.
func (n *Node) checkOwnKey(b *chain.Block) {
	if b.Header.Proposer != n.self || b.Header.Slot < n.watchFrom || n.doppelganger != "" {
		return
	}
	n.doppelganger = fmt.Sprintf("block %s at slot %d (height %d) was signed with this node's key by another process",
		b.Hash().Short(), b.Header.Slot, b.Header.Height)
	n.metrics.doppelganger.Set(1)
	n.log.Error("DOPPELGANGER: another process signs with this node's key; this node has stopped signing. Stop "+
		"the other process (or this one), then restart this node", zap.Uint64("slot", uint64(b.Header.Slot)),
		zap.Uint64("height", uint64(b.Header.Height)), zap.Stringer("block", b.Hash()), zap.Stringer("key", n.self))
	n.announce("!!! DOPPELGANGER: %s. This node has stopped signing; stop the other process, then restart this one.",
		n.doppelganger)
}

// mayPropose reports whether doppelganger protection lets the node sign a block for slot s.
func (n *Node) mayPropose(s chain.Slot) bool {
	switch {
	case n.doppelganger != "":
		n.log.Warn("slot won but not signing: another process signs with this key", zap.Uint64("slot", uint64(s)))
		return false
	case s < n.signFrom:
		n.log.Info("slot won but not signing yet: doppelganger protection", zap.Uint64("slot", uint64(s)),
			zap.Uint64("signing_from_slot", uint64(n.signFrom)))
		return false
	}
	return true
}

// signing describes whether the node signs blocks now, for Status.
func (n *Node) signing() string {
	switch {
	case n.doppelganger != "":
		return "stopped: " + n.doppelganger
	case n.currentSlot() < n.signFrom:
		return fmt.Sprintf("waiting for the doppelganger check until slot %d", n.signFrom)
	case n.flushing.err != nil:
		return fmt.Sprintf("paused: %v: %v", errNotDurable, n.flushing.err)
	}
	return "active"
}
