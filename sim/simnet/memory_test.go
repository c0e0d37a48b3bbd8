package simnet

import (
	"context"
	"testing"
	"time"

	"github.com/posnode/posnode/node"
)

// TestMemoryLimits: at the end of an honest run every size a process reports is within its bound and the reports
// are live (the tree, the vote pool and the kept epochs hold something); and each bound fires on a size above it.
func TestMemoryLimits(t *testing.T) {
	cfg := quiet(27, 40*time.Second)
	cfg.PendingSlack = 1
	huge := 1 << 40
	mutations := []struct {
		what   string
		mutate func(*node.Sizes)
	}{
		{"tree blocks below the floor's height", func(z *node.Sizes) { z.Tree.BelowFloor = 1 }},
		{"tree blocks", func(z *node.Sizes) { z.Tree.Blocks = huge }},
		{"tree states", func(z *node.Sizes) { z.Tree.States = huge }},
		{"tree epochs below the floor", func(z *node.Sizes) { z.Tree.Epochs = huge }},
		{"pool votes", func(z *node.Sizes) { z.Votes = huge }},
		{"pool first headers", func(z *node.Sizes) { z.Headers = huge }},
		{"pending-log entries", func(z *node.Sizes) { z.PendingLog = huge }},
		{"pending-log entries its finalized state has passed", func(z *node.Sizes) { z.PendingPassed = 1 }},
		{"read-index heights", func(z *node.Sizes) { z.ReadHeights = huge }},
		{"clock samples of peers", func(z *node.Sizes) { z.ClockPeers = huge }},
	}
	runWith(t, cfg, func(s *Sim) {
		p := s.procs[0]
		sz, err := p.node.Sizes(context.Background())
		if err != nil {
			t.Fatalf("sizes of process 0: %v", err)
		}
		t.Logf("sizes of process 0: %+v", sz)
		for _, l := range s.memLimits(p, sz) {
			if l.held > l.bound {
				t.Errorf("%s: got %d, want at most %d (%s)", l.what, l.held, l.bound, l.formula)
			}
		}
		if sz.Tree.Blocks == 0 || sz.Tree.Epochs == 0 || sz.Votes == 0 || sz.Headers == 0 {
			t.Errorf("got %+v, want blocks, kept epochs, votes and headers", sz)
		}
		for _, m := range mutations {
			z := sz
			m.mutate(&z)
			fired := false
			for _, l := range s.memLimits(p, z) {
				fired = fired || l.what == m.what && l.held > l.bound
			}
			if !fired {
				t.Errorf("%s above its bound: no violation", m.what)
			}
		}
	})
}
