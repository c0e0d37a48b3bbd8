package simnet

import (
	"testing"
	"time"
)

func TestHonestSmoke(t *testing.T) {
	r, err := runSeed(t, Config{Seed: 1, Nodes: 8, Duration: 60 * time.Second, RecordEvery: 500 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%+v", r.Stats)
	for _, v := range r.Violations {
		t.Error(v)
	}
}

func TestFaultsSmoke(t *testing.T) {
	for seed := uint64(1); seed <= 3; seed++ {
		cfg := Config{Seed: seed, Nodes: 10, Duration: 120 * time.Second, RecordEvery: 300 * time.Millisecond,
			LossPermille: 5, DupPermille: 5, Faults: Faults{CrashEvery: 15 * time.Second, LoseChainDB: true,
				PartitionEvery: 40 * time.Second, ClockSkew: 300 * time.Millisecond}}
		r, err := runSeed(t, cfg)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%+v", r.Stats)
		for _, v := range r.Violations {
			t.Error(v)
		}
	}
}

func TestSameSeedSameTrace(t *testing.T) {
	cfg := Config{Seed: 7, Nodes: 6, Duration: 40 * time.Second, RecordEvery: 400 * time.Millisecond,
		LossPermille: 10, Faults: Faults{CrashEvery: 10 * time.Second, PartitionEvery: 20 * time.Second}}
	a, err := runSeed(t, cfg)
	if err != nil {
		t.Fatal(err)
	}
	b, err := runSeed(t, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if a.Trace != b.Trace || a.Events != b.Events {
		t.Fatalf("seed %d: trace %x (%d events) then %x (%d events)", cfg.Seed, a.Trace[:8], a.Events, b.Trace[:8], b.Events)
	}
}

func runSeed(t *testing.T, cfg Config) (Result, error) {
	t.Helper()
	cfg.Dir = t.TempDir()
	s, err := New(cfg)
	if err != nil {
		return Result{}, err
	}
	start := time.Now()
	r, err := s.Run()
	t.Logf("seed %d: %d events, trace %x, %v of CPU", cfg.Seed, r.Events, r.Trace[:8], time.Since(start))
	return r, err
}
