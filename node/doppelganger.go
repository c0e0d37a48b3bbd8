package node

import (
	"errors"
	"fmt"
	"math"

	"go.uber.org/zap"

	"github.com/posnode/posnode/chain"
	"github.com/posnode/posnode/node/signgate"
	"github.com/posnode/posnode/node/slashprot"
)

// ErrDoppelganger: another process signs with this node's key, so this node signs nothing more.
var ErrDoppelganger = errors.New("another process signs with this node's key")

// Doppelganger protection (PROTOCOL.md §9, §10) is node behaviour, not a consensus rule: a validator whose key
// runs in two processes (a restored backup, a second machine) would sign two blocks for some slots. At start the
// node watches cfg.DoppelgangerSlots slots for blocks and votes signed with its key that its slashing protection
// record does not hold before it signs anything; whenever it sees one, then or later, it stops signing blocks,
// votes and its own transactions for good (until restarted), and says so in its log, on the prompt, in
// /api/status (through the signing gate, signing.go) and in the posnode_doppelganger metric. Its own blocks and
// votes, back from peers after chain.db was moved aside or a crash lost them, are not another process's.

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

// checkOwnKey is called for every block from a peer whose signature verified and that this node's store does not
// hold. One signed with this node's key, from a slot since watchFrom, is judged by the slashing protection
// record, which holds every block this key signed here before it left the node (PROTOCOL.md §10, §11): a block
// the record holds with its root is the node's own, come back after chain.db was moved aside or a crash lost it
// unflushed; one above the latest recorded slot, or at a recorded slot with another root, was made by another
// process. One older than the record's kept history, at or below its latest slot, cannot be told apart: the
// node does not stop for it (a process signing now signs above the latest recorded slot, which is caught), and
// logs it.
func (n *Node) checkOwnKey(b *chain.Block) {
	if b.Header.Proposer != n.self || b.Header.Slot < n.watchFrom || n.doppelganger != "" {
		return
	}
	switch origin := n.guard.BlockOrigin(n.self, b.Header.Slot, b.Hash()); origin {
	case slashprot.Signed:
		n.log.Debug("a block this node signed came back from a peer", zap.Uint64("slot", uint64(b.Header.Slot)),
			zap.Uint64("height", uint64(b.Header.Height)), zap.Stringer("block", b.Hash()))
		return
	case slashprot.Unexplained:
		n.log.Info("a block of this key older than the slashing protection record's history; not taken for another "+
			"process's", zap.Uint64("slot", uint64(b.Header.Slot)), zap.Uint64("height", uint64(b.Header.Height)),
			zap.Stringer("block", b.Hash()))
		return
	}
	n.stopSigning(fmt.Sprintf("block %s at slot %d (height %d) was signed with this node's key by another process",
		b.Hash().Short(), b.Header.Slot, b.Header.Height), zap.Uint64("slot", uint64(b.Header.Slot)),
		zap.Uint64("height", uint64(b.Header.Height)), zap.Stringer("block", b.Hash()))
}

// checkOwnVote is checkOwnKey for a checkpoint vote from a peer whose signature verified: one of this node's key,
// for a target epoch since watchFrom's, is the node's own if the slashing protection record holds it (its source,
// target and root), another process's if its target is above every recorded one or the record holds its target
// with another source or root, and cannot be told apart if it is older than the record's kept votes.
func (n *Node) checkOwnVote(v *chain.Vote) {
	if v.Validator != n.self || v.Target.Epoch < n.cfg.Genesis.EpochOf(n.watchFrom) || n.doppelganger != "" {
		return
	}
	if n.guard.VoteOrigin(n.self, v.Source.Epoch, v.Target.Epoch, v.Root()) != slashprot.NotSigned {
		return
	}
	n.stopSigning(fmt.Sprintf("vote %s → %s was signed with this node's key by another process", v.Source, v.Target),
		zap.Stringer("source", v.Source), zap.Stringer("target", v.Target))
}

// checkOwnEvidence is checkOwnKey for verified evidence against this node's key, from gossip or a block: each
// header or vote of the pair that the slashing protection record does not hold is another process's. Two
// processes with one key, and one network identity, may never see each other's blocks (gossip reaches one of
// them, and a late block loses in fork choice), but a peer that sees both makes this evidence (PROTOCOL.md §10).
func (n *Node) checkOwnEvidence(e *chain.Evidence) {
	if e.Offender() != n.self || n.doppelganger != "" {
		return
	}
	switch e.Kind {
	case chain.EvidenceDoubleProposal:
		for _, h := range []chain.Header{e.HeaderA, e.HeaderB} {
			if n.guard.BlockOrigin(n.self, h.Slot, h.Hash()) == slashprot.NotSigned {
				n.stopSigning(fmt.Sprintf("evidence of a double proposal at slot %d holds block %s, signed with this "+
					"node's key by another process", h.Slot, h.Hash().Short()), zap.Uint64("slot", uint64(h.Slot)),
					zap.Stringer("block", h.Hash()))
				return
			}
		}
	case chain.EvidenceDoubleVote:
		n.checkOwnVote(&e.VoteA)
		n.checkOwnVote(&e.VoteB)
	}
}

// stopSigning stops every signature of this node until it restarts: another process signs with its key, as what
// says.
func (n *Node) stopSigning(what string, fields ...zap.Field) {
	n.doppelganger = what
	n.metrics.doppelganger.Set(1)
	n.gate.Set(signgate.Doppelganger, signgate.All, n.doppelganger)
	n.log.Error("DOPPELGANGER: another process signs with this node's key; this node has stopped signing. Stop "+
		"the other process (or this one), then restart this node", append(fields, zap.Stringer("key", n.self))...)
}
