package node

import (
	"context"
	"crypto/ed25519"
	"sync/atomic"
	"testing"
	"time"

	"github.com/posnode/posnode/chain"
	"github.com/posnode/posnode/internal/adversary"
	"github.com/posnode/posnode/node/mempool"
)

// gapSenders and gapNonces are the gap flood of issue 2: thirteen funded accounts without stake send nonces
// 1..1,024 (never 0) at a fee above the minimum, again and again, to one node. (The flood went to 4,096;
// admission refuses anything beyond mempool.MaxNonceGap outright, so this test signs only what could ever wait.)
const (
	gapSenders = 13
	gapNonces  = mempool.MaxNonceGap
	gapFee     = 10
)

// The gap flood once filled every mempool with transactions that could never apply (forwarded, kept 30 s, never
// evicted by the minimum fee), and 97 of 108 user submissions were refused "mempool full" while the attacker paid
// nothing. Now each attacking account holds at most mempool.MaxSenderWaiting transactions on any node, and the users'
// records are committed.
func TestGapFloodCannotCensor(t *testing.T) {
	slot := 500 * time.Millisecond
	stakes := []uint64{10, 10, 10}
	for range gapSenders {
		stakes = append(stakes, 0) // funded, no stake
	}
	c := newCluster(t, stakes, slot, 1500*time.Millisecond)
	c.start(0)
	c.start(1, 0)
	c.start(2, 0)
	nodes := []int{0, 1, 2}
	waitFor(t, 30*time.Second, "height 2", func() bool { return c.minHeight(nodes...) >= 2 })
	flooder := newAdversary(t, c, nil, 0)
	if err := flooder.WaitForTopics(testContext(t, 20*time.Second)); err != nil {
		t.Fatal(err)
	}
	attackers := c.keys[len(nodes):]
	var batches atomic.Int64
	ignoredBefore := gossipCount(c.nodes[0], "txs", "ignore")
	runAttack(t, "gap flood", func(ctx context.Context) error { return gapFlood(ctx, flooder, attackers, &batches) })

	perRound := int64(gapSenders * gapNonces / chain.MaxTxBatch)
	waitFor(t, 240*time.Second, "two rounds of the flood judged by node 0", func() bool {
		return gossipCount(c.nodes[0], "txs", "ignore")-ignoredBefore >= float64(2*perRound)
	})
	ctx := context.Background()
	submitted := map[chain.Hash]chain.Slot{}
	var ids []chain.Hash
	peak := make([]int, len(c.nodes))
	for i := range 30 {
		at := chain.Slot(c.status(0).Slot)
		id := c.submitBPM(i%3, 60+uint64(i))
		ids, submitted[id] = append(ids, id), at
		if i%5 == 0 {
			for _, k := range nodes {
				peak[k] = max(peak[k], heldFrom(t, c.nodes[k], attackers))
			}
		}
	}
	waitForCommitted(t, c, ids, nodes)
	worst := chain.Slot(0)
	for _, id := range ids {
		st, _ := c.nodes[0].Tx(ctx, id)
		b, _ := c.nodes[0].Block(ctx, st.Height)
		worst = max(worst, chain.Slot(b.Slot)-min(submitted[id], chain.Slot(b.Slot)))
	}
	for _, k := range nodes {
		peak[k] = max(peak[k], heldFrom(t, c.nodes[k], attackers))
	}
	judged := gossipCount(c.nodes[0], "txs", "ignore") - ignoredBefore
	paid := 0
	for _, k := range attackers {
		paid += int(c.account(0, chain.AddressOf(k.Public().(ed25519.PublicKey))).Nonce)
	}
	t.Logf("gap flood: %d batches of %d (%d senders × nonces 1..%d at fee %d) published, %.0f messages ignored by "+
		"node 0; attacker's transactions held at most %d on node 0, %d and %d on nodes 1 and 2 (bound %d); "+
		"attacker paid %d fees; %d user records committed, the slowest %d slots after its submission",
		batches.Load(), chain.MaxTxBatch, gapSenders, gapNonces, gapFee, judged, peak[0], peak[1], peak[2],
		gapSenders*mempool.MaxSenderWaiting, paid*gapFee, len(ids), worst)
	if peak[0] == 0 {
		t.Error("node 0 never held a transaction of the flood: it did not arrive")
	}
	for _, k := range nodes { // the adversary's flood publishing reaches the nodes that connect to it, too
		if peak[k] > gapSenders*mempool.MaxSenderWaiting {
			t.Errorf("node %d held %d of the attacker's transactions, more than %d senders × %d", k, peak[k],
				gapSenders, mempool.MaxSenderWaiting)
		}
	}
}

// gapFlood publishes, round after round until ctx ends, every attacker's BPM records with nonces 1..gapNonces in
// batches of chain.MaxTxBatch; each round shifts the batch boundaries, so that its messages are new to gossip
// although the transactions are the same.
func gapFlood(ctx context.Context, p *adversary.Peer, keys []ed25519.PrivateKey, batches *atomic.Int64) error {
	var all [][]chain.Tx
	for _, k := range keys {
		txs := make([]chain.Tx, gapNonces)
		for i := range txs {
			txs[i] = p.SignTx(k, chain.TxBPM, chain.Nonce(i+1), chain.Address{}, 70, gapFee)
		}
		all = append(all, txs)
	}
	for round := 0; ctx.Err() == nil; round++ {
		shift := round % chain.MaxTxBatch
		for _, txs := range all {
			for from := 0; from < len(txs); from += chain.MaxTxBatch {
				lo, hi := max(from-shift, 0), min(from-shift+chain.MaxTxBatch, len(txs))
				if from+chain.MaxTxBatch >= len(txs) {
					hi = len(txs)
				}
				for lo < hi {
					k := min(hi-lo, chain.MaxTxBatch)
					if err := p.PublishTxs(ctx, txs[lo:lo+k]); err != nil {
						return err
					}
					batches.Add(1)
					lo += k
				}
			}
		}
		select {
		case <-ctx.Done():
		case <-time.After(time.Second):
		}
	}
	return ctx.Err()
}

// heldFrom counts the transactions of the given keys in node n's mempool.
func heldFrom(t *testing.T, n *Node, keys []ed25519.PrivateKey) int {
	t.Helper()
	count := 0
	n.call(context.Background(), func() {
		for _, k := range keys {
			count += len(n.pool.From(chain.AddressOf(k.Public().(ed25519.PublicKey))))
		}
	})
	return count
}
