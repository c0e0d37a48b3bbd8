package node

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"testing"
	"time"

	"github.com/posnode/posnode/chain"
	"github.com/posnode/posnode/node/view"
	"github.com/posnode/posnode/p2p"
)

// pooled reports whether node n's mempool holds every one of txs.
func pooled(n *Node, txs []chain.Tx) bool {
	all := true
	n.call(context.Background(), func() {
		for i := range txs {
			all = all && n.pool.Has(txs[i].ID())
		}
	})
	return all
}

// signedBPMs returns count BPM records of key's account from nonce first on.
func signedBPMs(c *cluster, key ed25519.PrivateKey, first chain.Nonce, count int) []chain.Tx {
	txs := make([]chain.Tx, count)
	for i := range txs {
		txs[i] = bpmTx(key, first+chain.Nonce(i), c.gen.Hash())
	}
	return txs
}

// A batch submitted through SubmitBatch is checked transaction by transaction, and the accepted ones reach the
// other node in one gossip message (PROTOCOL.md §10).
func TestSubmitBatchGossipsOneMessage(t *testing.T) {
	c := newCluster(t, []uint64{10, 10}, 200*time.Millisecond, time.Hour) // no blocks: everything stays pending
	n0 := c.start(0)
	n1 := c.start(1, 0)
	waitFor(t, 20*time.Second, "the transaction topic's mesh", func() bool { return n0.txTopic.Peers() > 0 })
	txs := signedBPMs(c, c.keys[0], 0, 5)
	bad := bpmTx(c.keys[0], 5, c.gen.Hash())
	bad.Sig[0] ^= 1
	errs, err := n0.SubmitBatch(context.Background(), append(txs, bad))
	if err != nil {
		t.Fatal(err)
	}
	for i := range txs {
		if errs[i] != nil {
			t.Errorf("transaction %d: %v", i, errs[i])
		}
	}
	if !errors.Is(errs[5], chain.ErrBadSignature) || !errors.Is(errs[5], view.ErrInvalidTx) {
		t.Errorf("bad signature: got %v, want ErrBadSignature of kind ErrInvalidTx", errs[5])
	}
	waitFor(t, 30*time.Second, "the batch in node 1's mempool", func() bool { return pooled(n1, txs) })
	if got := gossipCount(n1, "txs", "accept"); got != 1 {
		t.Errorf("node 1 accepted %v transaction messages, want the one batch", got)
	}
	if _, err := n0.SubmitBatch(context.Background(), make([]chain.Tx, chain.MaxTxBatch+1)); !errors.Is(err, view.ErrInvalidTx) {
		t.Errorf("oversized batch: got %v, want ErrInvalidTx", err)
	}
}

// A peer gossips transaction batches: one with a bad signature among good transactions is rejected whole and
// nothing of it is admitted; a good one is admitted whole.
func TestGossipedTxBatches(t *testing.T) {
	c := newCluster(t, []uint64{10, 10}, 200*time.Millisecond, time.Hour)
	n0 := c.start(0)
	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	h, err := p2p.New(ctx, p2p.Config{Key: key, Listen: []string{"/ip4/127.0.0.1/tcp/0"},
		Bootstrap: []string{n0.Addrs()[0]}, Namespace: c.gen.Hash().String(), NoPeerExchange: true})
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); h.Close() })
	topic, err := h.Join("txs", func(context.Context, string, []byte) p2p.Verdict { return p2p.Accept })
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, 20*time.Second, "the peer in the transaction topic", func() bool { return topic.Peers() > 0 })

	txs := signedBPMs(c, c.keys[1], 0, 4)
	tainted := append([]chain.Tx{}, txs...)
	tainted[2].Sig[5] ^= 1
	if err := topic.Publish(ctx, chain.EncodeTxBatch(tainted)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "the tainted batch rejected", func() bool { return gossipCount(n0, "txs", "reject") == 1 })
	n0.call(context.Background(), func() {
		if n0.pool.Len() != 0 {
			t.Errorf("after the tainted batch: %d transactions pooled, want none", n0.pool.Len())
		}
	})
	if err := topic.Publish(ctx, chain.EncodeTxBatch(txs)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "the good batch admitted", func() bool { return pooled(n0, txs) })
	if got := gossipCount(n0, "txs", "accept"); got != 1 {
		t.Errorf("accepted %v messages, want 1", got)
	}
}
