package node

import (
	"bytes"
	"cmp"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"time"

	"go.uber.org/zap"

	"github.com/posnode/posnode/chain"
	"github.com/posnode/posnode/node/mempool"
	"github.com/posnode/posnode/node/pendinglog"
)

// The pending-transaction log (pending.txs, package pendinglog) holds every transaction this node must not forget
// until a finalized block holds it (PROTOCOL.md §11): what its users submitted (durable before it is acknowledged,
// durable.go) and what a reorg returned to the mempool, whoever signed it. An entry leaves the log only when the
// sender's nonce in the state of the finalized checkpoint has passed the entry's nonce: then either a finalized
// block holds the entry itself, or a different transaction of the sender with that nonce is final and the entry can
// never apply. Nothing else removes an entry that could still apply: not a block that is not final (a reorg can
// revert it), not the mempool dropping it (a later head can admit it again), not a restart.

// pendingSlack is how many entries that may leave the log wait for its rewrite: each rewrite writes every entry
// kept, so they are dropped in bulk.
const pendingSlack = 4096

// pendingState is the event loop's bookkeeping of the log.
type pendingState struct {
	checked chain.Checkpoint // the finalized checkpoint the log was last checked against
	busy    bool             // a check runs off the loop (compactPending)
	offered time.Time        // when offerPendingAgain last asked for a check
}

// offerEvery is the least time between two checks offerPendingAgain asks for: a user submitting records without
// pause while a logged one stays out of the mempool (its sender's balance no longer covers it) would otherwise
// have the log walked after every record.
const offerEvery = time.Second

// openPending opens the log and puts its transactions back into the mempool (restorePending).
func (n *Node) openPending() error {
	path := filepath.Join(n.cfg.Data, "pending.txs")
	// A node that ran here before (its log exists) and whose chain holds no block has lost its chain.db: it does
	// not know its own account's nonce until it has synced (SubmitOwn, ErrNotSynced). The chain.db it then builds
	// keeps a mark of it until it stores a synced head (ownNonceStored): killed before, it is no better than none.
	mark, err := n.store.Meta(metaOwnNonceUnknown)
	if err != nil {
		return err
	}
	if _, err := os.Stat(path); err == nil && (n.tree.Head().Height == 0 || len(mark) > 0) {
		n.ownNonceUnknown, n.ownNonceMarked = true, true
		if err := n.store.PutMeta(metaOwnNonceUnknown, []byte{1}); err != nil {
			return err
		}
	}
	l, txs, err := pendinglog.Open(path, func(bytes int, reason error) {
		n.log.Warn("pending-transaction log: cut off a torn tail left by a crash", zap.String("file", path),
			zap.Int("bytes", bytes), zap.Error(reason))
	})
	if err != nil {
		return err
	}
	if n.cfg.DiskFault != nil {
		l.SetFault(n.cfg.DiskFault)
	}
	n.pendingLog = l
	n.restorePending(txs)
	return nil
}

// metaOwnNonceUnknown is chain.db's mark that the node started without its chain and has not stored a head synced
// with a peer since (PROTOCOL.md §11): one byte while it stands, empty once cleared.
const metaOwnNonceUnknown = "own-nonce-unknown"

// ownNonceStored clears chain.db's mark of an unknown own nonce once the node has synced: it first stores the
// accepted blocks, so that a restart finds the synced head's nonces. It reports whether the node may sign its own
// transactions. Called on the event loop.
func (n *Node) ownNonceStored() bool {
	if !n.ownNonceMarked {
		return true
	}
	if !n.flush("own nonce") {
		return false
	}
	if err := n.store.PutMeta(metaOwnNonceUnknown, []byte{}); err != nil {
		n.log.Warn("could not clear the chain database's mark of an unknown own nonce", zap.Error(err))
		return false
	}
	n.ownNonceMarked = false
	return true
}

// nextNonce returns the nonce a new transaction of addr takes on st, the head state: the lowest one, from the
// account's, that neither the mempool nor the pending-transaction log holds a transaction of addr at. A transaction
// can be in the log but not in the mempool (expired, evicted, not admitted again after a restart or a reorg);
// giving its nonce to a new one would let one of the two take it on the chain and the other leave the log unapplied
// once the finalized state passes that nonce: an acknowledged record lost (PROTOCOL.md §11). skipped reports that
// the log held a nonce the mempool lacked. Called on the event loop.
func (n *Node) nextNonce(addr chain.Address, st *chain.State) (next chain.Nonce, skipped bool) {
	next = n.pool.NextFree(addr, st, func(nonce chain.Nonce) bool {
		held := n.pendingLog.HoldsNonce(addr, nonce)
		skipped = skipped || held
		return held
	})
	return next, skipped
}

