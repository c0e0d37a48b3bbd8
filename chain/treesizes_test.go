package chain

import "testing"

// TestTreeSizes: on one finalized chain of 300 blocks the tree holds the floor and the blocks above it, none
// below, and the epochs' tables below the floor; a tree that never finalizes holds
// every block (PROTOCOL.md §13).
func TestTreeSizes(t *testing.T) {
	g := richGenesis()
	blocks := finalChain(t, g, 300)
	pruned := openFinalChain(t, g, NewMemStore(), blocks, 0)
	whole := neverFinal(t, g)
	for _, b := range blocks {
		if err := whole.replay(b); err != nil {
			t.Fatal(err)
		}
	}
	_, fin := pruned.Finality()
	above := int(pruned.Head().Height - pruned.base)
	for _, tc := range []struct {
		name string
		got  TreeSizes
		want TreeSizes
	}{
		{"pruned", pruned.Sizes(), TreeSizes{Blocks: above + 1, InWindow: above + 1, States: above + 1 + 1,
			Epochs: int(g.EpochOf(pruned.floor.header.Slot)) + 1}},
		{"never final", whole.Sizes(), TreeSizes{Blocks: 300, InWindow: 300, States: 301}},
	} {
		got := tc.got
		got.Versions = 0 // replayed blocks are not counted per proposer and slot
		if got != tc.want {
			t.Errorf("%s (finalized %s, floor %d): got %+v, want %+v", tc.name, fin, pruned.base, got, tc.want)
		}
	}
}
