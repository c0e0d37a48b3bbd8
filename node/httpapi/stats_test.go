package httpapi

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/posnode/posnode/chain"
	"github.com/posnode/posnode/node/view"
)

func TestChi2Survival(t *testing.T) {
	tests := []struct {
		x    float64
		df   int
		want float64
	}{
		{3.841459, 1, 0.05}, // the textbook 5 % critical values
		{5.991465, 2, 0.05},
		{7.814728, 3, 0.05},
		{11.344867, 3, 0.01},
		{0.584375, 3, 0.90},
		{0, 3, 1},
		{100, 3, 1.6e-21},
	}
	for _, tt := range tests {
		if got := chi2Survival(tt.x, tt.df); math.Abs(got-tt.want) > 1e-4*math.Max(tt.want, 1e-17) && math.Abs(got-tt.want) > 1e-6 {
			t.Errorf("chi2Survival(%g, %d) = %g, want %g", tt.x, tt.df, got, tt.want)
		}
	}
}

func TestMeasureFairness(t *testing.T) {
	a, b := chain.Address{1}, chain.Address{2}
	vals := []view.Validator{{Address: a, Stake: 10}, {Address: b, Stake: 30}}
	var blocks []view.Block
	for i := range 40 { // a wins 10 of 40, exactly its share
		p := b
		if i%4 == 0 {
			p = a
		}
		blocks = append(blocks, view.Block{Height: uint64(i + 1), Proposer: p})
	}
	tables := []view.EpochTable{{LastSlot: math.MaxUint64, Validators: vals}}
	f := measureFairness(tables, append([]view.Block{{Height: 0}}, blocks...))
	if f.Blocks != 40 || len(f.Rows) != 2 || f.Rows[0].Wins != 10 || f.Rows[0].Observed != 0.25 || f.Chi2 != 0 || f.P != 1 {
		t.Fatalf("fair window: got %+v", f)
	}
	if f.Rows[0].OutsideTheBand || f.Rows[0].Low >= 0.25 || f.Rows[0].High <= 0.25 {
		t.Errorf("a's band %g..%g should hold its share", f.Rows[0].Low, f.Rows[0].High)
	}
	for i := range blocks { // now a wins everything
		blocks[i].Proposer = a
	}
	f = measureFairness(tables, blocks)
	if !f.Rows[0].OutsideTheBand || f.P > 1e-6 {
		t.Errorf("unfair window: a outside its band %v, p %g; want true and a tiny p", f.Rows[0].OutsideTheBand, f.P)
	}
}

// stakeChange is the window of the issue: 256 blocks of 32-slot epochs, four validators of equal stake, and from
// epoch 4 on a fifth that holds half of all the stake. Each block's proposer is drawn by draw from the table of
// its own epoch.
func stakeChange(draw func(table []view.Validator, slot uint64) chain.Address) ([]view.EpochTable, []view.Block) {
	four := []view.Validator{{Address: chain.Address{1}, Stake: 100}, {Address: chain.Address{2}, Stake: 100},
		{Address: chain.Address{3}, Stake: 100}, {Address: chain.Address{4}, Stake: 100}}
	five := append(slices.Clone(four), view.Validator{Address: chain.Address{5}, Stake: 400})
	var tables []view.EpochTable
	var blocks []view.Block
	for e := uint64(0); e < 8; e++ {
		t := view.EpochTable{Epoch: e, FirstSlot: 32 * e, LastSlot: 32*e + 31, Validators: four}
		if e >= 4 {
			t.Validators = five
		}
		tables = append(tables, t)
		for s := t.FirstSlot; s <= t.LastSlot; s++ {
			blocks = append(blocks, view.Block{Height: s + 1, Slot: s, Proposer: draw(t.Validators, s)})
		}
	}
	return tables, blocks
}

// After a stake change within the window, validators that each won their fair share under the table in force
// for their blocks are inside their bands, χ² is 0; weighed by the newest table alone (as the panel did), the
// same blocks read as a rigged lottery.
func TestMeasureFairnessAcrossAStakeChange(t *testing.T) {
	exact := func(table []view.Validator, slot uint64) chain.Address { // wins in exact proportion, epoch by epoch
		var total uint64
		for _, v := range table {
			total += v.Stake
		}
		at := (slot % 32) * total / 32
		for _, v := range table {
			if at < v.Stake {
				return v.Address
			}
			at -= v.Stake
		}
		panic("unreachable")
	}
	tables, blocks := stakeChange(exact)
	f := measureFairness(tables, blocks)
	if f.Blocks != 256 || f.Tables != 8 || len(f.Rows) != 5 || f.DF != 4 || f.Chi2 > 1e-9 || f.P < 0.999 {
		t.Fatalf("got %d blocks, %d tables, %d rows, χ² %g with %d df, p %g; want 256, 8, 5, 0 with 4, 1",
			f.Blocks, f.Tables, len(f.Rows), f.Chi2, f.DF, f.P)
	}
	for _, r := range f.Rows {
		if r.OutsideTheBand {
			t.Errorf("%s won %d (%.3f), outside its band %.3f..%.3f around %.3f", r.Address.Short(), r.Wins,
				r.Observed, r.Low, r.High, r.Expected)
		}
	}
	if got, want := f.Rows[4].Expected, 0.25; math.Abs(got-want) > 1e-9 { // half the stake for half the window
		t.Errorf("the fifth validator's expected share: %g, want %g", got, want)
	}
	newest := tables[len(tables)-1]
	newest.FirstSlot = 0
	old := measureFairness([]view.EpochTable{newest}, blocks)
	outside := 0
	for _, r := range old.Rows {
		if r.OutsideTheBand {
			outside++
		}
	}
	t.Logf("weighed by each block's table: χ² %.3g, p %.3g; by the newest table alone: χ² %.1f, p %.3g, %d of 5 outside",
		f.Chi2, f.P, old.Chi2, old.P, outside)
	if outside != 5 || old.P > 1e-6 {
		t.Errorf("the newest table alone: %d of 5 outside, p %g; the issue saw all 5 outside and a tiny p", outside, old.P)
	}
}

// The bands are 2σ bands: over many windows with a stake change, drawn at random, about 5 % of the rows fall
// outside, not more (the count is printed; the bound is loose).
func TestFairnessBandsAcrossAStakeChange(t *testing.T) {
	rows, outside, lowP := 0, 0, 0
	for seed := range uint64(400) {
		rng := rand.New(rand.NewPCG(seed, 42))
		random := func(table []view.Validator, _ uint64) chain.Address {
			var total uint64
			for _, v := range table {
				total += v.Stake
			}
			at := rng.Uint64N(total)
			for _, v := range table {
				if at < v.Stake {
					return v.Address
				}
				at -= v.Stake
			}
			panic("unreachable")
		}
		f := measureFairness(stakeChange(random))
		for _, r := range f.Rows {
			rows++
			if r.OutsideTheBand {
				outside++
			}
		}
		if f.P < 0.01 {
			lowP++
		}
	}
	frac := float64(outside) / float64(rows)
	t.Logf("400 random windows with a stake change: %d of %d rows outside their bands (%.1f %%), %d windows with p < 0.01",
		outside, rows, 100*frac, lowP)
	if frac > 0.08 || lowP > 12 {
		t.Errorf("%.1f %% of rows outside their 2σ bands and %d of 400 windows with p < 0.01; want about 5 %% and 4",
			100*frac, lowP)
	}
}
