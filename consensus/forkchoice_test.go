package consensus

import (
	"testing"
	"time"

	"github.com/posnode/posnode/chain"
)

func tip(justified chain.Epoch, height chain.Height, slot chain.Slot, hashByte byte) chain.Tip {
	var h chain.Hash
	h[0] = hashByte
	return chain.Tip{Hash: h, Height: height, Slot: slot, Justified: justified}
}

func timely(t chain.Tip) chain.Tip {
	t.Timely = true
	return t
}

func TestBetter(t *testing.T) {
	tests := []struct {
		name string
		a, b chain.Tip
		want bool
	}{
		{"higher height wins", tip(0, 5, 9, 9), tip(0, 4, 1, 1), true},
		{"lower height loses", tip(0, 4, 1, 1), tip(0, 5, 9, 9), false},
		{"later justified checkpoint beats height", tip(3, 10, 90, 9), tip(2, 50, 60, 1), true},
		{"earlier justified checkpoint loses", tip(2, 50, 60, 1), tip(3, 10, 90, 9), false},
		{"equal height, lower slot: no preference (first seen stays)", tip(0, 5, 7, 9), tip(0, 5, 8, 1), false},
		{"equal height, higher slot: no preference", tip(0, 5, 8, 1), tip(0, 5, 7, 9), false},
		{"equal height, lower hash: no preference", tip(0, 5, 7, 1), tip(0, 5, 7, 2), false},
		{"identical tips: not strictly better", tip(1, 5, 7, 1), tip(1, 5, 7, 1), false},
		{"genesis tip loses to block 1", tip(0, 0, 0, 0), tip(0, 1, 1, 0xff), false},
		{"late tip one higher than a timely one: no preference", tip(0, 6, 9, 9), timely(tip(0, 5, 8, 1)), false},
		{"timely tip one lower than a late one: no preference", timely(tip(0, 5, 8, 1)), tip(0, 6, 9, 9), false},
		{"late tip two higher than a timely one wins", tip(0, 7, 9, 9), timely(tip(0, 5, 8, 1)), true},
		{"timely tip beats a late one of its height", timely(tip(0, 5, 9, 9)), tip(0, 5, 8, 1), true},
		{"timely tip one higher than a timely one wins", timely(tip(0, 6, 9, 9)), timely(tip(0, 5, 8, 1)), true},
		{"justification beats timeliness", tip(3, 5, 9, 9), timely(tip(2, 9, 8, 1)), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Better(tt.a, tt.b); got != tt.want {
				t.Errorf("Better(%v, %v) = %v, want %v", tt.a, tt.b, got, tt.want)
			}
		})
	}
}

// TestBetterIsStrictWeakOrder checks irreflexivity, asymmetry, transitivity and transitivity of ties on every
// pair and triple of a grid of tips: every node ranks any set of tips the same way up to ties, and ties go to
// the tip seen first.
func TestBetterIsStrictWeakOrder(t *testing.T) {
	var tips []chain.Tip
	for j := chain.Epoch(0); j < 3; j++ {
		for h := chain.Height(0); h < 3; h++ {
			for s := chain.Slot(0); s < 3; s++ {
				for _, b := range []byte{0x00, 0xff} {
					tips = append(tips, tip(j, h, s, b), timely(tip(j, h, s, b)))
				}
			}
		}
	}
	tie := func(a, b chain.Tip) bool { return !Better(a, b) && !Better(b, a) }
	for _, a := range tips {
		if Better(a, a) {
			t.Errorf("Better(%v, itself) = true, want false", a)
		}
		for _, b := range tips {
			if Better(a, b) && Better(b, a) {
				t.Errorf("Better(%v, %v) and Better(b, a) both true", a, b)
			}
			for _, c := range tips {
				if Better(a, b) && Better(b, c) && !Better(a, c) {
					t.Errorf("Better(a, b) and Better(b, c) but not Better(a, c): %v %v %v", a, b, c)
				}
				if tie(a, b) && tie(b, c) && !tie(a, c) {
					t.Errorf("a ~ b and b ~ c but not a ~ c: %v %v %v", a, b, c)
				}
			}
		}
	}
}

func TestTimely(t *testing.T) {
	g, d := time.Unix(1000, 0), time.Second
	start := SlotStart(g, d, 7)
	tests := []struct {
		name    string
		arrived time.Time
		want    bool
	}{
		{"before its slot (within the clock tolerance)", start.Add(-400 * time.Millisecond), true},
		{"at the slot start", start, true},
		{"at the middle of the slot", start.Add(d / 2), true},
		{"just after the middle", start.Add(d/2 + time.Millisecond), false},
		{"two slots late", start.Add(2 * d), false},
	}
	for _, tt := range tests {
		if got := Timely(g, d, 7, tt.arrived); got != tt.want {
			t.Errorf("%s: Timely = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestSupermajority(t *testing.T) {
	const max = ^uint64(0)
	tests := []struct {
		stake, total uint64
		want         bool
	}{
		{2, 3, true}, {1, 3, false}, {66, 100, false}, {67, 100, true}, {0, 0, false}, {0, 1, false},
		{max, max, true}, {max/3*2 - 1, max, false}, {max / 3 * 2, max, true}, // 2^64 − 1 is a multiple of 3
	}
	for _, tc := range tests {
		if got := Supermajority(chain.Amount(tc.stake), chain.Amount(tc.total)); got != tc.want {
			t.Errorf("Supermajority(%d, %d) = %v, want %v", tc.stake, tc.total, got, tc.want)
		}
	}
}
