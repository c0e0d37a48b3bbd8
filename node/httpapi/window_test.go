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
		c.blocks = append(c.blocks, b)
	}
}

func (c *chainBackend) status() view.Status {
	head := c.blocks[len(c.blocks)-1]
	return view.Status{Height: head.Height, Head: head.Hash}
}

// The window fetches only the blocks a new head added, refetches everything after a reorg, and keeps the last
// size heights.
func TestWindowFetchesOnlyNewBlocks(t *testing.T) {
	c := &chainBackend{}
	c.grow(20, 0)
	var w window
	check := func(step string, wantServed int, wantFrom uint64) {
		t.Helper()
		got, err := w.get(context.Background(), c, c.status(), 8)
		if err != nil {
			t.Fatal(err)
		}
		head := c.blocks[len(c.blocks)-1]
		if c.served != wantServed || len(got) != int(head.Height-wantFrom+1) || got[0].Height != wantFrom || got[len(got)-1].Hash != head.Hash {
			t.Errorf("%s: served %d blocks, window %d..%d; want %d served, window %d..%d", step, c.served,
				got[0].Height, got[len(got)-1].Height, wantServed, wantFrom, head.Height)
		}
		for i := 1; i < len(got); i++ {
			if got[i].Parent != got[i-1].Hash {
				t.Fatalf("%s: block %d does not link to block %d", step, got[i].Height, got[i-1].Height)
			}
		}
		c.served = 0
	}
	check("first draw", 8, 12)
	check("same head", 0, 12)
	c.grow(2, 0)
	check("two new blocks", 2, 14)
	c.blocks = c.blocks[:20]
	c.grow(3, 1)            // heights 20..22 replaced by another branch, one block longer
	check("reorg", 1+8, 15) // the block above the old head, which does not link, then the window
	c.blocks = c.blocks[:22]
	c.grow(1, 2) // same height, other head
	check("reorg at the same height", 8, 15)
	c.grow(300, 3)
	check("far ahead", 8, 315)
}
