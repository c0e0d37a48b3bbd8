package simnet

import (
	"testing"
	"time"
)

// TestCrashesDuringCheckpointSyncAndPruning crashes processes at instants drawn from the seed, a third of them
// restarting without chain.db and joining again by checkpoint sync at the newest finalized checkpoint; every process
// but process 0 (the archive the end's checks read) keeps one epoch of blocks below its floor, so that each floor
// rise prunes. A crash lands between two events, so
// before or after a store write: in the anchor's fetch, between its install and the blocks above it, or around a
// floor rise's snapshot and pruning. Every invariant holds (agreement, finality, every acknowledged record committed
// once), and in each of the seeds counted some process did join by checkpoint sync (PROTOCOL.md §11, §13, §13a).
func TestCrashesDuringCheckpointSyncAndPruning(t *testing.T) {
	want := 3 // seeds that restart a process without chain.db at least once
	if testing.Short() {
		want = 1
	}
	exercised := 0
	for seed := uint64(21); seed < 21+4*uint64(want) && exercised < want; seed++ {
		cfg := Config{Seed: seed, Nodes: 6, Duration: 60 * time.Second, RecordEvery: 300 * time.Millisecond,
			RetainEpochs: 1, CheckpointSync: true, Faults: Faults{CrashEvery: 4 * time.Second, LoseChainDB: true}}
		cfg.Dir = dataDir(t)
		s, err := New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		r, err := s.Run()
		if err != nil {
			t.Fatalf("seed %d: %v", seed, err)
		}
		joined := 0
		for _, p := range s.procs {
			if p.trusted != nil {
				joined++
			}
		}
		t.Logf("seed %d: %d processes joined by checkpoint sync, %d records acknowledged", seed, joined, r.Stats.Acked)
		if joined > 0 && r.Stats.Acked > 0 {
			exercised++
		}
		for _, v := range r.Violations {
			t.Errorf("seed %d: %s", seed, v)
		}
	}
	if exercised < want {
		t.Errorf("%d seeds joined a process by checkpoint sync with records acknowledged, want %d: the runs exercised too little", exercised, want)
	}
}
