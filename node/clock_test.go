package node

import (
	"testing"
	"time"
)

// estimateClock's verdicts: a majority of the weight, the node's own included, beyond the tolerance on one side.
func TestEstimateClock(t *testing.T) {
	s := func(offset time.Duration, weight uint64) clockSample {
		return clockSample{offset: offset, weight: weight}
	}
	const sec = time.Second
	tests := []struct {
		name    string
		samples []clockSample
		self    uint64
		wasOff  bool
		offset  time.Duration
		off, ok bool
	}{
		{"one source is not enough", []clockSample{s(2*sec, 20)}, 40, false, 0, false, false},
		{"the 40 % validator 2 s slow sees three peers ahead", []clockSample{s(2*sec, 20), s(2*sec, 20), s(2*sec, 20)}, 40, false, 2 * sec, true, true},
		{"the 40 % validator 2 s fast sees three peers behind", []clockSample{s(-2*sec, 20), s(-2*sec, 20), s(-2*sec, 20)}, 40, false, -2 * sec, true, true},
		{"an honest node sees the skewed 40 % and one honest peer", []clockSample{s(-2*sec, 40), s(0, 20)}, 20, false, 0, false, true},
		{"an honest node sees all three", []clockSample{s(-2*sec, 40), s(10*time.Millisecond, 20), s(0, 20)}, 20, false, 0, false, true},
		{"small offsets are not off", []clockSample{s(300*time.Millisecond, 20), s(400*time.Millisecond, 20)}, 10, false, 300 * time.Millisecond, false, true},
		{"while off, 400 ms still counts as off", []clockSample{s(400*time.Millisecond, 20), s(400*time.Millisecond, 20)}, 10, true, 400 * time.Millisecond, true, true},
		{"while off, 200 ms counts as right again", []clockSample{s(200*time.Millisecond, 20), s(200*time.Millisecond, 20)}, 10, true, 0, false, true},
		{"peers without stake do not count beside staked ones", []clockSample{s(5*sec, 0), s(5*sec, 0), s(5*sec, 0), s(0, 20), s(0, 20)}, 20, false, 0, false, true},
		{"without stake anywhere each source counts once", []clockSample{s(-3*sec, 0), s(-3*sec, 0)}, 0, false, -3 * sec, true, true},
	}
	for _, tt := range tests {
		offset, off, ok := estimateClock(append([]clockSample(nil), tt.samples...), tt.self, tt.wasOff)
		if ok != tt.ok || off != tt.off || (tt.offset != 0 && offset != tt.offset) {
			t.Errorf("%s: got offset %s off %v ok %v, want offset %s off %v ok %v", tt.name, offset, off, ok, tt.offset, tt.off, tt.ok)
		}
	}
}