// offerPendingAgain has the log's entries that the mempool lacks offered to it again now (compactPending's
// reoffer) rather than at the next move of finality, at most once every offerEvery: a record signed after one of
// them waits behind its nonce until then. Called on the event loop.
func (n *Node) offerPendingAgain() {
	if now := n.cfg.Now(); now.Sub(n.pending.offered) >= offerEvery {
		n.pending.offered = now
		n.pending.checked = chain.Checkpoint{}
		n.compactPending()
	}
}

// closePending waits for the commits of returned transactions, then closes the log.
func (n *Node) closePending() {
	n.pendingSyncs.Wait()
	n.pendingLog.Close()
}

// restorePending puts the log's transactions back into the mempool, each sender's in nonce order, each checked like
// a transaction from a peer (stateless rules, signature on this chain, admission against the head). An entry that
// can never apply on this chain (damaged, forged, signed for another chain) is dropped from the log, not gossiped.
// An entry whose nonce the head has used (a block holds it, final or not) is not admitted again, and one the head
// refuses for now (its sender's balance, a nonce gap) waits: both stay in the log until the finalized state
// passes their nonce, and compactPending offers what stays to the mempool again each time finality moves.
func (n *Node) restorePending(pending []chain.Tx) {
	txs := sortedBySender(pending)
	invalid := map[chain.Hash]bool{}
	restored, inBlocks, waiting := 0, 0, 0
	for _, tx := range txs {
		err := tx.ValidateBasic()
		if err == nil {
			err = n.sigs.Verify(&tx)
		}
		if err != nil {
			invalid[tx.ID()] = true
			n.log.Warn("pending transaction dropped: it can never apply", zap.Stringer("tx", tx.ID()), zap.Error(err))
			continue
		}
		switch err := n.pool.AddLocal(tx, n.tree.HeadState()); {
		case err == nil:
			restored++
		case errors.Is(err, mempool.ErrStaleTx), errors.Is(err, mempool.ErrDuplicateTx):
			inBlocks++
		default:
			waiting++
			n.log.Debug("pending transaction not admitted for now; kept", zap.Stringer("tx", tx.ID()), zap.Error(err))
		}
	}
	if len(invalid) > 0 {
		if _, err := n.pendingLog.Compact(func(tx *chain.Tx) bool { return invalid[tx.ID()] }); err != nil {
			n.log.Error("pending-transaction log: could not drop invalid entries; they are checked again at the next start", zap.Error(err))
		}
	}
	if len(txs) > 0 {
		n.log.Info("restored pending transactions", zap.Int("txs", restored), zap.Int("in_blocks", inBlocks),
			zap.Int("waiting", waiting), zap.Int("dropped", len(invalid)))
	}
}

// sortedBySender returns a copy of txs sorted by sender address, then nonce: the order in which the mempool
// admits a sender's run.
func sortedBySender(txs []chain.Tx) []chain.Tx {
	out := slices.Clone(txs)
	slices.SortStableFunc(out, func(a, b chain.Tx) int {
		return cmp.Or(bytes.Compare(a.From[:], b.From[:]), cmp.Compare(a.Nonce, b.Nonce))
	})
	return out
}

// keepReturned appends to the log the transactions of blocks that left the canonical chain that it does not hold
// yet, and commits them in the background, one group commit per reorg, so that the event loop does not wait for
// the disk (PROTOCOL.md §11). Called on the event loop.
func (n *Node) keepReturned(reverted []*chain.Block) {
	var b *pendinglog.Batch
	added := 0
	for _, blk := range reverted {
		for _, tx := range blk.Txs {
			if !n.pendingLog.Holds(tx.ID()) {
				b = n.pendingLog.Append(tx)
				added++
			}
		}
	}
	if b == nil {
		return
	}
	n.pendingSyncs.Add(1)
	n.background(func() {
		defer n.pendingSyncs.Done()
		if err := n.pendingLog.Sync(b); err != nil {
			n.log.Error("transactions returned by a reorg could not be stored in the pending-transaction log",
				zap.Int("txs", added), zap.Error(err))
		}
	})
}

