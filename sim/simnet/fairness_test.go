package simnet

import (
	"math"
	"testing"
	"time"
)

// TestChi2Survival checks the χ² tail against tabulated values.
func TestChi2Survival(t *testing.T) {
	tests := []struct {
		x    float64
		df   int
		want float64
	}{
		{3.841, 1, 0.05}, {16.266, 3, 0.001}, {7.815, 3, 0.05}, {18.307, 10, 0.05}, {124.342, 100, 0.05},
		{1, 2, math.Exp(-0.5)}, {0, 4, 1},
	}
	for _, tc := range tests {
		if got := Chi2Survival(tc.x, tc.df); math.Abs(got-tc.want) > 2e-4 {
			t.Errorf("Chi2Survival(%v, %d) = %.5f, want %.5f", tc.x, tc.df, got, tc.want)
		}
	}
}

// TestParseStakes checks the lists and spreads of --stakes.
func TestParseStakes(t *testing.T) {
	tests := []struct {
		in   string
		want []uint64
		err  bool
	}{
		{"", nil, false}, {"10,20, 30", []uint64{10, 20, 30}, false}, {"geometric:4", []uint64{125, 250, 500, 1000}, false},
		{"zipf:3", []uint64{1000, 500, 333}, false}, {"0,1", nil, true}, {"x", nil, true}, {"zipf:0", nil, true},
		{"cubic:3", nil, true},
	}
	for _, tc := range tests {
		got, err := ParseStakes(tc.in)
		if (err != nil) != tc.err || len(got) != len(tc.want) {
			t.Errorf("ParseStakes(%q) = %v, %v; want %v, error %v", tc.in, got, err, tc.want, tc.err)
			continue
		}
		for i := range got {
			if got[i] != tc.want[i] {
				t.Errorf("ParseStakes(%q) = %v, want %v", tc.in, got, tc.want)
			}
		}
	}
}

// unequalConfig is the CI seed with unequal stakes that change during the run, crashes with doppelganger waits and
// partitions (docs/SIMULATION.md, "Unequal stakes").
func unequalConfig(seed uint64) Config {
	return Config{Seed: seed, Nodes: 8, Stakes: []uint64{10, 20, 40, 80, 160}, Validators: 5, Duration: 90 * time.Second,
		StakeEvery: 5 * time.Second, RecordEvery: time.Second, DoppelgangerSlots: 8,
		Faults: Faults{CrashEvery: 15 * time.Second, PartitionEvery: 30 * time.Second, ClockSkew: 300 * time.Millisecond}}
}

// TestUnequalStakes runs the unequal-stakes seed: every invariant holds, the stake changes went through, and the
// shares were counted over every slot.
func TestUnequalStakes(t *testing.T) {
	cfg := unequalConfig(3)
	r := runSeed(t, cfg)
	for _, v := range r.Violations {
		t.Errorf("seed %d: %s", cfg.Seed, v)
	}
	if len(r.Violations) > 0 {
		t.Logf("replay: %s", replayCommand(cfg))
	}
	var won int
	for i, c := range r.Stats.Shares {
		t.Logf("validator %d (stake %d): won %d of %.1f, blocks %d of %.1f (walk's expectation %.1f)", i, c.Stake,
			c.Won, c.WonMean, c.Blocks, c.BlockMean, c.NaiveMean)
		won += c.Won
	}
	if r.Stats.StakeTxs == 0 || r.Stats.Crashes == 0 || won < int(r.Stats.Blocks) {
		t.Errorf("want stake changes, crashes and every slot counted: %d stake txs, %d crashes, %d slots won for %d "+
			"blocks", r.Stats.StakeTxs, r.Stats.Crashes, won, r.Stats.Blocks)
	}
}
