package main

import (
	"testing"
	"time"

	"github.com/posnode/posnode/chain"
	"github.com/posnode/posnode/node"
)

// builtCheckpoint finds the head epoch's checkpoint of a built chain: its last block before the epoch's first
// slot (every slot holds a block, so the block of the slot before).
func TestBuiltCheckpoint(t *testing.T) {
	c, err := newCluster(clusterSpec{validators: 1, slot: time.Second, start: time.Now().Add(-200 * time.Second)})
	if err != nil {
		t.Fatal(err)
	}
	defer c.close()
	if err := node.BuildChain(c.dirs[0], c.gen, c.keys, 100, 0); err != nil {
		t.Fatal(err)
	}
	cp, err := builtCheckpoint(c.dirs[0], c.gen)
	if err != nil {
		t.Fatal(err)
	}
	e := c.gen.EpochOf(100)
	store, err := chain.OpenBolt(c.dirs[0] + "/chain.db")
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	var want chain.Hash
	store.ForEach(func(b *chain.Block) error {
		if b.Header.Slot == chain.Slot(uint64(e)*c.gen.EpochLength-1) {
			want = b.Hash()
		}
		return nil
	})
	if cp.Epoch != e || cp.Hash != want || e == 0 {
		t.Errorf("checkpoint %s, want %d:%s", cp.Text(), e, want)
	}
}
