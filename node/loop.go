package node

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"go.uber.org/zap"

	"github.com/posnode/posnode/chain"
	"github.com/posnode/posnode/consensus"
)

const (
	// maxClockSkew is how far ahead of the local clock a block's slot may start (PROTOCOL.md §7).
	maxClockSkew = 500 * time.Millisecond
	// syncGrace is how long a node without any peer waits before it proposes on its own chain.
	syncGrace = 3 * time.Second
	// pollEvery is how often the node asks its peers for their heads, to fill whatever gossip lost.
	pollEvery = 3 * time.Second
	// regossipEvery is how often the node publishes its own pending transactions again, at most regossipMax.
	regossipEvery = 10 * time.Second
	regossipMax   = 256
	// journalSlack is how many committed records the journal may hold beyond twice the mempool before compaction.
	journalSlack = 4096
)

// loop is the event loop: the only goroutine that touches loopState.
func (n *Node) loop(ctx context.Context) {
	slotTimer := time.NewTimer(n.untilNextSlot())
	defer slotTimer.Stop()
	poll := time.NewTicker(pollEvery)
	defer poll.Stop()
	regossip := time.NewTicker(regossipEvery)
	defer regossip.Stop()
	blockMsgs, txMsgs := n.blockTopic.Messages(), n.txTopic.Messages()
	for {
		select {
		case <-ctx.Done():
			return
		case <-slotTimer.C:
			n.onSlot(n.currentSlot())
			slotTimer.Reset(n.untilNextSlot())
		case <-poll.C:
			n.pollPeers()
		case <-regossip.C:
			n.regossipOwn()
		case f := <-n.calls:
			f()
		case id := <-n.host.PeerEvents():
			n.log.Debug("peer connected", zap.String("peer", id))
			n.requestSync(id)
		case _, ok := <-blockMsgs:
			// Blocks are imported while they are validated (validateBlockMsg); nothing is left to do.
			if !ok {
				blockMsgs = nil
			}
		case _, ok := <-txMsgs:
			// Likewise, transactions enter the mempool during validation.
			if !ok {
				txMsgs = nil
			}
		}
	}
}

func (n *Node) currentSlot() chain.Slot {
	g := n.cfg.Genesis
	return consensus.SlotAt(g.Time, time.Duration(g.SlotDuration), n.cfg.Now())
}

// maxSlot is the latest slot a block may carry now (PROTOCOL.md §7).
func (n *Node) maxSlot() chain.Slot {
	g := n.cfg.Genesis
	return consensus.SlotAt(g.Time, time.Duration(g.SlotDuration), n.cfg.Now().Add(maxClockSkew))
}

func (n *Node) untilNextSlot() time.Duration {
	g := n.cfg.Genesis
	next := consensus.SlotStart(g.Time, time.Duration(g.SlotDuration), n.currentSlot()+1)
	return max(next.Sub(n.cfg.Now()), time.Millisecond)
}

// onSlot proposes a block when this node won slot s and is caught up.
func (n *Node) onSlot(s chain.Slot) {
	n.metrics.slot.Set(float64(s))
	if s == 0 {
		return
	}
	if !n.synced && !n.syncing && n.cfg.Now().Sub(n.startedAt) > syncGrace && len(n.host.Peers()) == 0 {
		n.log.Info("no peers; proposing on the local chain")
		n.synced = true
	}
	leader, ok := n.tree.Leader(s)
	if !ok || leader != n.self {
		return
	}
	if !n.synced || n.syncing || s <= n.lastSigned {
		n.metrics.slotsMissed.Inc()
		n.log.Info("slot won but not proposing", zap.Uint64("slot", uint64(s)), zap.Bool("synced", n.synced && !n.syncing))
		return
	}
	if err := n.propose(s); err != nil {
		n.metrics.slotsMissed.Inc()
		n.log.Error("propose failed", zap.Uint64("slot", uint64(s)), zap.Error(err))
	}
}

// propose builds, records, stores and then publishes this node's block for slot s. The slot is recorded durably
// before signing, so no restart can ever sign a second block for it.
func (n *Node) propose(s chain.Slot) error {
	if err := n.store.PutMeta(metaLastSigned, encodeSlot(s)); err != nil {
		return fmt.Errorf("record signed slot: %w", err)
	}
	n.lastSigned = s
	b, bad, err := n.tree.Propose(s, n.key, n.pool.Select(n.tree.HeadState(), chain.MaxBlockTxs))
	if err != nil {
		return err
	}
	for _, te := range bad {
		n.log.Debug("dropping invalid transaction", zap.Stringer("tx", te.Tx.ID()), zap.Error(te.Err))
		n.pool.Remove([]chain.Tx{te.Tx})
	}
	change, err := n.tree.Insert(b, s)
	if err != nil {
		return fmt.Errorf("insert own block: %w", err)
	}
	n.metrics.slotsWon.Inc()
	n.log.Info("proposed block", zap.Uint64("slot", uint64(s)), zap.Uint64("height", uint64(b.Header.Height)),
		zap.Int("txs", len(b.Txs)), zap.Stringer("hash", b.Hash()))
	n.observe(b, true)
	n.applyChange(change)
	n.publish(n.blockTopic, b.Encode())
	return nil
}

