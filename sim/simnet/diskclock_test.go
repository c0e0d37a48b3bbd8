package simnet

import (
	"testing"
	"time"
)

// diskClockConfig is CI's seed of disks that fill up and fail and clocks that drift and jump, with crashes: the
// records, durability, signing and slashing invariants judge what the nodes made of them.
func diskClockConfig(seed uint64) Config {
	return Config{Seed: seed, Nodes: 8, Duration: 90 * time.Second, RecordEvery: 300 * time.Millisecond,
		Faults: Faults{CrashEvery: 20 * time.Second, DiskFullEvery: 10 * time.Second, DiskFailEvery: 10 * time.Second,
			ClockDriftPPM: 20_000, ClockJumpEvery: 10 * time.Second, ClockJump: 3 * time.Second}}
}

// TestDiskAndClockFaults runs the disk and clock seed: every invariant holds, the faults happened, and the nodes
// refused some records on a full or failing disk rather than acknowledge what they could not keep.
func TestDiskAndClockFaults(t *testing.T) {
	cfg := diskClockConfig(2)
	r := runSeed(t, cfg)
	t.Logf("%+v", r.Stats)
	for _, v := range r.Violations {
		t.Errorf("seed %d: %s", cfg.Seed, v)
	}
	if len(r.Violations) > 0 {
		t.Logf("replay: %s", replayCommand(cfg))
	}
	if st := r.Stats; st.DiskFaults == 0 || st.ClockJumps == 0 || st.Refused == 0 || st.Acked == 0 {
		t.Errorf("want disk episodes, clock jumps, refused and acknowledged records: %d, %d, %d, %d", st.DiskFaults,
			st.ClockJumps, st.Refused, st.Acked)
	}
}

// TestClockOffset: a drift adds its parts per million of the virtual time since genesis to the jumps.
func TestClockOffset(t *testing.T) {
	tests := []struct {
		c    clockFault
		now  time.Duration
		want time.Duration
	}{
		{clockFault{}, time.Hour, 0},
		{clockFault{ppm: 20_000}, 100 * time.Second, 2 * time.Second},
		{clockFault{ppm: -1_000, jump: 3 * time.Second}, 1000 * time.Second, 2 * time.Second},
	}
	for _, tc := range tests {
		if got := tc.c.offset(tc.now); got != tc.want {
			t.Errorf("%+v at %v: got %v, want %v", tc.c, tc.now, got, tc.want)
		}
	}
}
