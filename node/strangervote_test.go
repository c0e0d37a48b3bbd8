package node

import (
	"context"
	"crypto/ed25519"
	"testing"
	"time"

	"github.com/posnode/posnode/chain"
	"github.com/posnode/posnode/p2p"
)

// Votes signed by keys that never staked (PROTOCOL.md §10): a peer publishes up to 10,000 of them, each for the
// current epoch. Every node refuses them before checking a signature and rejects them, so gossipsub's score bans
// the sender; blocks and finality go on. That no stranger's signature was checked is read from the signature
// cache: each stranger vote verifies, so one checked during the flood would be remembered, and checking it
// again afterwards would cost nothing.
func TestStrangerVotesCostNoSignature(t *testing.T) {
	c := newCluster(t, []uint64{10, 20, 30, 40}, 300*time.Millisecond, 2*time.Second)
	all := []int{0, 1, 2, 3}
	c.startMesh(0, 1, 2, 3)
	c.waitFinalized(1, 60*time.Second, all...)
	sender := strangerKey(-1)
	host, votes := joinVotes(t, c, sender, all...)

	rejectsBefore := make([]float64, len(all))
	for _, i := range all {
		rejectsBefore[i] = gossipCount(c.nodes[i], voteTopicName, "reject")
	}
	finalizedBefore, heightBefore := c.finalized(0).Epoch, c.status(0).Height
	var sent []chain.Vote
	keys := make([]ed25519.PrivateKey, 100)
	for k := range keys {
		keys[k] = strangerKey(k)
	}
	genesis := chain.Checkpoint{Epoch: 0, Hash: c.gen.Hash()}
	var epoch chain.Epoch
	for k := 0; k < 10_000; k++ {
		if k%256 == 0 {
			epoch = c.gen.EpochOf(chain.Slot(c.status(0).Slot))
		}
		key := keys[k%len(keys)]
		v := chain.Vote{Validator: chain.AddressOf(key.Public().(ed25519.PublicKey)), Source: genesis,
			Target: chain.Checkpoint{Epoch: epoch, Hash: chain.HashBytes([]byte{byte(k), byte(k >> 8)})}}
		v.Sign(c.gen.Hash(), key)
		if err := publishWithin(votes, v.Encode()); err != nil {
			break // every node banned the sender
		}
		sent = append(sent, v)
	}
	waitFor(t, 30*time.Second, "every node to ban the sender", func() bool {
		for _, i := range all {
			if !c.nodes[i].host.Banned(host.ID()) {
				return false
			}
		}
		return true
	})
	for _, i := range all {
		n := c.nodes[i]
		rejected := gossipCount(n, voteTopicName, "reject") - rejectsBefore[i]
		if rejected == 0 {
			t.Errorf("node %d rejected no stranger vote: the flood did not arrive", i)
		}
		checks := n.sigs.Checks()
		for k := range sent {
			if err := n.sigs.VerifyVote(&sent[k]); err != nil {
				t.Fatalf("stranger vote %d does not verify: %v", k, err)
			}
		}
		// The node checks its peers' signatures meanwhile too: at least one fresh check per stranger vote.
		if fresh := n.sigs.Checks() - checks; fresh < uint64(len(sent)) {
			t.Errorf("node %d: %d of the %d stranger votes were signature-checked during the flood, want none",
				i, uint64(len(sent))-fresh, len(sent))
		}
		t.Logf("node %d: %.0f stranger votes rejected, none signature-checked; sender banned", i, rejected)
	}
	t.Logf("the sender published %d votes before every node banned it", len(sent))
	c.waitFinalized(finalizedBefore+2, 60*time.Second, all...)
	if h := c.status(0).Height; h <= heightBefore {
		t.Errorf("height %d after the flood, %d before: blocks stopped", h, heightBefore)
	}
	c.sameFinalized(all...)
}

// joinVotes joins the vote topic with key, bootstrapped to the given running nodes, and waits until it has them
// as peers on the topic.
func joinVotes(t *testing.T, c *cluster, key ed25519.PrivateKey, running ...int) (*p2p.Host, *p2p.Topic) {
	var boot []string
	for _, i := range running {
		boot = append(boot, c.nodes[i].Addrs()[0])
	}
	ctx, cancel := context.WithCancel(context.Background())
	h, err := p2p.New(ctx, p2p.Config{Key: key, Listen: []string{"/ip4/127.0.0.1/tcp/0"}, Bootstrap: boot,
		Namespace: c.gen.Hash().String()})
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); h.Close() })
	topic, err := h.Join(voteTopicName, func(context.Context, string, []byte) p2p.Verdict { return p2p.Accept })
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, 20*time.Second, "the sender to join the vote topic", func() bool { return topic.Peers() >= len(running) })
	return h, topic
}

// publishWithin publishes data on topic, failing after 5 seconds.
func publishWithin(topic *p2p.Topic, data []byte) error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return topic.Publish(ctx, data)
}
