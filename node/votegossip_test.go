package node

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"

	"github.com/posnode/posnode/chain"
	"github.com/posnode/posnode/node/finality"
	"github.com/posnode/posnode/p2p"
)

// verdicts reads node n's count of gossip verdicts on a topic.
func verdicts(n *Node, topic string, v p2p.Verdict) float64 {
	var m dto.Metric
	if err := n.metrics.gossip.WithLabelValues(topic, v.String()).Write(&m); err != nil {
		return 0
	}
	return m.GetCounter().GetValue()
}

// A peer gossips votes and evidence that break each rule of PROTOCOL.md §10 (over real libp2p); both nodes answer
// each with its verdict, and keep none of them.
func TestGossipRefusesBadVotesAndEvidence(t *testing.T) {
	c := newCluster(t, []uint64{10, 20}, 200*time.Millisecond, 2*time.Second)
	const epochLen = 8
	c.startMesh(0, 1)
	both := []int{0, 1}
	waitFor(t, 60*time.Second, "epoch 3", func() bool { return c.status(0).Slot >= 3*epochLen+1 })
	_, stranger, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	adv := newEquivocator(t, c, stranger, both...)
	chainID := c.gen.Hash()
	now := chain.Epoch(c.status(0).Slot / epochLen)
	var source, target chain.Checkpoint
	adv.onLoop(func(n *Node) { _, source = n.tree.Finality(); target = n.tree.Checkpoint(now) }) // source < target
	signed := func(key ed25519.PrivateKey, src, tgt chain.Checkpoint) chain.Vote {
		v := chain.Vote{Validator: chain.AddressOf(key.Public().(ed25519.PublicKey)), Source: src, Target: tgt}
		v.Sign(chainID, key)
		return v
	}
	validator := c.keys[0] // a validator's key in the peer's hands
	forged := signed(validator, source, target)
	forged.Sig[7] ^= 1
	backwards := signed(validator, target, chain.Checkpoint{Epoch: target.Epoch, Hash: chain.Hash{1}})
	future := signed(validator, source, chain.Checkpoint{Epoch: now + 5, Hash: target.Hash})
	stale := signed(validator, chain.Checkpoint{Epoch: 0, Hash: chainID}, chain.Checkpoint{Epoch: now - 2, Hash: target.Hash})
	outsider := signed(stranger, source, target)
	notSlashable := chain.NewDoubleVote(signed(stranger, source, target),
		signed(stranger, target, chain.Checkpoint{Epoch: now + 1, Hash: chain.Hash{2}}))
	strangersOffence := chain.NewDoubleVote(signed(stranger, source, target),
		signed(stranger, source, chain.Checkpoint{Epoch: target.Epoch, Hash: chain.Hash{3}}))
	badSig := chain.NewDoubleVote(signed(validator, source, target),
		signed(validator, source, chain.Checkpoint{Epoch: target.Epoch, Hash: chain.Hash{4}}))
	badSig.VoteA.Sig[0] ^= 1

	tests := []struct {
		name  string
		topic *p2p.Topic
		data  []byte
		want  p2p.Verdict
	}{
		{"vote that does not decode", adv.votes, forged.Encode()[:100], p2p.Reject},
		{"vote with a bad signature", adv.votes, forged.Encode(), p2p.Reject},
		{"vote with source not before target", adv.votes, backwards.Encode(), p2p.Reject},
		{"vote for a future epoch", adv.votes, future.Encode(), p2p.Ignore},
		{"vote for an old epoch", adv.votes, stale.Encode(), p2p.Ignore},
		{"vote by a key in no table, with nothing at stake", adv.votes, outsider.Encode(), p2p.Reject},
		{"evidence that does not decode", adv.evidence, []byte{2, 1, 2, 3}, p2p.Reject},
		{"evidence of votes that are not slashable", adv.evidence, notSlashable.Encode(), p2p.Reject},
		{"evidence with a bad signature", adv.evidence, badSig.Encode(), p2p.Reject},
		{"evidence against a key without stake", adv.evidence, strangersOffence.Encode(), p2p.Ignore},
	}
	for _, tc := range tests {
		name := voteTopicName
		if tc.topic == adv.evidence {
			name = evidenceTopicName
		}
		var before [2]float64
		for _, i := range both {
			before[i] = verdicts(c.nodes[i], name, tc.want)
		}
		adv.publish(tc.topic, tc.data)
		waitFor(t, 20*time.Second, tc.name+": "+tc.want.String()+" on both nodes", func() bool {
			return verdicts(c.nodes[0], name, tc.want) > before[0] && verdicts(c.nodes[1], name, tc.want) > before[1]
		})
	}
	// The same checks, called directly, give the named errors (PROTOCOL.md §10).
	named := []struct {
		name string
		err  func(n *Node) error
		want error
	}{
		{"future epoch", func(n *Node) error { return n.admitVote(future) }, finality.ErrVoteEpoch},
		{"old epoch", func(n *Node) error { return n.admitVote(stale) }, finality.ErrVoteEpoch},
		{"not in the table", func(n *Node) error { return n.admitVote(outsider) }, chain.ErrVoteNotValidator},
		{"not punishable", func(n *Node) error { return n.admitEvidence(strangersOffence) }, finality.ErrNotPunishable},
	}
	for _, tc := range named {
		var err error
		adv.onLoop(func(n *Node) { err = tc.err(n) })
		if !errors.Is(err, tc.want) {
			t.Errorf("%s: got %v, want %v", tc.name, err, tc.want)
		}
	}
	for _, i := range both {
		var leaked []string
		c.nodes[i].call(context.Background(), func() {
			p := c.nodes[i].ffg.Pool()
			if p.HasVote(outsider.Validator, now) {
				leaked = append(leaked, "the outsider's vote")
			}
			if p.HasVote(future.Validator, future.Target.Epoch) {
				leaked = append(leaked, "the future vote")
			}
			if _, _, evs := p.Size(); evs != 0 {
				leaked = append(leaked, "evidence")
			}
			if verdicts(c.nodes[i], voteTopicName, p2p.Accept) == 0 {
				leaked = append(leaked, "no honest vote accepted at all")
			}
		})
		if len(leaked) > 0 {
			t.Errorf("node %d: %v", i, leaked)
		}
	}
}
