package chain

import (
	"slices"
	"testing"
)

// TestSharedFinality: trees under one StateMemo that accept the same blocks hold one finality per block, equal
// to the one a tree without the memo computes (checkpoints and every counted vote), while finality runs and the
// floor rises; a tree with other rules (the same decisions, other functions) computes its own.
func TestSharedFinality(t *testing.T) {
	g := richGenesis()
	blocks := insertableChain(t, g, 6*int(g.EpochLength))
	ref := openTestTree(t, g, NewMemStore())

	defer ShareStates()()
	a, b := openTestTree(t, g, NewMemStore()), openTestTree(t, g, NewMemStore())
	other := FinalityRules{Supermajority: func(stake, total Amount) bool { return testFinality.Supermajority(stake, total) },
		Finalizes: testFinality.Finalizes}
	c, err := OpenTree(TreeConfig{Genesis: g, Store: NewMemStore(), Elect: treeElect, Better: treeBetter, Finality: other})
	if err != nil {
		t.Fatal(err)
	}
	maxSlot := blocks[len(blocks)-1].Header.Slot
	for i, blk := range blocks {
		h := blk.Hash()
		for _, tr := range []*Tree{ref, a, b, c} {
			if _, err := tr.Insert(blk, maxSlot); err != nil {
				t.Fatalf("insert block %d: %v", i+1, err)
			}
		}
		want, fa, fb, fc := ref.nodes[h].fin, a.nodes[h].fin, b.nodes[h].fin, c.nodes[h].fin
		if fa != fb {
			t.Fatalf("block %d: two trees under one memo hold two finalities", i+1)
		}
		if fc == fa && len(blk.Votes) > 0 { // a block without votes may keep its parent's finality (Next)
			t.Fatalf("block %d: a tree with other rules was given the shared finality", i+1)
		}
		for _, f := range []*Finality{fa, fc} {
			r := finRecord{Justified: want.Justified, Finalized: want.Finalized, JustifiedAll: want.justified,
				Cur: tallyOut(want.cur), Prev: tallyOut(want.prev), Slashed: want.slashed}
			if !r.same(f) {
				t.Fatalf("block %d: the finality under the memo differs from a tree's alone", i+1)
			}
		}
	}
	_, fin := a.Finality()
	if fin.Epoch < 3 {
		t.Fatalf("finalized epoch %d: want finality to run for a few epochs", fin.Epoch)
	}
	if got := a.floor.fin; got == nil || !slices.Equal(got.justified, ref.floor.fin.justified) {
		t.Error("the floor's finality differs from a tree's alone")
	}
}
