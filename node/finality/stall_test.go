package finality

import (
	"errors"
	"testing"

	"github.com/posnode/posnode/chain"
	"github.com/posnode/posnode/node/view"
)

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