// importBlock validates and stores a block from a peer, moving the head if fork choice says so.
func (n *Node) importBlock(b *chain.Block) error {
	change, err := n.tree.Insert(b, n.maxSlot())
	if err != nil {
		return err
	}
	n.observe(b, false)
	n.applyChange(change)
	return nil
}

func (n *Node) observe(b *chain.Block, local bool) {
	n.noteOrphan(b)
	if n.cfg.OnBlock != nil {
		n.cfg.OnBlock(b, local)
	}
}

// applyChange brings the mempool, metrics and prompt up to date after the head moved. Transactions of blocks that
// left the canonical chain go back to the pool unless the new chain already holds them (PROTOCOL.md §8).
func (n *Node) applyChange(c chain.Change) {
	if len(c.Applied) == 0 && len(c.Reverted) == 0 {
		return
	}
	for _, b := range c.Reverted {
		n.orphans.add(b)
	}
	if len(c.Reverted) > 0 {
		n.metrics.reorgs.Inc()
		n.log.Info("reorg", zap.Int("depth", len(c.Reverted)), zap.Uint64("height", uint64(c.Head.Height)),
			zap.Stringer("head", c.Head.Hash))
		n.announce("reorg: %d block(s) replaced, head #%d %s", len(c.Reverted), c.Head.Height, c.Head.Hash.Short())
	}
	for _, b := range c.Applied {
		n.pool.Remove(b.Txs)
		n.log.Debug("block", zap.Uint64("height", uint64(b.Header.Height)), zap.Uint64("slot", uint64(b.Header.Slot)),
			zap.Stringer("proposer", b.Header.Proposer), zap.Int("txs", len(b.Txs)))
		n.announce("slot %d: %s won -> block #%d %s (%d txs)", b.Header.Slot, winnerName(b.Header.Proposer, n.self),
			b.Header.Height, b.Hash().Short(), len(b.Txs))
	}
	head := n.tree.HeadState()
	requeued := 0
	for _, b := range c.Reverted {
		for _, tx := range b.Txs {
			if n.pool.Add(tx, head) == nil {
				requeued++
			}
		}
	}
	if requeued > 0 {
		n.log.Info("transactions of abandoned blocks returned to the mempool", zap.Int("txs", requeued))
	}
	n.pool.Prune(head)
	n.compactJournal()
	n.metrics.height.Set(float64(c.Head.Height))
	n.metrics.mempool.Set(float64(n.pool.Len()))
	n.tell(c)
}

func winnerName(a, self chain.Address) string {
	if a == self {
		return "you (" + a.Short() + ")"
	}
	return a.Short()
}

// submit admits a locally made or API-posted transaction, journals it and gossips it. The caller answers the
// user only after journal.Sync of the returned sequence number.
func (n *Node) submit(tx chain.Tx) (uint64, error) {
	if err := n.pool.Add(tx, n.tree.HeadState()); err != nil {
		return 0, err
	}
	seq, err := n.journal.Append(tx)
	if err != nil {
		n.pool.Remove([]chain.Tx{tx})
		return 0, err
	}
	n.metrics.mempool.Set(float64(n.pool.Len()))
	n.publish(n.txTopic, tx.Encode())
	return seq, nil
}

// compactJournal drops committed transactions from the journal once it holds many more than the mempool.
func (n *Node) compactJournal() {
	if n.journal.Len() <= 2*n.pool.Len()+journalSlack {
		return
	}
	if err := n.journal.Compact(n.pool.All()); err != nil {
		n.log.Error("journal compaction failed", zap.Error(err))
	}
}

// regossipOwn publishes this node's own pending transactions again, so that one lost by gossip (published
// before the mesh formed, or during a partition) still reaches the other proposers. Peers that have it ignore it.
func (n *Node) regossipOwn() {
	for _, tx := range n.pool.Run(n.self, n.tree.HeadState(), regossipMax) {
		n.publish(n.txTopic, tx.Encode())
	}
}

func encodeSlot(s chain.Slot) []byte { return binary.BigEndian.AppendUint64(nil, uint64(s)) }

func decodeSlot(b []byte) (chain.Slot, error) {
	if len(b) != 8 {
		return 0, errors.New("want 8 bytes")
	}
	return chain.Slot(binary.BigEndian.Uint64(b)), nil
}
