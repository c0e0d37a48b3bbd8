package node

import (
	"context"
	"time"

	"go.uber.org/zap"

	"github.com/posnode/posnode/chain"
	"github.com/posnode/posnode/node/mempool"
	"github.com/posnode/posnode/p2p"
)

// txFlushAfter is how long a durable transaction of this node's users may wait in the outbox for others to share
// its gossip message (PROTOCOL.md §10). A full batch (chain.MaxTxBatch) goes at once.
const txFlushAfter = 20 * time.Millisecond

// outbox gathers the transactions this node gossips, so that many share one message: one validation, one
// signature batch and one event-loop call on every peer, instead of one each. The event loop owns it.
type outbox struct {
	txs   []chain.Tx
	timer *Timer // armed while txs is not empty
}

// gossipTx queues tx for the transaction topic; called on the event loop.
func (n *Node) gossipTx(tx chain.Tx) {
	o := &n.txOut
	o.txs = append(o.txs, tx)
	switch {
	case len(o.txs) >= chain.MaxTxBatch:
		n.flushTxs()
	case len(o.txs) == 1:
		o.timer = n.after(txFlushAfter, n.flushTxs)
	}
}

// flushTxs publishes the queued transactions in messages of at most chain.MaxTxBatch; called on the event loop.
func (n *Node) flushTxs() {
	o := &n.txOut
	for len(o.txs) > 0 {
		k := min(len(o.txs), chain.MaxTxBatch)
		n.publish(n.txTopic, chain.EncodeTxBatch(o.txs[:k]))
		o.txs = o.txs[k:]
	}
	o.txs = nil
	o.timer.Stop()
	o.timer = nil
}

// validateTxMsg is the transaction topic's validator (PROTOCOL.md §10). A message is a batch of transactions:
// stateless checks, a first check of each against the published head (precheckTx) and one signature batch run
// here, admission to the mempool in one event-loop call, after the earlier batches of the same senders (txOrder).
// A message with any transaction that no state makes valid — malformed, failing a stateless check, a fee below
// the minimum, or a bad signature among those the precheck keeps (the others are not verified) — is rejected
// whole: an honest node never forwards one. Otherwise it is accepted, and forwarded, if the mempool admits at
// least one of its transactions into its sender's run, where it can apply next; a message whose admitted
// transactions all wait behind a nonce gap, or that admits none, is ignored (PROTOCOL.md §3).
func (n *Node) validateTxMsg(ctx context.Context, from string, data []byte) p2p.Verdict {
	txs, err := chain.DecodeTxBatch(data)
	for i := 0; err == nil && i < len(txs); i++ {
		err = txs[i].ValidateBasic()
	}
	if err != nil {
		n.log.Debug("rejected gossiped transactions", zap.String("peer", from), zap.Error(err))
		return n.verdict("txs", p2p.Reject)
	}
	todo := txs[:0]
	for i := range txs {
		v, ok := n.precheckTx(&txs[i])
		if v == p2p.Reject {
			return n.verdict("txs", p2p.Reject)
		}
		if ok {
			todo = append(todo, txs[i])
		}
	}
	if len(todo) == 0 {
		return n.verdict("txs", p2p.Ignore)
	}
	turn := n.txOrder.Enter(todo)
	defer n.txOrder.Leave(turn)
	if err := n.sigs.VerifyAll(todo); err != nil {
		n.log.Debug("rejected gossiped transactions", zap.String("peer", from), zap.Error(err))
		return n.verdict("txs", p2p.Reject)
	}
	n.txOrder.Wait(ctx, turn)
	v := p2p.Ignore
	n.call(ctx, func() {
		st := n.tree.HeadState()
		for _, tx := range todo {
			if waiting, err := n.pool.AddGossiped(tx, st); err == nil && !waiting {
				v = p2p.Accept
			}
		}
		n.metrics.mempool.Set(float64(n.pool.Len()))
	})
	return n.verdict("txs", v)
}

// precheckTx judges a gossiped transaction against the published head before its signature is checked or the
// event loop is asked: one whose sender has no account, whose nonce is used or far beyond the account's, or
// whose fee is below the minimum, costs neither (a flood of them must not slow the node). ok is false with the
// verdict when the transaction is refused; the mempool checks everything again on the loop.
func (n *Node) precheckTx(tx *chain.Tx) (v p2p.Verdict, ok bool) {
	if tx.Fee < n.cfg.Genesis.TxFee {
		return p2p.Reject, false // below genesis tx_fee: invalid on every node, whatever its state (PROTOCOL.md §3)
	}
	a := n.head.Load().state.Account(tx.From)
	switch {
	case a.Balance == 0 && a.Stake == 0, tx.Nonce < a.Nonce, tx.Nonce-a.Nonce >= mempool.MaxSenderTxs+mempool.MaxNonceGap:
		return p2p.Ignore, false
	}
	return p2p.Accept, true
}
