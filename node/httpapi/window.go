package httpapi

import (
	"context"
	"sync"

	"github.com/posnode/posnode/node/view"
)

// maxRange is the most blocks one Backend.Blocks call returns.
const maxRange = 256

// window keeps the canonical blocks of the explorer's window (the last fairnessWindow heights) between draws, so
// that a new head costs the blocks it added rather than the whole window: an open page redraws on every head. Only
// the newest recentBlocks keep their transactions, so the window stays small however full the blocks are. Each
// call builds a new slice, so one returned earlier stays valid while the window moves on.
type window struct {
	mu     sync.Mutex
	blocks []view.Block // consecutive canonical heights, oldest first
}

// get returns the canonical blocks of the last size heights up to the head st names, oldest first, the older ones
// without their transactions. It fetches only the heights above the ones it holds when they still link to the
// head; after a reorg it fetches them all.
func (w *window) get(ctx context.Context, b Backend, st view.Status, size uint64) ([]view.Block, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	from := max(st.Height+1, size) - size
	held := w.blocks
	fresh, ok := w.above(ctx, b, st)
	switch {
	case ok && len(fresh) == 0:
		return w.blocks, nil
	case !ok:
		all, err := fetchRange(ctx, b, from, st.Height)
		if err != nil {
			w.blocks = nil
			return nil, err
		}
		held, fresh = nil, all
	}
	n := len(held) + len(fresh)
	kept := make([]view.Block, 0, min(n, int(size)))
	for i := range n {
		var blk view.Block
		if i < len(held) {
			blk = held[i]
		} else {
			blk = fresh[i-len(held)]
		}
		if blk.Height < from {
			continue
		}
		if i < n-recentBlocks {
			blk.Txs = nil
		}
		kept = append(kept, blk)
	}
	w.blocks = kept
	return kept, nil
}

// above returns the blocks above the newest one held, and reports whether they end at st's head with every block
// linked to its predecessor.
func (w *window) above(ctx context.Context, b Backend, st view.Status) ([]view.Block, bool) {
	n := len(w.blocks)
	if n == 0 || w.blocks[n-1].Height > st.Height || st.Height-w.blocks[n-1].Height > maxRange {
		return nil, false
	}
	last := w.blocks[n-1]
	var fresh []view.Block
	if last.Height < st.Height {
		var err error
		if fresh, err = b.Blocks(ctx, last.Height+1, st.Height); err != nil {
			return nil, false
		}
	}
	prev := last.Hash
	for _, blk := range fresh {
		if blk.Parent != prev {
			return nil, false
		}
		prev = blk.Hash
	}
	return fresh, prev == st.Head
}

// fetchRange returns the canonical blocks from..to in calls of at most maxRange blocks.
func fetchRange(ctx context.Context, b Backend, from, to uint64) ([]view.Block, error) {
	var out []view.Block
	for lo := from; lo <= to; lo += maxRange {
		bs, err := b.Blocks(ctx, lo, min(to, lo+maxRange-1))
		if err != nil {
			return nil, err
		}
		out = append(out, bs...)
		if lo+maxRange < lo {
			break
		}
	}
	return out, nil
}
