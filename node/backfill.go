package node

import (
	"errors"
	"fmt"
	"time"

	"go.uber.org/zap"

	"github.com/posnode/posnode/chain"
	"github.com/posnode/posnode/node/blocksync"
)

// Backfill (PROTOCOL.md §13a): a node that joined by checkpoint sync holds no block below the anchor. It fetches
// the canonical blocks below its oldest held block with range requests (§10), the newest range first, from one
// peer at a time (first the one that served the anchor, then random ones), down to its retention window (chain.Tree.BackfillWant), and the tree stores them once
// their hash chain reaches its oldest block (chain.Tree.Backfill); it then serves them as any node serves the
// blocks below its floor. Backfill is a state machine of the event loop like the sync client (each answer is its own
// event) and runs beside it: it never holds sync or proposing back. It paces its requests with sync's limiter.

// backfillRetry is how long backfill waits after a failed request before it asks a peer again.
const backfillRetry = time.Second

// backfillState is the backfill's bookkeeping; the event loop owns it.
type backfillState struct {
	asking  string       // the peer asked; "" while no request is out
	prefer  string       // the peer to ask first (the one that served the anchor: it holds the blocks below it)
	wait    *Timer       // armed while backfill waits for its pace or after a failure
	count   uint32       // blocks per request: blocksync.MaxRangeBlocks, fewer after an answer cut short by its bytes
	stored  int          // blocks stored so far
	started time.Time    // when the first request went out
	logged  time.Time    // when the log last told the progress
	lowest  chain.Height // the lowest height stored so far
}

// backfill asks a random peer for the next range below the oldest held block, if the tree wants one and no
// request is out or waiting.
func (n *Node) backfill() {
	f := &n.fill
	if f.asking != "" || f.wait != nil || n.cpWanted {
		return
	}
	lo, hi, ok := n.tree.BackfillWant()
	peers := n.net.Peers()
	if !ok || len(peers) == 0 {
		return
	}
	now := n.cfg.Now()
	if wait := n.rangePace.ReserveN(now, 1).DelayFrom(now); wait > 0 {
		f.wait = n.after(wait, func() { f.wait = nil; n.backfill() })
		return
	}
	if f.count == 0 {
		f.count, f.started = blocksync.MaxRangeBlocks, now
	}
	from := lo
	if hi-lo+1 > chain.Height(f.count) {
		from = hi + 1 - chain.Height(f.count)
	}
	r := blocksync.RangeReq{From: from, Count: uint32(hi - from + 1), MaxBytes: blocksync.MaxRangeBytes}
	peer := peers[n.rand.IntN(len(peers))].ID
	for _, p := range peers {
		if p.ID == f.prefer {
			peer = p.ID
		}
	}
	f.prefer = ""
	f.asking = peer
	n.net.Request(peer, blocksync.ProtoBlocks, r.Encode(), rangeTimeout, func(resp []byte, err error) {
		n.post(func() { n.onBackfill(peer, r, resp, err) })
	})
}

// onBackfill stores an answer to a backfill request and asks for the next range; after a failure it waits
// backfillRetry and asks another random peer. A peer that answers with blocks that are not the chain below the
// oldest held block is penalised as for an invalid block (§10); a pruned answer, an expired request or an answer
// cut short by its bytes costs nothing.
func (n *Node) onBackfill(peer string, r blocksync.RangeReq, resp []byte, err error) {
	f := &n.fill
	f.asking = ""
	var blocks []*chain.Block
	if err == nil {
		blocks, err = blocksync.DecodeBlocks(resp)
	}
	if err == nil {
		err = blocksync.CheckRange(r, blocks)
	}
	if err == nil {
		err = n.storeBackfill(r, blocks)
	}
	if err != nil {
		n.log.Debug("backfill: a request failed", zap.String("peer", peer), zap.Uint64("from", uint64(r.From)),
			zap.Error(err))
		if blocksync.Penalty(err) > 0 {
			n.judgeSync(peer, fmt.Errorf("backfill: %w", err))
		}
		f.wait = n.after(backfillRetry, func() { f.wait = nil; n.backfill() })
		return
	}
	n.backfill()
}

// errBackfillShort: an answer held fewer blocks than asked for, so it does not reach the oldest held block.
var errBackfillShort = errors.New("backfill answer cut short")

// storeBackfill hands a checked answer to the tree and logs the progress.
func (n *Node) storeBackfill(r blocksync.RangeReq, blocks []*chain.Block) error {
	f := &n.fill
	if len(blocks) < int(r.Count) {
		f.count = max(1, uint32(len(blocks))) // its bytes cut it: ask for fewer (an empty answer: one)
		return fmt.Errorf("%w: %d of %d blocks", errBackfillShort, len(blocks), r.Count)
	}
	if err := n.tree.Backfill(blocks); err != nil {
		return err
	}
	f.stored += len(blocks)
	f.lowest = blocks[0].Header.Height
	now := n.cfg.Now()
	if _, _, more := n.tree.BackfillWant(); !more || now.Sub(f.logged) > 2*time.Second {
		f.logged = now
		n.log.Info("backfill: stored the blocks below the anchor", zap.Uint64("down_to", uint64(f.lowest)),
			zap.Int("blocks", f.stored), zap.Bool("done", !more), zap.Duration("took", now.Sub(f.started)))
	}
	return nil
}
