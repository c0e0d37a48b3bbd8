package httpapi

import (
	"context"
	"testing"

	"github.com/posnode/posnode/chain"
	"github.com/posnode/posnode/node/view"
)

// chainBackend serves Blocks from a slice of canonical blocks and counts the blocks it hands out.
type chainBackend struct {
	Backend
	blocks []view.Block // index = height
	served int
}

func (c *chainBackend) Blocks(_ context.Context, from, to uint64) ([]view.Block, error) {
	out := c.blocks[from:min(to+1, uint64(len(c.blocks)))]
	c.served += len(out)
	return out, nil
}

// grow appends n blocks to c's chain, each linked to the one before; fork makes the new blocks differ from any
// earlier ones at the same heights.
func (c *chainBackend) grow(n int, fork byte) {
	for range n {
		b := view.Block{Height: uint64(len(c.blocks))}
		if b.Height > 0 {
			b.Parent = c.blocks[b.Height-1].Hash
		}
		b.Hash = chain.Hash{byte(b.Height), byte(b.Height >> 8), fork}
		b.Txs = []view.Tx{{Value: b.Height}}
		c.blocks = append(c.blocks, b)
	}
}

func (c *chainBackend) status() view.Status {
	head := c.blocks[len(c.blocks)-1]
	return view.Status{Height: head.Height, Head: head.Hash}
}

// The window fetches only the blocks a new head added, refetches everything after a reorg, keeps the last size
// heights, and the transactions of the newest recentBlocks only.
func TestWindowFetchesOnlyNewBlocks(t *testing.T) {
	const size = recentBlocks + 8
	c := &chainBackend{}
	c.grow(40, 0)
	var w window
	var prev []view.Block
	check := func(step string, wantServed int) {
		t.Helper()
		got, err := w.get(context.Background(), c, c.status(), size)
		if err != nil {
			t.Fatal(err)
		}
		head := c.blocks[len(c.blocks)-1]
		wantFrom := head.Height + 1 - size
		if c.served != wantServed || len(got) != size || got[0].Height != wantFrom || got[len(got)-1].Hash != head.Hash {
			t.Errorf("%s: served %d blocks, window %d..%d; want %d served, window %d..%d", step, c.served,
				got[0].Height, got[len(got)-1].Height, wantServed, wantFrom, head.Height)
		}
		for i, blk := range got {
			if i > 0 && blk.Parent != got[i-1].Hash {
				t.Fatalf("%s: block %d does not link to block %d", step, blk.Height, got[i-1].Height)
			}
			if recent := i >= len(got)-recentBlocks; recent != (len(blk.Txs) == 1) {
				t.Errorf("%s: block %d has %d transactions; want one in each of the newest %d only", step, blk.Height, len(blk.Txs), recentBlocks)
			}
		}
		for i, blk := range prev { // what an earlier call returned is untouched
			if blk.Height != prev[0].Height+uint64(i) {
				t.Fatalf("%s: an earlier window changed", step)
			}
		}
		prev, c.served = got, 0
	}
	check("first draw", size)
	check("same head", 0)
	c.grow(2, 0)
	check("two new blocks", 2)
	c.blocks = c.blocks[:40]
	c.grow(3, 1)           // heights 40..42 replaced by another branch, one block longer
	check("reorg", 1+size) // the block above the old head, which does not link, then the window
	c.blocks = c.blocks[:42]
	c.grow(1, 2) // same height, other head
	check("reorg at the same height", size)
	c.grow(300, 3)
	check("far ahead", size)
}
