package node

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/posnode/posnode/chain"
	"github.com/posnode/posnode/consensus"
	"github.com/posnode/posnode/node/view"
)

// The slot grid after a reorg: slot 0 is the genesis, the abandoned block's slot is orphaned, the new branch's
// slots are proposed, the empty slots are missed, each with the leader the canonical chain gives it.
func TestSlotGridAfterReorg(t *testing.T) {
	c := newCluster(t, []uint64{10, 20}, time.Second, -time.Hour)
	n, err := New(Config{Home: c.homes[0], Genesis: c.gen})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.pendingLog.Close(); n.store.Close() })
	newTree := func() *chain.Tree {
		tree, err := chain.OpenTree(chain.TreeConfig{Genesis: c.gen, Store: chain.NewMemStore(), Elect: consensus.Leader,
			Better: consensus.Better, Finality: consensus.FFGRules()})
		if err != nil {
			t.Fatal(err)
		}
		return tree
	}
	a1 := c.propose(newTree(), 1)
	branchB := newTree()
	b2, b3 := c.propose(branchB, 2), c.propose(branchB, 3)
	for _, b := range []*chain.Block{a1, b2, b3} {
		if err := n.importBlock(b); err != nil {
			t.Fatal(err)
		}
	}
	grid, err := offlineSlots(t, n, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(grid) != int(c.gen.EpochLength) {
		t.Fatalf("got %d slots, want the %d of epoch 0", len(grid), c.gen.EpochLength)
	}
	want := []struct {
		state string
		block chain.Hash
	}{{view.SlotProposed, c.gen.Hash()}, {view.SlotOrphaned, chain.Hash{}}, {view.SlotProposed, b2.Hash()}, {view.SlotProposed, b3.Hash()}}
	for s, g := range grid {
		w := struct {
			state string
			block chain.Hash
		}{view.SlotMissed, chain.Hash{}}
		if s < len(want) {
			w = want[s]
		}
		var block chain.Hash
		if g.Block != nil {
			block = *g.Block
		}
		if g.Slot != uint64(s) || g.State != w.state || block != w.block {
			t.Errorf("slot %d: got %d %s block %s, want %s block %s", s, g.Slot, g.State, block.Short(), w.state, w.block.Short())
		}
		parent := b3.Hash()
		switch s {
		case 0:
			continue
		case 1, 2:
			parent = c.gen.Hash()
		case 3:
			parent = b2.Hash()
		}
		if leader, _, _ := n.tree.LeaderOn(parent, chain.Slot(s)); g.Leader != leader {
			t.Errorf("slot %d: leader %s, want %s, the winner on the canonical chain", s, g.Leader.Short(), leader.Short())
		}
	}
	if o := grid[1].Orphans; len(o) != 1 || o[0].Hash != a1.Hash() || o[0].Proposer != a1.Header.Proposer {
		t.Errorf("slot 1 orphans: got %+v, want block %s", o, a1.Hash().Short())
	}
	if !grid[4].Start.Equal(c.gen.Time.Add(4 * time.Second)) {
		t.Errorf("slot 4 starts at %s, want genesis + 4 s", grid[4].Start)
	}
}

// The record of orphaned blocks keeps each block once and only the newest maxOrphans.
func TestOrphanLogIsBounded(t *testing.T) {
	var o orphanLog
	blocks := make([]*chain.Block, maxOrphans+10)
	for i := range blocks {
		blocks[i] = &chain.Block{Header: chain.Header{Height: 1, Slot: chain.Slot(i + 1)}}
		o.add(blocks[i])
		o.add(blocks[i])
	}
	if len(o.blocks) != maxOrphans {
		t.Fatalf("got %d records, want %d", len(o.blocks), maxOrphans)
	}
	if first := o.blocks[0].Slot; first != 11 {
		t.Errorf("oldest record is of slot %d, want 11 (the 10 oldest forgotten)", first)
	}
}

// Slots refuses a range of more than MaxGridSlots slots, saying how many epochs fit, instead of cutting it
// silently; the most that fits is served whole.
func TestSlotsRange(t *testing.T) {
	c := newCluster(t, []uint64{10}, time.Second, -time.Hour)
	n, err := New(Config{Home: c.homes[0], Genesis: c.gen})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.pendingLog.Close(); n.store.Close() })
	fit := MaxGridSlots / c.gen.EpochLength // epochs per answer
	_, err = n.Slots(context.Background(), 0, 100)
	if !errors.Is(err, view.ErrBadInput) || !strings.Contains(err.Error(), fmt.Sprintf("?from=0&to=%d", fit-1)) {
		t.Errorf("epochs 0..100: got %v, want view.ErrBadInput that names ?from=0&to=%d", err, fit-1)
	}
	grid, err := offlineSlots(t, n, 0, fit-1)
	if err != nil {
		t.Fatal(err)
	}
	if last := fit*c.gen.EpochLength - 1; len(grid) != int(fit*c.gen.EpochLength) || grid[len(grid)-1].Slot != last {
		t.Errorf("epochs 0..%d: got %d slots ending at %d, want %d ending at %d", fit-1, len(grid),
			grid[len(grid)-1].Slot, fit*c.gen.EpochLength, last)
	}
}
