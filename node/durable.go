package node

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"slices"

	"go.uber.org/zap"

	"github.com/posnode/posnode/chain"
)

// A user's transaction is acknowledged, proposed and gossiped only once it is durable in the journal. Between
// admission and the journal's fsync it is held: it is in the mempool, so that its nonce is taken and a second
// submission sees it, but proposals and gossip skip it. If the write fails, it leaves the mempool and the user
// hears ErrStorage; nothing of it reaches a block or a peer.

// held is the set of admitted transactions that are not durable yet; the event loop owns it.
type held map[chain.Hash]struct{}

// submit admits a locally made or API-posted transaction and appends it to the journal, holding it until
// settle. Called on the event loop.
func (n *Node) submit(tx chain.Tx) (*batch, error) {
	if err := n.pool.AddLocal(tx, n.tree.HeadState()); err != nil {
		return nil, err
	}
	n.held[tx.ID()] = struct{}{}
	n.metrics.mempool.Set(float64(n.pool.Len()))
	return n.journal.Append(tx), nil
}

// settle waits until the journal has tx's batch on disk, then releases tx on the event loop: gossiped if
// durable, dropped from the mempool if not. It returns the journal's error, wrapping ErrStorage. The release
// runs even when ctx is done (the user gave up waiting; the transaction must not stay held).
func (n *Node) settle(ctx context.Context, tx chain.Tx, b *batch) error {
	err := n.journal.Sync(b)
	if callErr := n.call(context.WithoutCancel(ctx), func() { n.release(tx, err) }); callErr != nil && err == nil {
		// The node stopped: tx is durable and the journal restores it at the next start.
		n.log.Debug("node stopped before a durable transaction was released", zap.Stringer("tx", tx.ID()))
	}
	return err
}

// settleAll is settle for the transactions of one SubmitBatch: it waits for each journal batch that holds one of
// them (at most a few: the event loop appended them in one go), then releases all in one event-loop call, each
// with its own batch's outcome. It returns those outcomes, in the order of txs.
func (n *Node) settleAll(ctx context.Context, txs []chain.Tx, in []*batch) []error {
	errs := make([]error, len(txs))
	synced := map[*batch]error{}
	for i, b := range in {
		err, ok := synced[b]
		if !ok {
			err = n.journal.Sync(b)
			synced[b] = err
		}
		errs[i] = err
	}
	if len(txs) == 0 {
		return errs
	}
	release := func() {
		for i, tx := range txs {
			n.release(tx, errs[i])
		}
	}
	if callErr := n.call(context.WithoutCancel(ctx), release); callErr != nil {
		n.log.Debug("node stopped before durable transactions were released", zap.Int("txs", len(txs)))
	}
	return errs
}

// release ends the hold on tx: it is gossiped if durable and still pending, dropped if its write failed.
func (n *Node) release(tx chain.Tx, err error) {
	id := tx.ID()
	delete(n.held, id)
	if err != nil {
		n.pool.Remove([]chain.Tx{tx})
		n.metrics.mempool.Set(float64(n.pool.Len()))
		n.log.Error("transaction refused: the journal could not store it", zap.Stringer("tx", id), zap.Error(err))
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
	var blocked map[chain.Address]bool
	out := make([]chain.Tx, 0, len(txs))
	for _, tx := range txs {
		if _, ok := n.held[tx.ID()]; ok || blocked[tx.From] {
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

// restorePending puts the journal's transactions back into the mempool, each checked like a transaction from a
// peer (stateless rules, signature on this chain, admission against the head) so that a damaged or foreign entry
// is dropped rather than gossiped. They are admitted sender by sender in nonce order, whatever their order in the
// journal, so that none waits behind a gap another one fills. Transactions a block holds by now are dropped
// quietly.
func (n *Node) restorePending(pending []chain.Tx) {
	pending = slices.Clone(pending)
	slices.SortStableFunc(pending, func(a, b chain.Tx) int {
		if c := bytes.Compare(a.From[:], b.From[:]); c != 0 {
			return c
		}
		return cmp.Compare(a.Nonce, b.Nonce)
	})
	restored, dropped := 0, 0
	for _, tx := range pending {
		err := tx.ValidateBasic()
		if err == nil {
			err = n.sigs.Verify(&tx)
		}
		if err == nil {
			err = n.pool.AddLocal(tx, n.tree.HeadState())
		}
		switch {
		case err == nil:
			restored++
		case errors.Is(err, ErrStaleTx), errors.Is(err, ErrDuplicateTx):
		default:
			dropped++
			n.log.Warn("journal entry dropped", zap.Stringer("tx", tx.ID()), zap.Error(err))
		}
	}
	if restored > 0 || dropped > 0 {
		n.log.Info("restored pending transactions", zap.Int("txs", restored), zap.Int("dropped", dropped))
	}
}
