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
