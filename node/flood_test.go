package node

import (
	"context"
	"crypto/ed25519"
	"errors"
	"testing"
	"time"

	"github.com/posnode/posnode/chain"
	"github.com/posnode/posnode/internal/adversary"
	"github.com/posnode/posnode/node/mempool"
)

// unapplicable counts the transactions in node n's mempool that cannot apply on its head in order: those that
// fail the ledger, and those behind a nonce gap.
func unapplicable(t *testing.T, n *Node) (bad, total int) {
	t.Helper()
	n.call(context.Background(), func() {
		st := n.tree.HeadState().Clone()
		for _, a := range n.pool.Senders() {
			txs := n.pool.From(a)
			applied := 0
			for i := range txs {
				if txs[i].Nonce != st.Account(a).Nonce || st.ApplyTx(&txs[i]) != nil {
					break
				}
				applied++
			}
			bad += len(txs) - applied
		}
		total = n.pool.Len()
	})
	return bad, total
}

// Class 2: six fresh keys without an account send nonces 1..9,999 each (59,994 records that can never apply),
// and a funded user's record paying less than the minimum fee is gossiped. Every node once admitted and forwarded
// such a flood, its users got 503 "mempool full", and a user's overspending transfer ahead of its BPM records made
// the proposer drop the records, though every step was acknowledged. Now none of the flood is admitted, the
// transfer is refused at submission with the reason, and every honest record is committed once.
func TestMempoolFloodIsRefused(t *testing.T) {
	slot := 500 * time.Millisecond
	c := newCluster(t, []uint64{10, 10, 10, 0}, slot, 1500*time.Millisecond) // key 3: a funded user, no node
	c.start(0)
	c.start(1, 0)
	c.start(2, 0)
	all := []int{0, 1, 2}
	waitFor(t, 30*time.Second, "height 2", func() bool { return c.minHeight(all...) >= 2 })
	flooder := newAdversary(t, c, nil, 0)
	if err := flooder.WaitForTopics(testContext(t, 20*time.Second)); err != nil {
		t.Fatal(err)
	}
	var flood adversary.FloodStats
	runAttack(t, "flood", func(ctx context.Context) error { return flooder.Flood(ctx, 6, 9_999, 5_000, &flood) })

	ctx, user := context.Background(), c.keys[3]
	low := flooder.TxWithFee(user, 0, c.gen.TxFee-1)
	if err := flooder.PublishTx(ctx, low); err != nil {
		t.Fatal(err)
	}
	submitted, at := map[chain.Hash]chain.Slot{}, chain.Slot(c.status(0).Slot)
	honest := c.userRecordsBehindAnOverspend(flooder, user)
	for _, id := range honest {
		submitted[id] = at
	}
	for i := range 9 {
		at := chain.Slot(c.status(0).Slot)
		id := c.submitBPM(i%3, 60+uint64(i))
		honest, submitted[id] = append(honest, id), at
	}
	waitForCommitted(t, c, honest, all)
	worst := chain.Slot(0)
	for _, id := range honest {
		st, _ := c.nodes[0].Tx(ctx, id)
		b, _ := c.nodes[0].Block(ctx, st.Height)
		worst = max(worst, chain.Slot(b.Slot)-min(submitted[id], chain.Slot(b.Slot)))
	}
	// The flood's pace is the machine's: signing and gossiping 59,994 records took 4 minutes on a loaded 2-core
	// race-detector run, so the waits are bounded by a lack of progress instead of a total.
	waitForProgress(t, 30*time.Second, "the whole flood to be sent", flood.Sent.Load, func() bool {
		return flood.Sent.Load() >= 6*9_999
	})
	// Every flood message is ignored by node 0, whether its records are refused or (a defect) admitted behind their
	// nonce gap; the mempools are read once it has ignored as many messages as the flood sent (a handful of the
	// ignored are honest batches it already held), so none is still in validation.
	ignored := func() int64 { return int64(gossipCount(c.nodes[0], "txs", "ignore")) }
	waitForProgress(t, 30*time.Second, "node 0 to judge the whole flood", ignored, func() bool {
		return ignored() >= flood.Sent.Load()
	})
	for _, i := range all {
		bad, total := unapplicable(t, c.nodes[i])
		t.Logf("node %d: mempool holds %d transactions, %d of which cannot apply", i, total, bad)
		if bad > 0 {
			t.Errorf("node %d holds %d transactions that cannot apply", i, bad)
		}
	}
	if st, err := c.nodes[0].Tx(ctx, low.ID()); err == nil {
		t.Errorf("the record below the minimum fee is known to node 0: %+v", st)
	}
	t.Logf("flood: %d records from 6 fresh keys sent, %.0f judged by node 0 and none admitted; %d honest records "+
		"committed, the slowest %d slots after its submission", flood.Sent.Load(), gossipCount(c.nodes[0], "txs", "ignore"),
		len(honest), worst)
}

// userRecordsBehindAnOverspend has the funded user key submit, through node 0, BPM records with nonces 1..5
// (waiting for nonce 0), then a transfer at nonce 0 that would leave too little for their fees, which must be
// refused with the reason, then the record at nonce 0. It returns the six records' IDs.
func (c *cluster) userRecordsBehindAnOverspend(p *adversary.Peer, user ed25519.PrivateKey) []chain.Hash {
	c.t.Helper()
	ctx := context.Background()
	var ids []chain.Hash
	for nonce := chain.Nonce(1); nonce <= 5; nonce++ {
		id, err := c.nodes[0].Submit(ctx, p.SignTx(user, chain.TxBPM, nonce, chain.Address{}, 70, c.gen.TxFee))
		if err != nil {
			c.t.Fatalf("record %d: %v", nonce, err)
		}
		ids = append(ids, id)
	}
	balance := uint64(c.gen.Allocations[3].Balance)
	overspend := p.SignTx(user, chain.TxTransfer, 0, c.nodes[1].Address(), balance-uint64(c.gen.TxFee)-2, c.gen.TxFee)
	_, err := c.nodes[0].Submit(ctx, overspend)
	c.t.Logf("transfer ahead of 5 pending records, leaving 2 tokens for their fees: %v", err)
	if !errors.Is(err, mempool.ErrBreaksLater) {
		c.t.Fatalf("the transfer that starves the records: got %v, want mempool.ErrBreaksLater", err)
	}
	id, err := c.nodes[0].Submit(ctx, p.SignTx(user, chain.TxBPM, 0, chain.Address{}, 70, c.gen.TxFee))
	if err != nil {
		c.t.Fatalf("record 0: %v", err)
	}
	return append(ids, id)
}
