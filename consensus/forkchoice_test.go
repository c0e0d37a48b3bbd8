package consensus

import (
	"testing"

	"github.com/posnode/posnode/chain"
)

func tip(height chain.Height, slot chain.Slot, hashByte byte) chain.Tip {
	var h chain.Hash
	h[0] = hashByte
	return chain.Tip{Hash: h, Height: height, Slot: slot}
}

func TestBetter(t *testing.T) {
	tests := []struct {
		name string
		a, b chain.Tip
		want bool
	}{
		{"higher height wins", tip(5, 9, 9), tip(4, 1, 1), true},
		{"lower height loses", tip(4, 1, 1), tip(5, 9, 9), false},
		{"height beats slot and hash", tip(2, 100, 0xff), tip(1, 1, 0), true},
		{"equal height: lower slot wins", tip(5, 7, 9), tip(5, 8, 1), true},
		{"equal height: higher slot loses", tip(5, 8, 1), tip(5, 7, 9), false},
		{"equal slot: lower hash wins", tip(5, 7, 1), tip(5, 7, 2), true},
		{"equal slot: higher hash loses", tip(5, 7, 2), tip(5, 7, 1), false},
		{"hash compares as bytes, first byte first", tip(0, 0, 0x01), tip(0, 0, 0x80), true},
		{"identical tips: not strictly better", tip(5, 7, 1), tip(5, 7, 1), false},
		{"genesis tip loses to block 1", tip(0, 0, 0), tip(1, 1, 0xff), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Better(tt.a, tt.b); got != tt.want {
				t.Errorf("Better(%v, %v) = %v, want %v", tt.a, tt.b, got, tt.want)
			}
		})
	}
}

// TestBetterIsStrictTotalOrder checks irreflexivity, antisymmetry, totality and transitivity on
// every pair and triple of a grid of tips.
func TestBetterIsStrictTotalOrder(t *testing.T) {
	var tips []chain.Tip
	for h := chain.Height(0); h < 3; h++ {
		for s := chain.Slot(0); s < 3; s++ {
			for _, b := range []byte{0x00, 0x01, 0x80, 0xff} {
				tips = append(tips, tip(h, s, b))
			}
		}
	}
	late := tip(1, 1, 0x01)
	late.Hash[31] = 1 // differs only in the last byte
	tips = append(tips, late)
	for _, a := range tips {
		if Better(a, a) {
			t.Errorf("Better(%v, itself) = true, want false", a)
		}
		for _, b := range tips {
			if a == b {
				continue
			}
			ab, ba := Better(a, b), Better(b, a)
			if ab == ba {
				t.Errorf("Better(%v, %v) = %v and Better(b, a) = %v, want exactly one true", a, b, ab, ba)
			}
			for _, c := range tips {
				if ab && Better(b, c) && !Better(a, c) {
					t.Errorf("Better(a, b) and Better(b, c) but not Better(a, c): %v %v %v", a, b, c)
				}
			}
		}
	}
}
