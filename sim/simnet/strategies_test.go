package simnet

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

// TestSurroundVoterIsSlashed: a validator whose vote surrounds its earlier one, with no two votes for one target
// epoch, is slashed on the canonical chain (PROTOCOL.md §8b's surround rule), and nothing else breaks.
func TestSurroundVoterIsSlashed(t *testing.T) {
	cfg := quiet(31, 60*time.Second)
	cfg.Byzantine, cfg.Strategies = 0.1, Strategies{Surround}
	var what string
	r := runWith(t, cfg, func(s *Sim) {
		if len(s.adv.equivocations) > 0 {
			what = s.adv.equivocations[0].what
		}
	})
	if r.Stats.Equivocations != 1 || r.Stats.Punished != 1 || !strings.HasPrefix(what, "surround vote 0/") {
		t.Errorf("want one surround vote (%q) and its validator slashed: %+v", what, r.Stats)
	}
	wantNone(t, r)
}

// TestReleasedBranchesKeepTheInvariants: validators that keep their blocks private and release them as a late
// branch gain no more than PROTOCOL.md §9's share, and safety and liveness hold.
func TestReleasedBranchesKeepTheInvariants(t *testing.T) {
	cfg := quiet(32, 90*time.Second)
	cfg.Byzantine, cfg.Strategies = 0.3, Strategies{Release}
	var released int
	r := runWith(t, cfg, func(s *Sim) { released = len(s.adv.more.released) })
	if released == 0 {
		t.Errorf("want private blocks released: %+v", r.Stats)
	}
	wantNone(t, r)
}

func TestParseStrategies(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want string
		err  error
	}{
		{"", "", nil},
		{"surround, release", "surround,release", nil},
		{"synclie,equivocate", "synclie,equivocate", nil},
		{"longrange", "longrange", nil},
		{"long-range", "", ErrStrategy},
		{"grind,lie", "", ErrStrategy},
	} {
		got, err := ParseStrategies(tc.in)
		if !errors.Is(err, tc.err) || err == nil && got.String() != tc.want {
			t.Errorf("ParseStrategies(%q) = %q, %v; want %q, %v", tc.in, got, err, tc.want, tc.err)
		}
	}
}

// TestSyncLiarIsPenalised: validators that lie in their sync answers are penalised by the honest processes their
// invalid answers reach, and every honest process keeps up.
func TestSyncLiarIsPenalised(t *testing.T) {
	cfg := quiet(33, 60*time.Second)
	cfg.Byzantine, cfg.Strategies = 0.2, Strategies{SyncLie}
	var invalid, charged int
	r := runWith(t, cfg, func(s *Sim) {
		l := s.adv.more.lies
		t.Logf("sync lies: %s", &l)
		for k, n := range l.invalid {
			invalid += n
			charged += l.penalties[k]
		}
	})
	if invalid == 0 || charged == 0 {
		t.Errorf("want invalid answers delivered (%d) and their liars penalised (%d points)", invalid, charged)
	}
	wantNone(t, r)
}

// TestSameSeedSameTraceStrategies is the determinism check with the strategies of surround.go, release.go,
// synclie.go and longrange.go: a seed run twice gives the same trace, the second time unshared (TestSameSeedSameTrace).
func TestSameSeedSameTraceStrategies(t *testing.T) {
	for _, st := range []Strategy{Surround, Release, SyncLie, LongRange} {
		cfg := ciConfig(7)
		cfg.Nodes, cfg.Duration, cfg.Byzantine, cfg.Strategies = 6, 40*time.Second, 0.34, Strategies{st}
		unshared := cfg
		unshared.Unshared = true
		a, b := runSeed(t, cfg), runSeed(t, unshared)
		if a.Trace != b.Trace || a.Events != b.Events {
			t.Errorf("%s, seed %d: trace %x (%d events), then %x (%d events)", st, cfg.Seed, a.Trace[:8], a.Events,
				b.Trace[:8], b.Events)
		}
	}
}

// TestLongRangeNeedsTheCheckpoint is issue 21's long-range attack in the simulator (PROTOCOL.md §12, §13a): the
// byzantine validators, three quarters of the genesis stake, unstake at once on the real chain and rebuild a
// finalized history from genesis among themselves; honest processes restarted without chain.db, given the real
// chain's finalized checkpoint, meet them first. Each refuses the rebuilt chain and its anchor, penalises the
// peers that served them, follows the real chain once its honest links come up, and nothing else breaks.
func TestLongRangeNeedsTheCheckpoint(t *testing.T) {
	cfg := quiet(34, 60*time.Second)
	cfg.Byzantine, cfg.Strategies = 0.2, Strategies{LongRange}
	var charged int
	var witnesses []string
	r := runWith(t, cfg, func(s *Sim) {
		for k := range s.adv.more.lr.served {
			charged += s.adv.more.lies.penalties[k]
		}
		for _, p := range s.procs {
			if p.trusted != nil && p.up {
				in, _ := p.node.Chain().Contains(p.node.Chain().Head().Hash, *p.trusted)
				_, f := p.node.Chain().Finality()
				witnesses = append(witnesses, fmt.Sprintf("process %d: trusted %s, finalized %s, contains it %v",
					p.id, p.trusted, f, in))
			}
		}
	})
	t.Logf("witnesses: %v; %d answers served the rebuilt chain, %d points charged for them", witnesses,
		r.Stats.RebuiltServed, charged)
	if r.Stats.Witnesses == 0 || len(witnesses) == 0 || r.Stats.RebuiltServed == 0 || charged == 0 {
		t.Errorf("want witnesses up at the end (%d started, %d up), rebuilt answers served them (%d) and penalised "+
			"(%d points)", r.Stats.Witnesses, len(witnesses), r.Stats.RebuiltServed, charged)
	}
	if r.Stats.FinalizedEpoch < 10 || r.Stats.AdversaryBlocks != 0 {
		t.Errorf("want the real chain finalized past epoch 10 without a block of the byzantine validators: %+v", r.Stats)
	}
	wantNone(t, r)
}
