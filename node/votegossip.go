package node

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"go.uber.org/zap"

	"github.com/posnode/posnode/chain"
	"github.com/posnode/posnode/p2p"
)

// Gossip errors of votes and evidence (PROTOCOL.md §10): each is answered with Ignore, since an honest peer on
// another branch or with another clock may forward such a message.
var (
	// ErrVoteEpoch: a vote's target epoch is neither the current epoch nor the one before.
	ErrVoteEpoch = errors.New("vote for an epoch not current or previous")
	// ErrNotPunishable: evidence against a validator already slashed, or holding nothing to slash.
	ErrNotPunishable = errors.New("offender cannot be punished")
)

// Topic names of votes and evidence (PROTOCOL.md §10).
const (
	voteTopicName     = "votes"
	evidenceTopicName = "evidence"
)

// joinFFG joins the vote and evidence topics.
func (n *Node) joinFFG(host *p2p.Host) error {
	var err error
	if n.voteTopic, err = host.Join(voteTopicName, n.validateVoteMsg); err != nil {
		return err
	}
	n.evTopic, err = host.Join(evidenceTopicName, n.validateEvidenceMsg)
	return err
}

// validateVoteMsg is the vote topic's validator (PROTOCOL.md §10): the encoding, the stateless rule and the
// signature here, where a failure is provably bad (Reject); the epoch, the stake table and the pool on the event
// loop, where a failure is Ignore.
func (n *Node) validateVoteMsg(ctx context.Context, from string, data []byte) p2p.Verdict {
	v, err := chain.DecodeVote(data)
	if err == nil {
		err = v.ValidateBasic()
	}
	if err == nil {
		err = n.sigs.VerifyVote(&v)
	}
	if err != nil {
		n.log.Info("rejected gossiped vote", zap.String("peer", from), zap.Error(err))
		return n.verdict(voteTopicName, p2p.Reject)
	}
	verdict := p2p.Ignore
	if n.call(ctx, func() { n.checkOwnVote(&v); err = n.admitVote(v) }) == nil && err == nil {
		verdict = p2p.Accept
	}
	if err != nil {
		n.log.Debug("ignored gossiped vote", zap.String("peer", from), zap.Error(err))
	}
	return n.verdict(voteTopicName, verdict)
}

// admitVote takes a verified vote from a peer into the pool (PROTOCOL.md §8a): its target epoch must be the
// current one or the one before (ErrVoteEpoch), its validator in that epoch's table on the head's branch
// (chain.ErrVoteNotValidator), and the pool must not hold it (votepool.ErrKnown). A vote slashable against one
// the pool holds is not kept; its evidence is (votepool.ErrConflict).
func (n *Node) admitVote(v chain.Vote) error {
	now := n.cfg.Genesis.EpochOf(n.maxSlot())
	if v.Target.Epoch > now || v.Target.Epoch+1 < now {
		return fmt.Errorf("%w: epoch %d, now %d", ErrVoteEpoch, v.Target.Epoch, now)
	}
	table, err := n.tree.StakeTable(v.Target.Epoch)
	if err != nil {
		return err
	}
	if !slices.ContainsFunc(table, func(s chain.Stake) bool { return s.Addr == v.Validator }) {
		return fmt.Errorf("%w: %s in epoch %d", chain.ErrVoteNotValidator, v.Validator.Short(), v.Target.Epoch)
	}
	ev, err := n.ffg.votes.AddVote(v)
	if ev != nil {
		n.recordEvidence(*ev)
	}
	return err
}

// validateEvidenceMsg is the evidence topic's validator (PROTOCOL.md §10): evidence that does not decode, does
// not prove an offence or does not verify is Reject; evidence that is expired, known, or against a validator
// that cannot be punished is Ignore.
func (n *Node) validateEvidenceMsg(ctx context.Context, from string, data []byte) p2p.Verdict {
	e, err := chain.DecodeEvidence(data)
	if err == nil {
		err = e.ValidateBasic()
	}
	if err == nil {
		err = e.Verify(n.chainID)
	}
	if err != nil {
		n.log.Info("rejected gossiped evidence", zap.String("peer", from), zap.Error(err))
		return n.verdict(evidenceTopicName, p2p.Reject)
	}
	verdict := p2p.Ignore
	if n.call(ctx, func() { err = n.admitEvidence(e) }) == nil && err == nil {
		verdict = p2p.Accept
	}
	if err != nil {
		n.log.Debug("ignored gossiped evidence", zap.String("peer", from), zap.Error(err))
	}
	return n.verdict(evidenceTopicName, verdict)
}

// admitEvidence takes verified evidence from a peer into the pool: its offender must be punishable on the head's
// branch (ErrNotPunishable); the pool refuses it expired, known, or when it holds evidence against the same
// offender (votepool errors).
func (n *Node) admitEvidence(e chain.Evidence) error {
	if !n.punishable(&e) {
		return fmt.Errorf("%w: %s", ErrNotPunishable, e.Offender().Short())
	}
	if err := n.ffg.votes.AddEvidence(e); err != nil {
		return err
	}
	n.log.Info("evidence received", zap.Stringer("offender", e.Offender()), zap.Stringer("kind", e.Kind))
	return nil
}
