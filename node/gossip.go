package node

import (
	"context"
	"errors"

	"go.uber.org/zap"

	"github.com/posnode/posnode/chain"
	"github.com/posnode/posnode/p2p"
)

// validateBlockMsg is the block topic's validator (PROTOCOL.md §10). Stateless checks and the signature run
// here, on the gossip goroutine; the event loop then imports the block, and the outcome decides whether gossip
// passes it on: Reject only what is provably bad, Ignore what is known or cannot be judged yet. A valid block is
// accepted in memory and passed on before it reaches the disk (PROTOCOL.md §11).
func (n *Node) validateBlockMsg(ctx context.Context, from string, data []byte) p2p.Verdict {
	b, err := chain.DecodeBlock(data)
	if err == nil {
		err = b.ValidateBasic()
	}
	if err == nil {
		err = b.Verify(n.chainID)
	}
	if err != nil {
		n.log.Info("rejected gossiped block", zap.String("peer", from), zap.Error(err))
		return n.verdict("blocks", p2p.Reject)
	}
	var v p2p.Verdict
	callErr := n.call(ctx, func() { v = n.blockVerdict(b, from) })
	if callErr != nil {
		return n.verdict("blocks", p2p.Ignore)
	}
	return n.verdict("blocks", v)
}

// blockVerdict imports a gossiped block on the event loop and grades the result. Its signature has verified, so
// if it is signed with this node's key and new here, another process holds the key, whether the block is valid
// or not.
func (n *Node) blockVerdict(b *chain.Block, from string) p2p.Verdict {
	if !n.tree.Has(b.Hash()) {
		n.checkOwnKey(b)
	}
	err := n.importBlock(b)
	switch {
	case err == nil:
		return p2p.Accept
	case errors.Is(err, chain.ErrKnownBlock), errors.Is(err, chain.ErrFutureSlot), errors.Is(err, chain.ErrTooManyVersions):
		return p2p.Ignore // a third version of a proposer's slot is the proposer's fault, not the relay's
	case errors.Is(err, chain.ErrStoreFailed): // ErrFlushBehind: the chain database has failed for a while (flush.go)
		n.log.Error("could not accept a gossiped block", zap.Stringer("hash", b.Hash()), zap.Error(err))
		return p2p.Ignore // the sender did nothing wrong
	case errors.Is(err, chain.ErrUnknownParent):
		// We are behind or on another branch: fetch the ancestors from the peer that sent it. We cannot judge
		// the block yet, so we do not forward it; peers that know its parent do.
		n.requestSync(from)
		return p2p.Ignore
	default:
		n.log.Info("rejected gossiped block", zap.String("peer", from), zap.Uint64("slot", uint64(b.Header.Slot)),
			zap.Stringer("hash", b.Hash()), zap.Error(err))
		return p2p.Reject
	}
}

// validateTxMsg is the transaction topic's validator: stateless checks, a first check against the published head
// (precheckTx) and the signature here, admission to the mempool on the event loop. A transaction the mempool does
// not admit is ignored (it may apply on another node's state), except a fee below the minimum, which no state
// makes valid (PROTOCOL.md §3, §10).
func (n *Node) validateTxMsg(ctx context.Context, from string, data []byte) p2p.Verdict {
	tx, err := chain.DecodeTx(data)
	if err == nil {
		err = tx.ValidateBasic()
	}
	if err != nil {
		n.log.Debug("rejected gossiped transaction", zap.String("peer", from), zap.Error(err))
		return n.verdict("txs", p2p.Reject)
	}
	if v, ok := n.precheckTx(&tx); !ok {
		return n.verdict("txs", v)
	}
	if err := n.sigs.Verify(&tx); err != nil {
		n.log.Debug("rejected gossiped transaction", zap.String("peer", from), zap.Error(err))
		return n.verdict("txs", p2p.Reject)
	}
	v := p2p.Ignore
	n.call(ctx, func() {
		if n.pool.Add(tx, n.tree.HeadState()) == nil {
			n.metrics.mempool.Set(float64(n.pool.Len()))
			v = p2p.Accept
		}
	})
	return n.verdict("txs", v)
}

func (n *Node) verdict(topic string, v p2p.Verdict) p2p.Verdict {
	n.metrics.gossip.WithLabelValues(topic, v.String()).Inc()
	return v
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
	case a.Balance == 0 && a.Stake == 0, tx.Nonce < a.Nonce, tx.Nonce-a.Nonce >= maxSenderTxs+maxNonceGap:
		return p2p.Ignore, false
	}
	return p2p.Accept, true
}
