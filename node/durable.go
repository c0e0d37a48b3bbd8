package node

import (
	"context"

	"go.uber.org/zap"

	"github.com/posnode/posnode/chain"
	"github.com/posnode/posnode/node/pendinglog"
)

// ErrStorage: the node could not make something durable (the disk is full or failing); nothing of it was kept,
// and the same request can succeed once the disk does.
var ErrStorage = pendinglog.ErrStorage

// A user's transaction is acknowledged, proposed and gossiped only once it is durable in the pending-transaction
// log (pending.txs, PROTOCOL.md §11). Between admission and the log's fsync it is held: it is in the mempool, so that its nonce is taken and a second
// submission sees it, but proposals and gossip skip it. If the write fails, it leaves the mempool and the user
// hears ErrStorage; nothing of it reaches a block or a peer.

// held is the set of admitted transactions that are not durable yet; the event loop owns it.
type held map[chain.Hash]struct{}

// submit admits a locally made or API-posted transaction and appends it to the pending-transaction log, holding
// it until settle. Called on the event loop.
func (n *Node) submit(tx chain.Tx) (*pendinglog.Batch, error) {
	id := tx.ID()
	if err := n.hold(tx, id); err != nil {
		return nil, err
	}
	n.metrics.mempool.Set(float64(n.pool.Len()))
	return n.pendingLog.AppendID(tx, id), nil
}

// hold admits a transaction of this node's users into the mempool and holds it until it is durable in the
// pending-transaction log; the caller appends it to the log. Called on the event loop.
func (n *Node) hold(tx chain.Tx, id chain.Hash) error {
	if err := n.pool.AddLocalID(tx, id, n.tree.HeadState()); err != nil {
		return err
	}
	n.held[id] = struct{}{}
	n.followOwn(tx)
	return nil
}

// settle waits until the pending-transaction log has tx's batch on disk, then releases tx on the event loop:
// gossiped if durable, dropped from the mempool if not. It returns the log's error, wrapping ErrStorage. The release
// runs even when ctx is done (the user gave up waiting; the transaction must not stay held).
func (n *Node) settle(ctx context.Context, tx chain.Tx, b *pendinglog.Batch) error {
	err := n.pendingLog.Sync(b)
	if callErr := n.call(context.WithoutCancel(ctx), func() { n.release(tx, err) }); callErr != nil && err == nil {
		// The node stopped: tx is durable and the log restores it at the next start.
		n.log.Debug("node stopped before a durable transaction was released", zap.Stringer("tx", tx.ID()))
	}
	return err
}

// settleAll is settle for the transactions of one SubmitBatch, held on the loop and appended to the log in one
// batch b by the caller, off the loop (ids[i] is txs[i]'s ID): it waits for b, then releases all in one
// event-loop call. It returns the outcome of each, in the order of txs.
func (n *Node) settleAll(ctx context.Context, txs []chain.Tx, ids []chain.Hash, b *pendinglog.Batch) []error {
	errs := make([]error, len(txs))
	if len(txs) == 0 {
		return errs
	}
	err := n.pendingLog.Sync(b)
	for i := range errs {
		errs[i] = err
	}
	release := func() {
		for i, tx := range txs {
			n.releaseID(tx, ids[i], errs[i])
		}
	}
	if callErr := n.call(context.WithoutCancel(ctx), release); callErr != nil {
		n.log.Debug("node stopped before durable transactions were released", zap.Int("txs", len(txs)))
	}
	return errs
}

// release ends the hold on tx: it is gossiped if durable and still pending, dropped if its write failed.
func (n *Node) release(tx chain.Tx, err error) { n.releaseID(tx, tx.ID(), err) }

// releaseID is release for a transaction whose ID, tx.ID(), was computed off the loop.
func (n *Node) releaseID(tx chain.Tx, id chain.Hash, err error) {
	delete(n.held, id)
	if err != nil {
		n.forgetOwn(id)
		n.pool.Remove([]chain.Tx{tx})
		n.metrics.mempool.Set(float64(n.pool.Len()))
		n.log.Error("transaction refused: the pending-transaction log could not store it", zap.Stringer("tx", id), zap.Error(err))
		return
	}
	if n.pool.Has(id) {
		n.gossipTx(tx)
	}
}

// durableOnly returns txs without the held ones, and without any later transaction of a sender with a held one,
// which could not apply without it. Each sender's transactions must be in nonce order in txs.
func (n *Node) durableOnly(txs []chain.Tx) []chain.Tx {
	if len(n.held) == 0 {
		return txs
	}
	ids := make([]chain.Hash, len(txs))
	for i := range txs {
		ids[i] = txs[i].ID()
	}
	return n.durableOnlyIDs(txs, ids)
}

// durableOnlyIDs is durableOnly for transactions whose IDs the mempool gave (ids[i] is txs[i]'s): the loop hashes
// none of them.
func (n *Node) durableOnlyIDs(txs []chain.Tx, ids []chain.Hash) []chain.Tx {
	if len(n.held) == 0 {
		return txs
	}
	var blocked map[chain.Address]bool
	out := make([]chain.Tx, 0, len(txs))
	for i, tx := range txs {
		if _, ok := n.held[ids[i]]; ok || blocked[tx.From] {
			if blocked == nil {
				blocked = map[chain.Address]bool{}
			}
			blocked[tx.From] = true
			continue
		}
		out = append(out, tx)
	}
	return out
}