// compactPending runs each time the finalized checkpoint moved (or offerPendingAgain asked), once every accepted
// block is stored (so that the blocks that make an entry final are on disk before the entry leaves): it drops from
// the log, in one rewrite once there are pendingSlack of them, the entries the finalized state has passed (see the
// top of this file), and offers the others the mempool lacks to it again (a restart on an old head, a drop for a
// reason a later head removed). The walk over the log, the rewrite and the sorting run off the loop (offLoop) on
// the finalized and the head state of now, which no one modifies; the loop only offers the few entries that no
// block holds (reoffer). Called on the event loop.
func (n *Node) compactPending() {
	_, fin := n.tree.Finality()
	if fin == n.pending.checked || n.pending.busy || n.tree.Unflushed() > 0 {
		return
	}
	final, height, err := n.tree.FinalizedState()
	if err != nil {
		n.log.Error("pending-transaction log: no finalized state to compact against", zap.Error(err))
		return
	}
	n.pending.checked, n.pending.busy = fin, true
	head, slack := n.tree.HeadState(), cmp.Or(n.cfg.PendingSlack, pendingSlack)
	offLoop(n, func() []offer { return n.sweepPending(final, head, height, slack) }, func(offers []offer) {
		n.pending.busy = false
		n.reoffer(offers)
	})
}

// offer is an entry of the log that no block of the head's chain holds, with its ID.
type offer struct {
	tx chain.Tx
	id chain.Hash
}

// sweepPending is the part of compactPending that runs off the loop: it drops the entries final has passed once
// there are slack of them, and returns the others whose nonce head has not used, each sender's in nonce order.
func (n *Node) sweepPending(final, head *chain.State, height chain.Height, slack int) []offer {
	passed := passedBy(final)
	var kept []chain.Tx
	dropping := 0
	n.pendingLog.Each(func(tx *chain.Tx) {
		switch {
		case passed(tx):
			dropping++
		case head.Account(tx.From).Nonce <= tx.Nonce:
			kept = append(kept, *tx)
		}
	})
	if dropping >= slack {
		dropped, err := n.pendingLog.Compact(passed)
		if err != nil {
			n.log.Error("pending-transaction log compaction failed", zap.Error(err))
		} else {
			n.log.Info("final transactions left the pending-transaction log", zap.Int("txs", dropped),
				zap.Int("kept", n.pendingLog.Len()), zap.Uint64("finalized_height", uint64(height)))
		}
	}
	kept = sortedBySender(kept)
	offers := make([]offer, len(kept))
	for i := range kept {
		offers[i] = offer{tx: kept[i], id: kept[i].ID()}
	}
	return offers
}

// PendingHolds reports whether the pending-transaction log holds transaction id, in its file or in a commit
// under way. The simulator checks PROTOCOL.md §11's rule with it (an acknowledged transaction stays until the
// finalized state passes its nonce); any goroutine may call it.
func (n *Node) PendingHolds(id chain.Hash) bool { return n.pendingLog.Holds(id) }

// passedBy returns the rule by which an entry leaves the log (PROTOCOL.md §11): final, the state of the finalized
// checkpoint, has used the entry's nonce for its sender, with the entry itself or with another transaction.
func passedBy(final *chain.State) func(tx *chain.Tx) bool {
	return func(tx *chain.Tx) bool { return final.Account(tx.From).Nonce > tx.Nonce }
}

// reoffer admits to the mempool the transactions of offers that it lacks and whose nonces the head has not used,
// until the mempool refuses one for being full: each refusal of a full pool scans it for a victim, so offering a
// long log to a full pool would hold the event loop for as many scans. What is not offered stays in the log and
// is offered again at the next move of finality. Called on the event loop.
func (n *Node) reoffer(offers []offer) {
	head := n.tree.HeadState()
	added := 0
	for i := range offers {
		tx := &offers[i].tx
		if n.pool.Has(offers[i].id) || head.Account(tx.From).Nonce > tx.Nonce {
			continue
		}
		err := n.pool.AddLocal(*tx, head)
		if err == nil {
			added++
		}
		if errors.Is(err, mempool.ErrPoolFull) {
			break
		}
	}
	if added > 0 {
		n.metrics.mempool.Set(float64(n.pool.Len()))
		n.log.Info("pending transactions offered to the mempool again", zap.Int("txs", added))
	}
}
