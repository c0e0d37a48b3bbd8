package simnet

import (
	"slices"
	"strings"
	"testing"
	"time"
)

// TestLagBound: the finality lag the liveness invariant allows at the start of an epoch, by the epochs whose
// honest votes a private branch split (the k = 1 rule of PROTOCOL.md §8a finalizes f only by a link to f + 1).
func TestLagBound(t *testing.T) {
	for _, tc := range []struct {
		now   uint64
		split []uint64
		want  uint64
	}{
		{1, nil, maxFinalityLag},
		{19, nil, maxFinalityLag},
		{18, []uint64{17}, 4},         // 16 waits for 17, which never comes
		{19, []uint64{17}, 5},         // 18 is justified from 16, which finalizes nothing; 18 waits for 19
		{20, []uint64{17}, 3},         // 18 → 19 finalized 18
		{19, []uint64{15}, 3},         // long past
		{20, []uint64{17, 18}, 6},     // two in a row
		{20, []uint64{16, 18}, 7},     // one apart: 17 is justified from 15, 18 is not; 14 is the newest final
		{5, []uint64{1, 2, 3, 4}, 6},  // nothing but genesis can be final
		{21, []uint64{11, 12, 13}, 3}, // long past
		{14, []uint64{11, 12, 13}, 6}, // 10 is justified from 9, which it finalizes; nothing finalizes 10
		{13, []uint64{12}, 4},         // split in the epoch before: 11 finalized 10, nothing finalizes 11
		{12, []uint64{11, 13, 14}, 4}, // epochs not yet voted on do not count
		{16, []uint64{13, 14, 15}, 6}, // 12 finalized 11, the newest that can be final
	} {
		got := lagBoundOf(tc.now, func(e uint64) bool { return slices.Contains(tc.split, e) })
		if got != tc.want {
			t.Errorf("lagBoundOf(%d) with epochs %v split: got %d, want %d", tc.now, tc.split, got, tc.want)
		}
	}
}

// releaseSweep is the sweep of docs/SIMULATION.md's `release` paragraph: posnode sim net --nodes 10 --duration 90s
// --record-every 300ms --loss 5 --dup 5 --clock-skew 300ms --crash-every 15s --partition-every 30s --byzantine B
// --strategy release.
func releaseSweep(seed uint64, byzantine float64) Config {
	return Config{Seed: seed, Nodes: 10, Duration: 90 * time.Second, RecordEvery: 300 * time.Millisecond,
		LossPermille: 5, DupPermille: 5, Byzantine: byzantine, Strategies: Strategies{Release},
		Faults: Faults{CrashEvery: 15 * time.Second, LoseChainDB: true, PartitionEvery: 30 * time.Second,
			ClockSkew: 300 * time.Millisecond}}
}

// TestReleaseSplitStaysWithinTheBound replays seed 21 of the sweep with a fifth of the stake byzantine. A byzantine
// validator's private branch is released two heights above the honest head after the honest validators voted for
// an epoch's checkpoint on their own branch, while the network was whole: those votes never count, that epoch is
// never justified and the one before never finalized, so finality lags up to 5 epochs. The liveness invariant
// allows that (lagBound), and only because of the split: held to maxFinalityLag, the same run breaks it. (docs/
// SIMULATION.md's `release` paragraph traces seed 10, which showed the same before a publication with no peer
// stopped marking its bytes seen, as p2p does.) If the traces move, a seed of the sweep whose summary has a
// "release:" line and whose strict run breaks liveness replaces seed 21.
func TestReleaseSplitStaysWithinTheBound(t *testing.T) {
	cfg := releaseSweep(21, 0.2)
	r := runWith(t, cfg, nil)
	wantNone(t, r)
	if r.Stats.SplitCheckpoints == 0 {
		t.Errorf("seed %d: got no checkpoint whose honest votes a private branch split, want one", cfg.Seed)
	}
	cfg.Dir = dataDir(t)
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	s.strictLag = true
	strict, err := s.Run()
	if err != nil {
		t.Fatal(err)
	}
	if strict.Trace != r.Trace {
		t.Errorf("seed %d: the strict bound changed the run: trace %x, want %x", cfg.Seed, strict.Trace[:8], r.Trace[:8])
	}
	if !slices.ContainsFunc(strict.Violations, func(v string) bool { return strings.Contains(v, "liveness: ") }) {
		t.Errorf("seed %d: held to %d epochs, got violations %q, want a liveness one", cfg.Seed, maxFinalityLag,
			strict.Violations)
	}
}
