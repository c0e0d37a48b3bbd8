package simnet

import (
	"strings"
	"testing"
	"time"

	"github.com/posnode/posnode/chain"
	"github.com/posnode/posnode/p2p"
)

// quiet is a short run without faults: ten processes, a record a second.
func quiet(seed uint64, d time.Duration) Config {
	return Config{Seed: seed, Nodes: 10, Duration: d, RecordEvery: time.Second}
}

// runWith runs cfg with hook at the end (while the processes are up), and returns the result.
func runWith(t *testing.T, cfg Config, hook func(s *Sim)) Result {
	t.Helper()
	cfg.Dir = dataDir(t)
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if hook != nil {
		s.endHook = func() { hook(s) }
	}
	r, err := s.Run()
	if err != nil {
		t.Fatalf("seed %d: %v", cfg.Seed, err)
	}
	t.Logf("seed %d: %+v", cfg.Seed, r.Stats)
	return r
}

// wantViolation fails unless one of vs starts its message with what.
func wantViolation(t *testing.T, vs []string, what string) {
	t.Helper()
	for _, v := range vs {
		if _, msg, _ := strings.Cut(v, "): "); strings.HasPrefix(msg, what) {
			return
		}
	}
	t.Errorf("no %q violation among %q", what, vs)
}

func wantNone(t *testing.T, r Result) {
	t.Helper()
	for _, v := range r.Violations {
		t.Errorf("seed %d: %s", r.Seed, v)
	}
}

// TestEquivocatorIsSlashed: a validator that signs two blocks per slot and two votes per epoch is slashed on the
// canonical chain, and nothing else breaks.
func TestEquivocatorIsSlashed(t *testing.T) {
	cfg := quiet(21, 40*time.Second)
	cfg.Byzantine, cfg.Strategies = 0.1, Strategies{Equivocate}
	r := runWith(t, cfg, nil)
	if r.Stats.Equivocations == 0 || r.Stats.Punished != 1 {
		t.Errorf("want offences and the one byzantine validator slashed: %+v", r.Stats)
	}
	wantNone(t, r)
}

// TestLateEquivocationIsPunished: second halves released 1–10 epochs after the offence still get their offender
// slashed (PROTOCOL.md §8b: evidence has no expiry of its own).
func TestLateEquivocationIsPunished(t *testing.T) {
	cfg := quiet(22, 90*time.Second)
	cfg.Byzantine, cfg.Strategies = 0.1, Strategies{Equivocate, Withhold}
	var late time.Duration
	r := runWith(t, cfg, func(s *Sim) {
		for _, e := range s.adv.equivocations {
			late = max(late, e.released-e.made)
		}
	})
	if epoch := time.Duration(cfg.Epoch) * time.Second; late < epoch || r.Stats.Punished != 1 {
		t.Errorf("want an offence released at least an epoch late (latest %v) and its offender slashed: %+v", late, r.Stats)
	}
	wantNone(t, r)
}

// TestEvidenceOutlivesItsWitness: seed 16 of the equivocate/withhold mix under CI's faults (scripts/simteeth.sh's
// 04 flags). The offender withholds one of its two votes for epoch 7 from all but one process, which finds the
// double vote, gossips the evidence (it reaches only the offender) and crashes. The offence is punished only
// because the evidence outlives the crash in that process's evidence file (PROTOCOL.md §8b); kept in memory
// only, it was lost (defect 13-evidence-in-memory).
func TestEvidenceOutlivesItsWitness(t *testing.T) {
	cfg := ciConfig(16)
	cfg.PendingSlack = 0
	cfg.Byzantine, cfg.Strategies = 0.1, Strategies{Equivocate, Withhold}
	r := runWith(t, cfg, nil)
	if r.Stats.Crashes == 0 || r.Stats.Punished != 1 {
		t.Errorf("want crashes and the one byzantine validator slashed: %+v", r.Stats)
	}
	wantNone(t, r)
}

// TestSplitVotersAreSlashed: validators that send one vote to half their peers and another to the rest are
// slashed.
func TestSplitVotersAreSlashed(t *testing.T) {
	cfg := quiet(23, 40*time.Second)
	cfg.Byzantine, cfg.Strategies = 0.2, Strategies{SplitVote}
	r := runWith(t, cfg, nil)
	if r.Stats.Equivocations == 0 || r.Stats.Punished != 2 {
		t.Errorf("want split votes and both byzantine validators slashed: %+v", r.Stats)
	}
	wantNone(t, r)
}

