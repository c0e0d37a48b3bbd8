package node

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/posnode/posnode/chain"
	"github.com/posnode/posnode/node/view"
)

// The transaction routes ask the event loop only what it alone holds, in one short call of map lookups: the
// mempool (by ID, or one bucket of its prefix index), the dropped log, and the blocks accepted and not yet stored.
// The store's transaction index, the blocks themselves and their place on the canonical chain (the read
// snapshot, readindex.go) are read off the loop.

// poolLook is what one loop call finds of a transaction ID, or of a prefix, in what only the loop holds.
type poolLook struct {
	pending  *chain.Tx    // the transaction, pending in the mempool
	wasDrop  bool         // the mempool dropped it because it could no longer apply
	dropped  string       // why
	unstored []chain.Hash // blocks accepted, not yet stored, that hold it (chain.Tree.UnflushedTxBlocks)
}

// lookTx asks the event loop for id: pending, dropped, in unstored blocks. A block leaves the unstored queue
// only once stored, so the store, read after this call, holds every block this call did not name.
func (n *Node) lookTx(ctx context.Context, id chain.Hash) (poolLook, error) {
	var l poolLook
	err := n.call(ctx, func() {
		if tx, ok := n.pool.Get(id); ok {
			l.pending = &tx
			return
		}
		l.unstored = n.tree.UnflushedTxBlocks(id)
		l.dropped, l.wasDrop = n.pool.DropReason(id)
	})
	return l, err
}

// Tx finds a transaction in the mempool, on the canonical chain, or among the transactions the mempool recently
// dropped because they could no longer apply (with the reason). A committed transaction is read from its block
// off the event loop; its status is the read snapshot's (committed, or finalized at or below the finalized
// checkpoint's block). Errors: ErrNotFound, the store's, the context's.
func (n *Node) Tx(ctx context.Context, id chain.Hash) (TxStatus, error) {
	l, err := n.lookTx(ctx, id)
	if err != nil {
		return TxStatus{}, err
	}
	if l.pending != nil {
		v := viewTx(*l.pending)
		return TxStatus{ID: id, Status: "pending", Tx: &v}, nil
	}
	st, found, err := n.committedTx(ctx, id, l.unstored)
	switch {
	case err != nil:
		return TxStatus{}, err
	case found:
		return st, nil
	case l.wasDrop:
		return TxStatus{ID: id, Status: "dropped", Reason: l.dropped}, nil
	}
	return TxStatus{}, fmt.Errorf("%w: transaction %s", ErrNotFound, id)
}

// committedTx finds id in a canonical block among unstored and the stored blocks that hold it, off the loop.
func (n *Node) committedTx(ctx context.Context, id chain.Hash, unstored []chain.Hash) (TxStatus, bool, error) {
	snap, err := n.readSnapshot(ctx)
	if err != nil {
		return TxStatus{}, false, err
	}
	stored, err := n.store.TxBlocks(id)
	if err != nil && !errors.Is(err, chain.ErrNotFound) {
		return TxStatus{}, false, err
	}
	for _, h := range append(unstored, stored...) {
		b, err := n.readBlock(ctx, h)
		if errors.Is(err, ErrNotFound) {
			continue // dropped from the tree between the lookups: not canonical
		}
		if err != nil {
			return TxStatus{}, false, err
		}
		height := b.Header.Height
		if !snap.canonical(h, height) {
			continue
		}
		st := TxStatus{ID: id, Status: "committed", Height: uint64(height), Block: &h, Tx: txOf(b, id)}
		if snap.finality(height) == view.BlockFinal {
			st.Status = "finalized"
		}
		return st, true, nil
	}
	return TxStatus{}, false, nil
}

// txOf returns transaction id of block b; nil if b does not hold it.
func txOf(b *chain.Block, id chain.Hash) *TxView {
	for _, tx := range b.Txs {
		if tx.ID() == id {
			v := viewTx(tx)
			return &v
		}
	}
	return nil
}

// FindTx finds a transaction by its ID or by a prefix of it of at least MinTxPrefix hex digits, among the
// pending transactions and the blocks the node holds. The loop answers from the mempool's prefix index and the
// unstored blocks; the store's index is searched off it. Errors: ErrBadTxPrefix, ErrNotFound,
// view.ErrAmbiguous when the prefix matches more than one transaction.
func (n *Node) FindTx(ctx context.Context, prefix string) (TxStatus, error) {
	prefix = strings.ToLower(prefix)
	even, err := hexPrefix(prefix, ErrBadTxPrefix)
	if err != nil {
		return TxStatus{}, err
	}
	var ids []chain.Hash
	err = n.call(ctx, func() {
		ids = append(n.pool.IDsWith(even, maxPrefixMatches), n.tree.UnflushedTxIDs(even, maxPrefixMatches)...)
	})
	if err != nil {
		return TxStatus{}, err
	}
	stored, err := n.store.TxIDs(even, maxPrefixMatches) // after the loop call: a block it missed is stored
	if err != nil {
		return TxStatus{}, err
	}
	switch matches := matching(slices.Concat(ids, stored), prefix); len(matches) {
	case 0:
		return TxStatus{}, fmt.Errorf("%w: no transaction %s", ErrNotFound, prefix)
	case 1:
		st, err := n.Tx(ctx, matches[0])
		if errors.Is(err, ErrNotFound) { // gone between the lookups, or only in an orphaned block
			err = fmt.Errorf("%w: no transaction %s", ErrNotFound, prefix)
		}
		return st, err
	default:
		return TxStatus{}, fmt.Errorf("%w: %d transactions start with %s; give more digits", view.ErrAmbiguous,
			len(matches), prefix)
	}
}
