package node

import (
	"context"
	"errors"
	"fmt"
	"math"

	"github.com/posnode/posnode/chain"
	"github.com/posnode/posnode/node/mempool"
	"github.com/posnode/posnode/node/pendinglog"
	"github.com/posnode/posnode/node/view"
)

// Submit admits a transaction signed elsewhere (PROTOCOL.md §3), and returns once it is durable in the pending-transaction log;
// only then is it gossiped or proposed. Errors are of the kinds view.ErrInvalidTx, view.ErrBusy (mempool full,
// mempool.ErrPoolFull; or the log cannot store it, ErrStorage, and then nothing of it is kept) or view.ErrStopped,
// with the cause in the message.
func (n *Node) Submit(ctx context.Context, tx chain.Tx) (chain.Hash, error) {
	if err := tx.ValidateBasic(); err != nil {
		return chain.Hash{}, refused(err)
	}
	if err := n.sigs.Verify(&tx); err != nil {
		return chain.Hash{}, refused(err)
	}
	var b *pendinglog.Batch
	var err error
	if callErr := n.call(ctx, func() { b, err = n.submit(tx) }); callErr != nil {
		return chain.Hash{}, callErr
	}
	if err != nil {
		return chain.Hash{}, refused(err)
	}
	if err := n.settle(ctx, tx, b); err != nil {
		return chain.Hash{}, view.Classed(view.ErrBusy, err)
	}
	return tx.ID(), nil
}

// SubmitOwn signs a transaction of the node's own account with the next free nonce and submits it. Value-moving
// kinds are checked against the head's balances first, so a user hears at once that a stake is too large, and
// nothing that can never apply (ErrAmountOverflow) is signed. Errors as for Submit; once another process was seen
// signing with the node's key it fails with ErrDoppelganger; after a start without its chain database, until the
// node has synced, with ErrNotSynced (view.ErrBusy).
func (n *Node) SubmitOwn(ctx context.Context, kind chain.TxKind, to chain.Address, value uint64) (chain.Hash, error) {
	var tx chain.Tx
	var b *pendinglog.Batch
	var err error
	var behind bool
	callErr := n.call(ctx, func() {
		if n.doppelganger != "" {
			err = fmt.Errorf("%w: %s", ErrDoppelganger, n.doppelganger)
			return
		}
		if behind = n.ownNonceUnknown || !n.ownNonceStored(); behind {
			return
		}
		st := n.tree.HeadState()
		nonce, skipped := n.nextNonce(n.self, st)
		if skipped {
			n.offerPendingAgain()
		}
		tx = chain.Tx{Kind: kind, From: n.self, Nonce: nonce, To: to, Value: value, Fee: n.cfg.Genesis.TxFee}
		if err = tx.ValidateBasic(); err != nil {
			return
		}
		if err = affordable(st.Account(n.self), tx); err != nil {
			return
		}
		tx.Sign(n.chainID, n.key)
		b, err = n.submit(tx)
	})
	if callErr != nil {
		return chain.Hash{}, callErr
	}
	if behind {
		return chain.Hash{}, view.Classed(view.ErrBusy, fmt.Errorf("%w: the node started without its chain "+
			"database and does not know the account's next nonce until it has; try again in a moment", ErrNotSynced))
	}
	if err != nil {
		return chain.Hash{}, refused(err)
	}
	if err := n.settle(ctx, tx, b); err != nil {
		return chain.Hash{}, view.Classed(view.ErrBusy, err)
	}
	return tx.ID(), nil
}

// ErrNotSynced: the node started without its chain database (moved aside, deleted) and has not caught up with the
// network since. Until it has, it does not know its own account's next nonce: the transactions a finalized block
// holds have left the pending-transaction log, so a transaction it signed now could take a nonce a block already
// used, and never apply (PROTOCOL.md §11). The simulator found it (sim/simnet: a restart without chain.db, then a
// record).
var ErrNotSynced = errors.New("not caught up with the network yet")

// refused classes a submission's error for the surfaces: a full mempool is worth a retry, anything else is the
// transaction's fault. The message stays the cause's own, so that it carries one prefix.
func refused(err error) error {
	if errors.Is(err, mempool.ErrPoolFull) {
		return view.Classed(view.ErrBusy, err)
	}
	return view.Classed(view.ErrInvalidTx, err)
}