// TestGrinderStakes: a grinding validator stakes at the epoch tails it holds, and with the stake table's lag its
// share of the blocks stays within PROTOCOL.md §9's bound.
func TestGrinderStakes(t *testing.T) {
	cfg := quiet(24, 3*time.Minute)
	cfg.Byzantine, cfg.Strategies = 0.1, Strategies{Grind}
	var stake chain.Amount
	r := runWith(t, cfg, func(s *Sim) {
		stake = s.reference().node.Chain().HeadState().Account(s.procs[cfg.Nodes-1].addr).Stake
	})
	if stake <= 1000 {
		t.Errorf("the grinder's stake is %d, its genesis stake: it never ground", stake)
	}
	wantNone(t, r)
}

// TestGapFloodIsJudgedAndNotForwarded: the flooder's batches reach a validator that ignores them (they wait behind
// a gap; none is malformed), and no honest process forwards one.
func TestGapFloodIsJudgedAndNotForwarded(t *testing.T) {
	cfg := quiet(25, 30*time.Second)
	cfg.GapFloodEvery = 500 * time.Millisecond
	var verdicts map[p2p.Verdict]int
	r := runWith(t, cfg, func(s *Sim) { verdicts = s.adv.gapVerdicts })
	if verdicts[p2p.Ignore] == 0 || verdicts[p2p.Reject] != 0 || verdicts[p2p.Accept] != 0 {
		t.Errorf("want every flood message ignored: %v", verdicts)
	}
	wantNone(t, r)
}

// TestRestartWithoutChainDBSignsAgain: a validator that restarts without chain.db, after a doppelganger wait,
// gets its own recent blocks back from its peers and signs again.
func TestRestartWithoutChainDBSignsAgain(t *testing.T) {
	cfg := quiet(26, 60*time.Second)
	cfg.DoppelgangerSlots = 32
	var since, signed time.Duration
	cfg.Dir = dataDir(t)
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	p := s.procs[1]
	s.sched.at(20*time.Second, -1, 0, "test-crash", func() { s.crash(p) })
	s.sched.at(25*time.Second, -1, 0, "test-restart", func() { s.restart(p, true) })
	s.endHook = func() { since, signed = p.since, p.signed }
	r, err := s.Run()
	if err != nil {
		t.Fatal(err)
	}
	if since != 25*time.Second || signed < since+32*time.Second {
		t.Errorf("want process 1 restarted at 25s and signing after its wait: since %v, last signed %v", since, signed)
	}
	wantNone(t, r)
}

// TestInvariantsFire crafts a violation of each invariant of invariants_adv.go at the end of an honest run.
func TestInvariantsFire(t *testing.T) {
	cfg := quiet(27, 40*time.Second)
	var got []string
	runWith(t, cfg, func(s *Sim) {
		s.viol = nil
		// durability: a record acknowledged by process 0 that its log never held
		fake := chain.HashBytes([]byte("never submitted"))
		s.acked[fake], s.adv.nonces[fake] = 0, 1<<40
		s.checkDurability()
		delete(s.acked, fake)
		// accountability: an offence of validator 2, long released, while it is not slashed
		s.adv.equivocations = append(s.adv.equivocations, equivocation{proc: 2, what: "crafted double vote"})
		s.checkAccountability(s.reference())
		// signing: validator 3 last signed at the start
		s.procs[3].signed = 0
		s.checkSignsAgain()
		// gap forwarding: an honest process accepts a gap flood message
		s.adv.gapMsgs[[32]byte{1}] = true
		s.checkForwarded(4, [32]byte{1})
		// adversary share: a byzantine validator with a tenth of the stake proposed every block
		s.cfg.Byzantine, s.adv.shareSum, s.adv.shareN = 0.1, 0.1, 1
		s.checkAdversaryShare(map[chain.Address]int{s.procs[9].addr: 100}, 100)
		// memory: a bound below what any mempool holds
		s.stats.Acked = -1 << 20
		s.checkMemory()
		got = s.viol
	})
	for _, what := range []string{"durability", "accountability", "signing", "gap forwarding", "adversary share", "memory"} {
		wantViolation(t, got, what)
	}
}
