package simnet

import (
	"fmt"
	"os"
	"strings"
	"testing"
	"time"
)

// ciConfig is the fault mix of the seeds CI runs: loss, duplication, crashes with and without chain.db,
// partitions and skewed clocks, all in one run; each pending-transaction log drops its final entries as soon as
// there is one (PendingSlack 1), so that the durability invariant sees every drop.
func ciConfig(seed uint64) Config {
	return Config{Seed: seed, Nodes: 10, Duration: 90 * time.Second, RecordEvery: 300 * time.Millisecond,
		LossPermille: 5, DupPermille: 5, PendingSlack: 1, Faults: Faults{CrashEvery: 15 * time.Second,
			LoseChainDB: true, PartitionEvery: 30 * time.Second, ClockSkew: 300 * time.Millisecond}}
}

// TestSeeds runs CI's fixed seeds, each twice, the second time unshared (the determinism check of
// TestSameSeedSameTrace, on every CI seed); a violation or two traces that differ print the command that
// replays the seed.
func TestSeeds(t *testing.T) {
	seeds := []uint64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}
	if testing.Short() {
		seeds = seeds[:1]
	}
	for _, seed := range seeds {
		cfg := ciConfig(seed)
		r := runSeed(t, cfg)
		t.Logf("seed %d: %+v", seed, r.Stats)
		unshared := cfg
		unshared.Unshared = true
		if again := runSeed(t, unshared); again.Trace != r.Trace || again.Events != r.Events {
			t.Errorf("seed %d: trace %x (%d events), then %x (%d events) unshared; replay: %s --twice", seed,
				r.Trace[:8], r.Events, again.Trace[:8], again.Events, replayCommand(cfg))
		}
		if r.Stats.Acked == 0 || r.Stats.FinalizedEpoch == 0 {
			t.Errorf("seed %d: nothing happened: %+v", seed, r.Stats)
		}
		for _, v := range r.Violations {
			t.Errorf("seed %d: %s", seed, v)
		}
		if len(r.Violations) > 0 {
			t.Logf("replay: %s", replayCommand(cfg))
		}
	}
}

// TestHonestNetworkKeepsEveryInvariant: without faults, finality never lags more than maxFinalityLag and every
// record is committed once.
func TestHonestNetworkKeepsEveryInvariant(t *testing.T) {
	cfg := Config{Seed: 11, Nodes: 8, Duration: 60 * time.Second, RecordEvery: 200 * time.Millisecond}
	r := runSeed(t, cfg)
	t.Logf("%+v", r.Stats)
	if r.Stats.Crashes+r.Stats.Partitions != 0 || r.Stats.Acked < 250 {
		t.Errorf("want a run without faults and with records: %+v", r.Stats)
	}
	for _, v := range r.Violations {
		t.Error(v)
	}
}

// TestSameSeedSameTrace is the determinism check: a seed run twice gives the same trace, the second time with
// nothing shared between the processes (Config.Unshared), so that sharing hides no derivation that differs
// between them (TestSameSeedSameTraceStrategies, which -run TestSameSeedSameTrace also matches, checks the
// strategies of strategies_test.go).
func TestSameSeedSameTrace(t *testing.T) {
	cfg := ciConfig(7)
	cfg.Nodes, cfg.Duration = 6, 40*time.Second
	a := runSeed(t, cfg)
	unshared := cfg
	unshared.Unshared = true
	b := runSeed(t, unshared)
	if a.Trace != b.Trace || a.Events != b.Events {
		t.Fatalf("seed %d: trace %x (%d events), then %x (%d events); replay: %s", cfg.Seed, a.Trace[:8], a.Events,
			b.Trace[:8], b.Events, replayCommand(cfg))
	}
	cfg.Seed++
	if c := runSeed(t, cfg); c.Trace == a.Trace {
		t.Fatalf("seeds %d and %d gave one trace %x: the trace does not follow the run", cfg.Seed-1, cfg.Seed, a.Trace[:8])
	}
}

func runSeed(t *testing.T, cfg Config) Result {
	t.Helper()
	cfg.Dir = dataDir(t)
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	r, err := s.Run()
	if err != nil {
		t.Fatalf("seed %d: %v", cfg.Seed, err)
	}
	t.Logf("seed %d: %d events, trace %x, %v", cfg.Seed, r.Events, r.Trace[:8], time.Since(start).Round(time.Millisecond))
	return r
}

// dataDir is a directory for the processes' data, in /dev/shm when there is one (no disk time in the run).
func dataDir(t *testing.T) string {
	d, err := os.MkdirTemp("/dev/shm", "simnet-test-")
	if err != nil {
		return t.TempDir()
	}
	t.Cleanup(func() { os.RemoveAll(d) })
	return d
}

// replayCommand is the command line that replays cfg.
func replayCommand(c Config) string {
	f := c.Faults
	return fmt.Sprintf("posnode sim net --seed %d --nodes %d --duration %v --record-every %v --loss %d --dup %d "+
		"--crash-every %v --lose-chaindb=%v --partition-every %v --clock-skew %v", c.Seed, c.Nodes, c.Duration,
		c.RecordEvery, c.LossPermille, c.DupPermille, f.CrashEvery, f.LoseChainDB, f.PartitionEvery, f.ClockSkew) +
		replayMore(c)
}

// replayMore is the part of replayCommand for the faults and stakes of fairness.go and diskclock.go.
func replayMore(c Config) string {
	f, out := c.Faults, ""
	if len(c.Stakes) > 0 {
		out += fmt.Sprintf(" --validators %d --stakes %s --stake-every %v", c.Validators,
			strings.Trim(strings.Join(strings.Fields(fmt.Sprint(c.Stakes)), ","), "[]"), c.StakeEvery)
	}
	if c.DoppelgangerSlots > 0 {
		out += fmt.Sprintf(" --doppelganger-slots %d", c.DoppelgangerSlots)
	}
	if c.PendingSlack > 0 {
		out += fmt.Sprintf(" --pending-slack %d", c.PendingSlack)
	}
	if f.DiskFullEvery+f.DiskFailEvery+f.ClockJumpEvery > 0 || f.ClockDriftPPM > 0 {
		out += fmt.Sprintf(" --disk-full-every %v --disk-fail-every %v --clock-drift-ppm %d --clock-jump-every %v "+
			"--clock-jump %v", f.DiskFullEvery, f.DiskFailEvery, f.ClockDriftPPM, f.ClockJumpEvery, f.ClockJump)
	}
	return out
}
