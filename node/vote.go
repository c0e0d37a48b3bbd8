package node

import (
	"encoding/binary"

	"go.uber.org/zap"

	"github.com/posnode/posnode/chain"
	"github.com/posnode/posnode/node/signgate"
)

// voteDelay is how many slots into an epoch a validator whose head holds no block of the epoch yet waits before it
// votes with the head as the epoch's checkpoint (PROTOCOL.md §8a): a quarter of the epoch, at least one slot, so
// that a late block of the epoch before can still arrive.
func voteDelay(epochLength uint64) uint64 { return max(epochLength/4, 1) }

// voteSlot is the slot of epoch e, counted from the epoch's first, from which validator addr's vote is due
// (PROTOCOL.md §8a): validators are spread evenly over the epoch's first voteDelay slots by their address and the
// epoch, so that a large validator set does not sign, send and check all its votes in the same moment.
func voteSlot(addr chain.Address, e chain.Epoch, epochLength uint64) uint64 {
	return (binary.BigEndian.Uint64(addr[:8]) + uint64(e)) % voteDelay(epochLength)
}

// voteRepublishEvery is how many slots pass between publications of this node's own vote while the head's branch
// does not hold it (PROTOCOL.md §8a).
const voteRepublishEvery = 4

// voteDuty signs this node's checkpoint vote of slot s's epoch, once per epoch, when it is due (PROTOCOL.md §8a):
// the node is caught up, doppelganger protection lets it sign, it is a validator of the epoch's table, its
// voteSlot has come, and the epoch's checkpoint is settled on its head's branch (a block of the epoch is there,
// or voteDelay slots passed). The loop calls it half a slot into each slot, once the slot's block had time to
// arrive, so that votes do not compete with the block for the network and the cores.
// The vote passes the slashing protection record (PROTOCOL.md §11) before it is signed, then joins the pool and
// is published.
func (n *Node) voteDuty(s chain.Slot) {
	g := n.cfg.Genesis
	e := g.EpochOf(s)
	if e == 0 || e <= n.ffg.lastVoted || !n.maySign(signgate.Vote, s) {
		return
	}
	into := uint64(s) - uint64(e)*g.EpochLength
	if into < voteSlot(n.self, e, g.EpochLength) ||
		g.EpochOf(n.tree.Head().Slot) < e && into < voteDelay(g.EpochLength) {
		return
	}
	v, ok := n.dueVote(e)
	if !ok {
		return
	}
	if err := n.durableBeforeSigning("vote"); err != nil {
		n.log.Warn("not voting", zap.Uint64("epoch", uint64(e)), zap.Error(err))
		return
	}
	n.ffg.lastVoted = e
	if err := n.guard.CheckAndRecordVote(n.self, v.Source.Epoch, v.Target.Epoch, v.Root()); err != nil {
		n.log.Warn("not voting: slashing protection refused", zap.Uint64("epoch", uint64(e)), zap.Error(err))
		n.noteRefusal(signgate.Vote, s, err)
		return
	}
	v.Sign(n.chainID, n.key)
	n.ffgMetrics.votesSigned.Inc()
	if n.cfg.OnVote != nil {
		n.cfg.OnVote(v)
	}
	if _, err := n.ffg.votes.AddVote(v); err != nil {
		n.log.Error("own vote not pooled", zap.Uint64("epoch", uint64(e)), zap.Error(err))
	}
	n.log.Info("voted", zap.Stringer("source", v.Source), zap.Stringer("target", v.Target))
	n.ffg.own, n.ffg.ownAt = &v, s
	n.publish(n.voteTopic, v.Encode())
}

// republishVote publishes this node's latest vote again every voteRepublishEvery slots while a block can still
// include it (its target epoch is the current or the previous one) and the head's branch does not hold it, so
// that a vote signed while the node was cut off from its peers reaches a proposer once it is back (PROTOCOL.md
// §8a): at most 2·E / voteRepublishEvery publications per vote.
func (n *Node) republishVote(s chain.Slot) {
	v := n.ffg.own
	if v == nil {
		return
	}
	if n.cfg.Genesis.EpochOf(s) > v.Target.Epoch+1 {
		n.ffg.own = nil // no block can include it any more
		return
	}
	if s <= n.ffg.ownAt || (s-n.ffg.ownAt)%voteRepublishEvery != 0 || n.tree.HoldsVote(v.Target, n.self) {
		return
	}
	n.log.Debug("publishing own vote again", zap.Stringer("target", v.Target))
	n.publish(n.voteTopic, v.Encode())
}

// dueVote returns this node's unsigned vote for epoch e on its head's branch: from the head's justified
// checkpoint to e's checkpoint. ok is false when the node is not in e's stake table, or when the head already
// justified e (the vote could only repeat the source).
func (n *Node) dueVote(e chain.Epoch) (chain.Vote, bool) {
	in, err := n.tree.InStakeTable(e, n.self)
	if err != nil {
		n.log.Error("reading the stake table", zap.Uint64("epoch", uint64(e)), zap.Error(err))
		return chain.Vote{}, false
	}
	if !in {
		return chain.Vote{}, false
	}
	source, _ := n.tree.Finality()
	target := n.tree.Checkpoint(e)
	if source.Epoch >= target.Epoch {
		return chain.Vote{}, false
	}
	return chain.Vote{Validator: n.self, Source: source, Target: target}, true
}
