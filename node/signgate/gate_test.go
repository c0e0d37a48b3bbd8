package signgate

import (
	"slices"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
)

// A reason is logged and announced once when it starts and once when it ends, however often it is set; Blocks
// answers per duty and by precedence; Status, Kinds and the metric follow.
func TestGate(t *testing.T) {
	core, logs := observer.New(zapcore.DebugLevel)
	reg := prometheus.NewRegistry()
	var said []string
	g := New(zap.New(core), reg, func(s string) { said = append(said, s) })
	if g.Status() != "active" || len(g.Kinds()) != 0 {
		t.Fatalf("new gate: status %q, kinds %v", g.Status(), g.Kinds())
	}
	for range 5 { // once per slot
		g.Update(SlashingProtection, true, Block, "it holds a block at slot 9000")
	}
	if _, ok := g.Blocks(Vote); ok {
		t.Error("a block-only reason blocks votes")
	}
	if k, ok := g.Blocks(Block); !ok || k != SlashingProtection {
		t.Errorf("blocks: got %v %v, want slashing-protection", k, ok)
	}
	if got := g.Status(); got != "refused by the slashing protection record: it holds a block at slot 9000 (blocks only)" {
		t.Errorf("status: %q", got)
	}
	g.Set(Clock, All, "2 s behind peers")
	g.Set(Doppelganger, All, "block x was signed by another process")
	if k, _ := g.Blocks(Vote); k != Doppelganger || g.Status() != "stopped: block x was signed by another process" {
		t.Errorf("precedence: blocks votes by %v, status %q", k, g.Status())
	}
	if got := g.Kinds(); !slices.Equal(got, []string{"doppelganger", "slashing-protection", "clock"}) {
		t.Errorf("kinds: %v", got)
	}
	if v := gauge(g, "clock"); v != 1 {
		t.Errorf("clock metric: %v, want 1", v)
	}
	g.Clear(Clock)
	g.Clear(Clock)
	g.Update(SlashingProtection, false, Block, "")
	if v := gauge(g, "clock"); v != 0 {
		t.Errorf("clock metric after clearing: %v, want 0", v)
	}
	starts, ends := logs.FilterMessage("not signing").Len(), logs.FilterMessage("signing no longer held back").Len()
	if starts != 3 || ends != 2 || len(said) != 5 {
		t.Errorf("logged %d starts and %d ends, announced %d lines: want 3, 2, 5", starts, ends, len(said))
	}
	if lvl := logs.FilterMessage("not signing").All()[0].Level; lvl != zapcore.WarnLevel {
		t.Errorf("a record hold logged at %v, want WARN", lvl)
	}
}

func gauge(g *Gate, reason string) float64 {
	var m dto.Metric
	g.blocked.WithLabelValues(reason).Write(&m)
	return m.GetGauge().GetValue()
}

// A node that is no validator has nothing to sign: the start-up wait and a sync it goes through are kept but not
// announced, logged above DEBUG or counted, and status says "not a validator" (issue 22's joiner, defect E); once
// it becomes a validator, the reasons that still hold start then.
func TestGateNotValidator(t *testing.T) {
	tests := []struct {
		name       string
		validator  bool
		wantStatus string
		wantKinds  []string
		wantSaid   []string
		wantMetric float64 // posnode_signing_blocked{reason="doppelganger-wait"}
		wantValid  float64 // posnode_validator
	}{
		{"no stake", false, NotValidator, []string{}, nil, 0, 0},
		{"validator", true, "waiting for the doppelganger check until slot 343", []string{"doppelganger-wait", "syncing"},
			[]string{"!!! not signing blocks and votes: waiting for the doppelganger check until slot 343",
				"!!! not signing blocks and votes: syncing: not caught up with the best peer yet"}, 1, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			core, logs := observer.New(zapcore.DebugLevel)
			var said []string
			g := New(zap.New(core), prometheus.NewRegistry(), func(s string) { said = append(said, s) })
			g.SetValidator(tt.validator)
			g.Update(DoppelgangerWait, true, All, "waiting for the doppelganger check until slot 343")
			g.Update(Syncing, true, All, "not caught up with the best peer yet")
			if got := g.Status(); got != tt.wantStatus {
				t.Errorf("status: got %q, want %q", got, tt.wantStatus)
			}
			if got := g.Kinds(); !slices.Equal(got, tt.wantKinds) {
				t.Errorf("kinds: got %v, want %v", got, tt.wantKinds)
			}
			if !slices.Equal(said, tt.wantSaid) {
				t.Errorf("announced: got %q, want %q", said, tt.wantSaid)
			}
			if got := gauge(g, "doppelganger-wait"); got != tt.wantMetric {
				t.Errorf("doppelganger-wait metric: got %v, want %v", got, tt.wantMetric)
			}
			if got := validatorGauge(g); got != tt.wantValid {
				t.Errorf("posnode_validator: got %v, want %v", got, tt.wantValid)
			}
			if k, ok := g.Blocks(Block); !ok || k != DoppelgangerWait {
				t.Errorf("blocks: got %v %v, want doppelganger-wait true", k, ok)
			}
			if !tt.validator && logs.FilterLevelExact(zapcore.DebugLevel).Len() != logs.Len()-1 {
				t.Errorf("a node without stake logged above DEBUG: %v", logs.All())
			}
		})
	}
}

// A node that becomes a validator while a reason holds announces it then; one that stops being one falls quiet.
func TestGateBecomesValidator(t *testing.T) {
	var said []string
	g := New(zap.NewNop(), prometheus.NewRegistry(), func(s string) { said = append(said, s) })
	g.SetValidator(false)
	g.Set(Syncing, All, "not caught up with the best peer yet")
	g.SetValidator(true)
	want := []string{"!!! not signing blocks and votes: syncing: not caught up with the best peer yet"}
	if !slices.Equal(said, want) || gauge(g, "syncing") != 1 || g.Status() != "syncing: not caught up with the best peer yet" {
		t.Errorf("after becoming a validator: said %q, metric %v, status %q; want %q, 1, syncing", said, gauge(g, "syncing"), g.Status(), want)
	}
	g.SetValidator(false)
	g.Clear(Syncing)
	if len(said) != 1 || gauge(g, "syncing") != 0 || g.Status() != NotValidator {
		t.Errorf("after leaving the table: said %q, metric %v, status %q; want one line, 0, %q", said, gauge(g, "syncing"), g.Status(), NotValidator)
	}
}

func validatorGauge(g *Gate) float64 {
	var m dto.Metric
	g.validator.Write(&m)
	return m.GetGauge().GetValue()
}
