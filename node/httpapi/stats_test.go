package httpapi

import (
	"math"
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
	f := measureFairness(vals, append([]view.Block{{Height: 0}}, blocks...))
	if f.Blocks != 40 || len(f.Rows) != 2 || f.Rows[0].Wins != 10 || f.Rows[0].Observed != 0.25 || f.Chi2 != 0 || f.P != 1 {
		t.Fatalf("fair window: got %+v", f)
	}
	if f.Rows[0].OutsideTheBand || f.Rows[0].Low >= 0.25 || f.Rows[0].High <= 0.25 {
		t.Errorf("a's band %g..%g should hold its share", f.Rows[0].Low, f.Rows[0].High)
	}
	for i := range blocks { // now a wins everything
		blocks[i].Proposer = a
	}
	f = measureFairness(vals, blocks)
	if !f.Rows[0].OutsideTheBand || f.P > 1e-6 {
		t.Errorf("unfair window: a outside its band %v, p %g; want true and a tiny p", f.Rows[0].OutsideTheBand, f.P)
	}
}
