package main

import (
	"strings"
	"testing"
)

// The liveness rule of the finality check: within a quorum span the finalized epoch must rise at least every
// window·epoch_length slots; outside quorum spans it may stand still.
func TestFinalityLiveness(t *testing.T) {
	q := func(slot, fin uint64) finalitySample { return finalitySample{slot: slot, finalized: fin, quorum: true} }
	noQ := func(slot, fin uint64) finalitySample { return finalitySample{slot: slot, finalized: fin} }
	cases := []struct {
		name      string
		samples   []finalitySample
		wantErr   string // "" for none
		noRise    uint64
		spans     int
		quorumLen uint64
	}{
		{"rises every epoch", []finalitySample{q(0, 0), q(10, 1), q(20, 2), q(30, 3), q(40, 4)}, "", 10, 1, 40},
		{"stalls within a quorum span", []finalitySample{q(0, 0), q(10, 1), q(20, 1), q(45, 1), q(50, 2)},
			"stayed at 1 for 35 slots", 40, 1, 50},
		{"stalls only without a quorum", []finalitySample{q(0, 0), q(10, 1), noQ(20, 1), noQ(60, 1), q(70, 1), q(80, 2), q(100, 3)},
			"", 20, 2, 40},
		{"too short to check", []finalitySample{q(0, 0), q(10, 1)}, "checked nothing", 10, 1, 10},
	}
	for _, c := range cases {
		w := &finalityWatch{epochLength: 10, window: 3, samples: c.samples}
		var res finalityResult
		w.liveness(&res)
		var got string
		if len(res.errs) > 0 {
			got = res.errs[0].Error()
		}
		if c.wantErr == "" && got != "" || !strings.Contains(got, c.wantErr) {
			t.Errorf("%s: error %q, want one containing %q", c.name, got, c.wantErr)
		}
		if res.longestNoRise != c.noRise || res.spans != c.spans || res.quorumSlots != c.quorumLen {
			t.Errorf("%s: longest stretch %d, spans %d, quorum slots %d; want %d, %d, %d", c.name, res.longestNoRise,
				res.spans, res.quorumSlots, c.noRise, c.spans, c.quorumLen)
		}
	}
}
