package node

import (
	"context"
	"errors"

	"go.uber.org/zap"

	"github.com/posnode/posnode/chain"
	"github.com/posnode/posnode/node/finality"
	"github.com/posnode/posnode/p2p"
)

// The gossip errors of votes and evidence are the finality duty's (finality.ErrVoteEpoch, ErrStranger and
// ErrNotPunishable, PROTOCOL.md §10); errUseless: an old vote that makes no evidence with the votes the node holds; its signature is not checked.
var errUseless = errors.New("old vote that makes no evidence")

// Topic names of votes and evidence (PROTOCOL.md §10).
const (
	voteTopicName     = "votes"
	evidenceTopicName = "evidence"
)

// joinFFG joins the vote and evidence topics.
func (n *Node) joinFFG() error {
	var err error
	if n.voteTopic, err = n.net.Join(voteTopicName, n.validateVoteMsg); err != nil {
		return err
	}
	n.evTopic, err = n.net.Join(evidenceTopicName, n.validateEvidenceMsg)
	return err
}

// validateVoteMsg is the vote topic's validator (PROTOCOL.md §10). Before any signature is checked: the
// encoding and the stateless rule, then the epoch (finality.ErrVoteEpoch, Ignore) and the signer, which must be
// accountable on the head's state (finality.ErrStranger, Reject). A vote a block can still count (chain.Countable) then has
// its signature checked here (Reject when bad) and goes to the pool on the event loop (Accept, or Ignore when the
// loop refuses it). An older vote the node retains (chain.Retained) serves only as evidence: its signature is
// checked only when it is slashable against a vote the pool holds, and it is never forwarded (Ignore); the
// evidence it makes is published instead.
func (n *Node) validateVoteMsg(ctx context.Context, from string, data []byte) p2p.Verdict {
	v, err := chain.DecodeVote(data)
	if err == nil {
		err = v.ValidateBasic()
	}
	now := n.cfg.Genesis.EpochOf(n.maxSlot())
	if err == nil {
		err = finality.Precheck(&v, now, n.head.Load().state) // the head published for readers off the loop
	}
	if errors.Is(err, finality.ErrVoteEpoch) {
		n.log.Debug("ignored gossiped vote", zap.String("peer", from), zap.Error(err))
		return n.verdict(voteTopicName, p2p.Ignore)
	}
	if err == nil && !chain.Countable(v.Target.Epoch, now) {
		return n.verdict(voteTopicName, n.oldVoteVerdict(ctx, from, v))
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

// oldVoteVerdict judges a vote older than a block can count (PROTOCOL.md §8b): on the event loop, whether it is
// slashable against a vote the pool holds of a validator that can still be punished; only then is its signature
// checked (Reject when bad), and the evidence kept and published. It is never forwarded.
func (n *Node) oldVoteVerdict(ctx context.Context, from string, v chain.Vote) p2p.Verdict {
	var held chain.Vote
	var conflict bool
	if n.call(ctx, func() { held, conflict = n.ffg.Conflict(v, n.tree) }) != nil || !conflict {
		n.log.Debug("ignored gossiped vote", zap.String("peer", from), zap.Error(errUseless))
		return p2p.Ignore
	}
	if err := n.sigs.VerifyVote(&v); err != nil {
		n.log.Info("rejected gossiped vote", zap.String("peer", from), zap.Error(err))
		return p2p.Reject
	}
	_ = n.call(ctx, func() { n.recordEvidence(chain.NewDoubleVote(v, held)) })
	return p2p.Ignore
}

// admitVote takes a verified vote from a peer into the duty's pool (finality.Duty.AdmitVote, PROTOCOL.md §8a):
// ErrVoteEpoch, chain.ErrVoteNotValidator, votepool.ErrKnown; a vote slashable against one the pool holds is not
// kept, its evidence is (votepool.ErrConflict).
func (n *Node) admitVote(v chain.Vote) error {
	ev, err := n.ffg.AdmitVote(v, n.cfg.Genesis.EpochOf(n.maxSlot()), n.tree)
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
	n.checkOwnEvidence(&e)
	if err := n.ffg.AddEvidence(e, n.tree); err != nil {
		return err
	}
	n.log.Info("evidence received", zap.Stringer("offender", e.Offender()), zap.Stringer("kind", e.Kind))
	return nil
}