// affordable is a friendly early check; the ledger (State.ApplyTx) remains the rule. A value whose sum with the
// fee overflows is refused here, before anything is signed.
func affordable(a chain.Account, tx chain.Tx) error {
	need := uint64(tx.Fee)
	if tx.Kind == chain.TxTransfer || tx.Kind == chain.TxStake {
		if tx.Value > math.MaxUint64-need {
			return fmt.Errorf("%w: %d + fee %d > %d", ErrAmountOverflow, tx.Value, need, uint64(math.MaxUint64))
		}
		need += tx.Value
	}
	if uint64(a.Balance) < need {
		return fmt.Errorf("%w: need %d, balance is %d", chain.ErrInsufficientBalance, need, a.Balance)
	}
	if tx.Kind == chain.TxUnstake && uint64(a.Stake) < tx.Value {
		return fmt.Errorf("%w: unstake %d, stake is %d", chain.ErrInsufficientStake, tx.Value, a.Stake)
	}
	return nil
}

// SubmitBatch admits up to chain.MaxTxBatch transactions signed elsewhere, as Submit does each, with one
// signature batch, one event-loop call and one log sync for all, and returns once the admitted ones are
// durable. errs has one entry per transaction, in the order of txs: nil for a transaction admitted and durable,
// otherwise why it is not kept, of the kinds Submit returns (view.ErrInvalidTx, view.ErrBusy); once one
// transaction of a sender is refused for a full mempool, so are the sender's later ones in the batch, so that a
// client can send them all again. err is for the batch as a whole, and errs is then nil: view.ErrInvalidTx for
// more than chain.MaxTxBatch transactions, view.ErrStopped.
func (n *Node) SubmitBatch(ctx context.Context, txs []chain.Tx) (errs []error, err error) {
	if len(txs) > chain.MaxTxBatch {
		return nil, view.Classed(view.ErrInvalidTx, fmt.Errorf("%d transactions in one batch, at most %d", len(txs), chain.MaxTxBatch))
	}
	errs = make([]error, len(txs))
	n.checkSigs(txs, errs)
	ids := make([]chain.Hash, len(txs)) // hashed here, off the event loop
	for i := range txs {
		ids[i] = txs[i].ID()
	}
	var admitted []int
	callErr := n.call(ctx, func() {
		full := map[chain.Address]bool{} // senders with a transaction refused for a full pool
		for i, tx := range txs {
			if errs[i] != nil {
				continue
			}
			if full[tx.From] {
				// Its later nonces could not apply before it; a retry of the rest is worth as much.
				errs[i] = refused(fmt.Errorf("%w: an earlier transaction of the sender in this batch was refused", mempool.ErrPoolFull))
				continue
			}
			if err := n.hold(tx, ids[i]); err != nil {
				full[tx.From] = errors.Is(err, mempool.ErrPoolFull)
				errs[i] = refused(err)
				continue
			}
			admitted = append(admitted, i)
		}
		n.metrics.mempool.Set(float64(n.pool.Len()))
	})
	if callErr != nil {
		return nil, callErr
	}
	held, heldIDs := make([]chain.Tx, len(admitted)), make([]chain.Hash, len(admitted))
	for k, i := range admitted {
		held[k], heldIDs[k] = txs[i], ids[i]
	}
	// Appended here, off the loop: the records are held (in the mempool, neither proposed nor gossiped) until
	// the log has them on disk, whatever the order in which concurrent batches reach it (the log is read back
	// sorted by sender and nonce).
	var b *pendinglog.Batch
	if len(held) > 0 {
		b = n.pendingLog.AppendIDs(held, heldIDs)
	}
	for k, err := range n.settleAll(ctx, held, heldIDs, b) {
		if err != nil {
			errs[admitted[k]] = view.Classed(view.ErrBusy, err)
		}
	}
	return errs, nil
}

// checkSigs runs the stateless checks of txs and verifies the signatures of those that pass in one batch,
// setting errs[i] for each that fails. A batch with a bad signature is checked again one by one, to name it.
func (n *Node) checkSigs(txs []chain.Tx, errs []error) {
	valid := make([]chain.Tx, 0, len(txs))
	for i := range txs {
		if errs[i] = txs[i].ValidateBasic(); errs[i] == nil {
			valid = append(valid, txs[i])
		} else {
			errs[i] = refused(errs[i])
		}
	}
	if n.sigs.VerifyAll(valid) == nil {
		return
	}
	for i := range txs {
		if errs[i] == nil {
			if err := n.sigs.Verify(&txs[i]); err != nil {
				errs[i] = refused(err)
			}
		}
	}
}
