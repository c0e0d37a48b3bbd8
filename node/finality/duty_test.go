package finality

import (
	"errors"
	"testing"
	"time"

	"github.com/posnode/posnode/chain"
	"github.com/posnode/posnode/node/view"
)

// Finalized reports each newer finalized checkpoint once, and FinalizedAt when it was seen.
func TestFinalized(t *testing.T) {
	c := newChain()
	c.finalized = cp(2, 0)
	d := dutyOf(0, c, 4)
	at := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	steps := []struct {
		f    chain.Checkpoint
		want bool
	}{{cp(2, 0), false}, {cp(3, 0), true}, {cp(3, 0), false}, {cp(2, 1), false}, {cp(5, 0), true}}
	for i, s := range steps {
		if got := d.Finalized(s.f, at.Add(time.Duration(i)*time.Second)); got != s.want {
			t.Errorf("step %d, finalized %s: got %t, want %t", i, s.f, got, s.want)
		}
	}
	if got, ok := d.FinalizedAt(cp(5, 0)); !ok || !got.Equal(at.Add(4*time.Second)) {
		t.Errorf("finalized at: got %v, %t; want %v", got, ok, at.Add(4*time.Second))
	}
	if _, ok := d.FinalizedAt(cp(3, 0)); ok {
		t.Error("a time for a checkpoint finalized before the last")
	}
}

// LagSlots counts from the first slot of the finalized checkpoint's epoch, and is 0 before it.
func TestLagSlots(t *testing.T) {
	cases := []struct {
		finalized chain.Epoch
		now       chain.Slot
		want      uint64
	}{
		{0, 0, 0},
		{0, 13, 13},
		{2, 16, 0},
		{2, 21, 5},
		{3, 20, 0}, // a finalized epoch ahead of the clock (a skewed peer's blocks)
	}
	for _, tc := range cases {
		if got := LagSlots(chain.Checkpoint{Epoch: tc.finalized}, tc.now, epochLen); got != tc.want {
			t.Errorf("finalized epoch %d at slot %d: got %d slots, want %d", tc.finalized, tc.now, got, tc.want)
		}
	}
}

// A finality stall is told when it starts, again every StallRemind epochs while it lasts, and once when it ends.
func TestStallNews(t *testing.T) {
	d := dutyOf(0, newChain(), 0)
	const fin = 2
	start := chain.Epoch(fin + view.StallEpochs + 1)
	steps := []struct {
		name  string
		epoch chain.Epoch
		fin   chain.Epoch
		want  StallNews
	}{
		{"within the bound", fin + view.StallEpochs, fin, NoNews},
		{"past it", start, fin, Stalled},
		{"still stalled", start + 1, fin, NoNews},
		{"StallRemind epochs later", start + StallRemind, fin, Stalled},
		{"just before the next reminder", start + 2*StallRemind - 1, fin, NoNews},
		{"finality back within the bound", start + 2*StallRemind, start + StallRemind + 5, Resumed},
		{"and still", start + 2*StallRemind + 1, start + StallRemind + 5, NoNews},
	}
	for _, s := range steps {
		if got := d.Stall(s.epoch, chain.Checkpoint{Epoch: s.fin}); got != s.want {
			t.Errorf("%s (epoch %d, finalized %d): got %d, want %d", s.name, s.epoch, s.fin, got, s.want)
		}
	}
}

// Silent names the validators whose vote for the epoch the node saw neither in its pool nor on its branch, largest
// stake first.
func TestSilent(t *testing.T) {
	const e = 5
	c := newChain()
	d := dutyOf(0, c, e)
	if _, err := d.Pool().AddVote(vote(0, cp(e-1, 0), cp(e, 0))); err != nil { // 10 voted, in the pool
		t.Fatal(err)
	}
	c.holds[addr(2)] = true // 30 voted, on the branch
	silent, total, err := d.Silent(e, c)
	if err != nil {
		t.Fatal(err)
	}
	if total != 100 || len(silent) != 2 || silent[0].Addr != addr(3) || silent[1].Addr != addr(1) {
		t.Errorf("got %v of %d, want validators 3 (40) and 1 (20) of 100", silent, total)
	}
	c.tableErr = errDisk
	if _, _, err := d.Silent(e, c); !errors.Is(err, errDisk) {
		t.Errorf("unreadable table: got %v, want %v", err, errDisk)
	}
}
