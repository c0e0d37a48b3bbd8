package prompt

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/posnode/posnode/chain"
)

// blocksAt makes the blocks from..to, block h in slot h+14 (some slots were empty), proposed by p.
func blocksAt(from, to chain.Height, p chain.Address) []*chain.Block {
	var bs []*chain.Block
	for h := from; h <= to; h++ {
		bs = append(bs, &chain.Block{Header: chain.Header{Height: h, Slot: chain.Slot(h) + 14, Proposer: p}})
	}
	return bs
}

// A joining node that syncs 215 blocks announces them in one line, not 215; the blocks that follow, made while
// it watches, each get their own.
func TestBlocksJoiningNode(t *testing.T) {
	var a Blocks
	self, other := chain.Address{1}, chain.Address{2}
	now := time.Unix(1_000_000, 0)
	got := a.Applied(now, 230, blocksAt(1, 215, other), self) // one sync batch; slots 228 and 229 are news
	want := []string{"caught up 213 blocks, #1..#213",
		fmt.Sprintf("slot 228: %s won -> block #214 %s (0 txs)", other.Short(), blocksAt(214, 214, other)[0].Hash().Short()),
		fmt.Sprintf("slot 229: %s won -> block #215 %s (0 txs)", other.Short(), blocksAt(215, 215, other)[0].Hash().Short())}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got lines\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	late := blocksAt(216, 216, other)[0] // one block three slots late: history, said as such
	late.Header.Slot = 227
	if got := a.Applied(now.Add(time.Second), 230, []*chain.Block{late}, self); len(got) != 0 {
		t.Errorf("a late block within catchUpEvery of the last summary: got %q, want nothing yet", got)
	}
	next := blocksAt(217, 217, self)
	got = a.Applied(now.Add(2*time.Second), 232, next, self)
	want = []string{"caught up 1 block, #216",
		fmt.Sprintf("slot 231: you (%s) won -> block #217 %s (0 txs)", self.Short(), next[0].Hash().Short())}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got %q, want %q", got, want)
	}
}

// A day of history (43,200 blocks in sync batches of 256, 60 ms apart) costs a line at its start and one per
// catchUpEvery, the rest summed when news follows; history that arrives one block at a time is summed too.
func TestBlocksDayOfHistory(t *testing.T) {
	var a Blocks
	now, current := time.Unix(1_000_000, 0), chain.Slot(50_000)
	var lines []string
	start := now
	for from := chain.Height(1); from <= 43_200; from += 256 {
		lines = append(lines, a.Applied(now, current, blocksAt(from, min(from+255, 43_200), chain.Address{2}), chain.Address{1})...)
		now = now.Add(60 * time.Millisecond)
	}
	for h := chain.Height(43_201); h <= 43_300; h++ { // late history by gossip, one block per change
		lines = append(lines, a.Applied(now, current, blocksAt(h, h, chain.Address{2}), chain.Address{1})...)
	}
	news := &chain.Block{Header: chain.Header{Height: 43_301, Slot: current, Proposer: chain.Address{2}}}
	lines = append(lines, a.Applied(now, current, []*chain.Block{news}, chain.Address{1})...)
	t.Logf("43,300 blocks of history over %v and one new block: %d lines: %q", now.Sub(start), len(lines), lines)
	if most := 3 + int(now.Sub(start)/catchUpEvery); len(lines) > most {
		t.Errorf("%d lines for a day of history over %v, want at most %d", len(lines), now.Sub(start), most)
	}
	total := 0
	for _, l := range lines[:len(lines)-1] {
		var n, from, to int
		if _, err := fmt.Sscanf(l, "caught up %d blocks, #%d..#%d", &n, &from, &to); err != nil {
			t.Fatalf("line %q: %v", l, err)
		}
		total += n
	}
	if total != 43_300 || !strings.HasPrefix(lines[len(lines)-1], fmt.Sprintf("slot %d: ", current)) {
		t.Errorf("the summaries count %d blocks (want 43300), the last line is %q (want the new block)", total,
			lines[len(lines)-1])
	}
}
