package consensus

import (
	"math"
	"testing"
	"time"

	"github.com/posnode/posnode/chain"
)

var testGenesis = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func TestSlotAt(t *testing.T) {
	g, sec := testGenesis, time.Second
	tests := []struct {
		name string
		d    time.Duration
		now  time.Time
		want chain.Slot
	}{
		{"long before genesis", sec, g.Add(-24 * time.Hour), 0},
		{"just before genesis", sec, g.Add(-time.Nanosecond), 0},
		{"at genesis", sec, g, 0},
		{"end of slot 0", sec, g.Add(sec - time.Nanosecond), 0},
		{"start of slot 1", sec, g.Add(sec), 1},
		{"middle of slot 1", sec, g.Add(1500 * time.Millisecond), 1},
		{"end of slot 1", sec, g.Add(2*sec - time.Nanosecond), 1},
		{"start of slot 2", sec, g.Add(2 * sec), 2},
		{"250ms slots", 250 * time.Millisecond, g.Add(1001 * time.Millisecond), 4},
		{"a day of 1s slots", sec, g.Add(24 * time.Hour), 86400},
		{"odd duration", 7 * time.Millisecond, g.Add(699 * time.Millisecond), 99},
		{"same instant, other zone", sec, g.Add(3 * sec).In(time.FixedZone("x", 5*3600)), 3},
		{"saturating far future", sec, g.AddDate(1000, 0, 0), chain.Slot(math.MaxInt64 / int64(sec))},
		{"zero duration", 0, g.Add(time.Hour), 0},
		{"negative duration", -sec, g.Add(time.Hour), 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := SlotAt(g, tt.d, tt.now); got != tt.want {
				t.Errorf("SlotAt(genesis, %v, genesis%+v) = %d, want %d", tt.d, tt.now.Sub(g), got, tt.want)
			}
		})
	}
}

func TestSlotStart(t *testing.T) {
	g, sec := testGenesis, time.Second
	last := chain.Slot(math.MaxInt64 / int64(sec))
	tests := []struct {
		name string
		d    time.Duration
		s    chain.Slot
		want time.Time
	}{
		{"slot 0", sec, 0, g},
		{"slot 1", sec, 1, g.Add(sec)},
		{"slot 2 of 250ms", 250 * time.Millisecond, 2, g.Add(500 * time.Millisecond)},
		{"a day of 1s slots", sec, 86400, g.Add(24 * time.Hour)},
		{"last expressible slot", sec, last, g.Add(time.Duration(last) * sec)},
		{"beyond saturates", sec, last + 1, g.Add(time.Duration(last) * sec)},
		{"max slot saturates", sec, math.MaxUint64, g.Add(time.Duration(last) * sec)},
		{"zero duration", 0, 5, g},
		{"negative duration", -sec, 5, g},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := SlotStart(g, tt.d, tt.s); !got.Equal(tt.want) {
				t.Errorf("SlotStart(genesis, %v, %d) = %v, want %v", tt.d, tt.s, got, tt.want)
			}
		})
	}
}

// TestSlotRoundTrip checks that every slot starts inside itself and ends where the next begins.
func TestSlotRoundTrip(t *testing.T) {
	for _, d := range []time.Duration{10 * time.Millisecond, 250 * time.Millisecond, time.Second, 7 * time.Second} {
		for _, s := range []chain.Slot{0, 1, 2, 3, 59, 60, 1000, 123456, 1 << 30} {
			start := SlotStart(testGenesis, d, s)
			if got := SlotAt(testGenesis, d, start); got != s {
				t.Errorf("d=%v: SlotAt(SlotStart(%d)) = %d, want %d", d, s, got, s)
			}
			end := SlotStart(testGenesis, d, s+1).Add(-time.Nanosecond)
			if got := SlotAt(testGenesis, d, end); got != s {
				t.Errorf("d=%v: SlotAt(SlotStart(%d)-1ns) = %d, want %d", d, s+1, got, s)
			}
		}
	}
}
