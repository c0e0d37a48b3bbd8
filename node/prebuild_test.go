package node

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/posnode/posnode/chain"
	"github.com/posnode/posnode/consensus"
)

// BuildChain fills every slot with a valid block carrying the records asked for, and refuses a used database.
func TestBuildChain(t *testing.T) {
	c := newCluster(t, []uint64{10, 20, 30}, time.Second, 0)
	const blocks, txs = 40, 3
	if err := BuildChain(c.homes[0], c.gen, c.keys, blocks, txs); err != nil {
		t.Fatal(err)
	}
	store, err := chain.OpenBolt(filepath.Join(c.homes[0], "chain.db"))
	if err != nil {
		t.Fatal(err)
	}
	tree, err := chain.OpenTree(chain.TreeConfig{Genesis: c.gen, Store: store, Elect: consensus.Leader, Better: consensus.Better, Finality: consensus.FFGRules()})
	if err != nil {
		t.Fatal(err)
	}
	if h := tree.Head(); h.Height != blocks || h.Slot != blocks {
		t.Errorf("got head at height %d slot %d, want %d and %d", h.Height, h.Slot, blocks, blocks)
	}
	for h := chain.Height(1); h <= blocks; h++ {
		b, err := tree.BlockAt(h)
		if err != nil {
			t.Fatal(err)
		}
		if len(b.Txs) != txs {
			t.Errorf("block %d: got %d txs, want %d", h, len(b.Txs), txs)
		}
	}
	store.Close()
	if err := BuildChain(c.homes[0], c.gen, c.keys, 1, 0); err == nil {
		t.Error("got no error building on a used database, want one")
	}
}
