package sim

import (
	"testing"

	"github.com/posnode/posnode/chain"
)

func TestPermutationDistinct(t *testing.T) {
	txs := make([]chain.Tx, sideAccounts)
	for i := range txs {
		txs[i].Value = uint64(i)
	}
	seen := map[[sideAccounts]uint64]bool{}
	for v := range MaxK {
		var key [sideAccounts]uint64
		for i, tx := range permutation(txs, v) {
			key[i] = tx.Value
		}
		if seen[key] {
			t.Fatalf("version %d repeats an earlier order %v", v, key)
		}
		seen[key] = true
	}
}

// TestAdversaryBounds pins what the adversary gains on fixed seeds (deterministic runs, shorter than the
// tables of PROTOCOL.md §9): grinding captures the parent-hash lottery, and gains little under randao.
func TestAdversaryBounds(t *testing.T) {
	tests := []struct {
		name     string
		p        Params
		min, max float64 // bounds on the adversary's share of canonical blocks
		replaced bool    // whether honest blocks must have been replaced
	}{
		{"parent-hash grind captures", Params{Grind, chain.SeedParentHash, 100, 64, 1000, 32, 1}, 0.9, 1, false},
		{"parent-hash private branch replaces", Params{PrivateBranch, chain.SeedParentHash, 100, 64, 1000, 32, 1}, 0.9, 1, true},
		{"randao grind 0.10", Params{Grind, chain.SeedRANDAO, 100, 64, 4000, 32, 1}, 0.05, 0.12, false},
		{"randao grind 0.33", Params{Grind, chain.SeedRANDAO, 330, 64, 4000, 32, 1}, 0.25, 0.36, false},
		{"randao private branch fails", Params{PrivateBranch, chain.SeedRANDAO, 330, 64, 1000, 32, 1}, 0, 0, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, err := Run(tc.p)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("share %.3f of %d canonical blocks, %d withheld, %d honest blocks replaced, deepest reorg %d",
				r.Share(), r.Canonical, r.Withheld, r.Replaced, r.DeepestReorg)
			if s := r.Share(); s < tc.min || s > tc.max {
				t.Errorf("share: got %.3f, want %.2f to %.2f", s, tc.min, tc.max)
			}
			if got := r.Replaced > 0; got != tc.replaced {
				t.Errorf("replaced %d honest blocks, want replaced = %v", r.Replaced, tc.replaced)
			}
		})
	}
}

// TestLateReleaseGainsNothing: a block held back and released after the next honest block on the same parent
// no longer orphans it (PROTOCOL.md §8: at equal height the block seen first stays the head), so the adversary
// only loses the blocks it held.
func TestLateReleaseGainsNothing(t *testing.T) {
	r, err := Run(Params{LateRelease, chain.SeedRANDAO, 250, 1, 1000, 32, 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("share %.3f, %d honest blocks orphaned", r.Share(), r.Replaced)
	if r.Replaced != 0 || r.Share() >= 0.25 {
		t.Errorf("got share %.3f and %d honest blocks orphaned; want below 0.25 and none", r.Share(), r.Replaced)
	}
}

func TestRunRejectsBadParams(t *testing.T) {
	for _, p := range []Params{
		{Grind, chain.SeedRANDAO, 0, 1, 10, 32, 1},
		{Grind, chain.SeedRANDAO, 1000, 1, 10, 32, 1},
		{Grind, chain.SeedRANDAO, 100, 0, 10, 32, 1},
		{Grind, chain.SeedRANDAO, 100, MaxK + 1, 10, 32, 1},
		{Grind, chain.SeedRANDAO, 100, 1, 0, 32, 1},
		{"steal", chain.SeedRANDAO, 100, 1, 10, 32, 1},
		{Grind, "coin-flip", 100, 1, 10, 32, 1},
	} {
		if _, err := Run(p); err == nil {
			t.Errorf("%+v: got nil error, want one", p)
		}
	}
}
