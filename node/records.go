package node

import (
	"context"
	"fmt"
	"time"

	"github.com/posnode/posnode/chain"
	"github.com/posnode/posnode/consensus"
	"github.com/posnode/posnode/node/view"
)

// The bounds of one page of an account's records: whatever the chain's length or its blocks' size, a page reads
// at most maxRecordBlocks blocks and maxRecordTxs transactions off the event loop.
const (
	// MaxRecords is the most records one page holds.
	MaxRecords = 500
	// maxRecordBlocks is the most blocks one page reads.
	maxRecordBlocks = 1024
	// maxRecordTxs is the most transactions one page reads: it stops after the block that reaches it.
	maxRecordTxs = 50_000
)

// Records returns a page of account addr's BPM records on the canonical chain, newest first, from the blocks
// below height before (0: from the head down): at most limit (1 to MaxRecords) records, read off the event loop
// from the store. The page says which heights it covers and, when it stopped before height 1, the before of
// the next. A block's records are never split between pages, so a page holds more than limit records only
// when one block holds them all. Errors: view.ErrBadInput for a limit out of range, the context's, ErrStopped.
func (n *Node) Records(ctx context.Context, addr chain.Address, before uint64, limit int) (view.Records, error) {
	if limit < 1 || limit > MaxRecords {
		return view.Records{}, view.Classed(view.ErrBadInput, fmt.Errorf("limit %d: want 1 to %d", limit, MaxRecords))
	}
	snap, err := n.readSnapshot(ctx)
	if err != nil {
		return view.Records{}, err
	}
	top := snap.headHeight()
	if before > 0 {
		top = min(top, chain.Height(before-1))
	}
	out := view.Records{Address: addr, Records: []view.Record{}, To: uint64(top)}
	low, err := n.pageWalk(ctx, snap, top, func(b *chain.Block, h chain.Height) bool {
		out.Records = append(out.Records, n.recordsOf(b, addr, snap.finality(h))...)
		return len(out.Records) < limit
	})
	if err != nil {
		return view.Records{}, err
	}
	out.From = uint64(low)
	if len(out.Records) > limit && out.Records[0].Height != out.Records[len(out.Records)-1].Height {
		cut := out.Records[len(out.Records)-1].Height // its records go to the next page, whole
		for out.Records[len(out.Records)-1].Height == cut {
			out.Records = out.Records[:len(out.Records)-1]
		}
		out.From = cut + 1
	}
	if out.From > 1 {
		out.Next = out.From
	}
	return out, nil
}

// pageWalk reads the canonical blocks of snap from height top down, off the event loop, within the bounds of one
// page (maxRecordBlocks blocks, maxRecordTxs transactions), and hands each to visit until visit returns false or
// height 1 is read. It returns the lowest height read (top+1 when none was). Errors: the store's, the context's.
func (n *Node) pageWalk(ctx context.Context, snap *readSnap, top chain.Height,
	visit func(b *chain.Block, h chain.Height) bool) (chain.Height, error) {
	low, blocks, txs := top+1, 0, 0
	for h := top; h > 0 && blocks < maxRecordBlocks && txs < maxRecordTxs; h-- {
		b, err := n.readBlock(ctx, snap.at(h).hash)
		if err != nil {
			return 0, err
		}
		low, blocks, txs = h, blocks+1, txs+len(b.Txs)
		if !visit(b, h) {
			break
		}
	}
	return low, nil
}

// recordsOf returns the BPM records addr sent in block b, newest (last in the block) first.
func (n *Node) recordsOf(b *chain.Block, addr chain.Address, finality string) []view.Record {
	g := n.cfg.Genesis
	var out []view.Record
	for i := len(b.Txs) - 1; i >= 0; i-- {
		tx := b.Txs[i]
		if tx.Kind != chain.TxBPM || tx.From != addr {
			continue
		}
		out = append(out, view.Record{BPM: tx.Value, Height: uint64(b.Header.Height), Slot: uint64(b.Header.Slot),
			Time: consensus.SlotStart(g.Time, time.Duration(g.SlotDuration), b.Header.Slot).UTC(), Tx: tx.ID(),
			Finality: finality})
	}
	return out
}
