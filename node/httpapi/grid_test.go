package httpapi

import (
	"bytes"
	"strings"
	"testing"

	"github.com/posnode/posnode/chain"
	"github.com/posnode/posnode/node/view"
)

// The grid draws one row per epoch and one square per slot, numbered by its leader's place in the stake table,
// linked to its block, with the clock's slot outlined.
func TestDrawGrid(t *testing.T) {
	a, b, outsider := chain.Address{1}, chain.Address{2}, chain.Address{9}
	vals := []view.Validator{{Address: a, Stake: 1}, {Address: b, Stake: 1}}
	blk := chain.Hash{7}
	slots := []view.Slot{
		{Slot: 4, Epoch: 1, State: view.SlotProposed, Leader: b, Block: &blk, Height: 3},
		{Slot: 5, Epoch: 1, State: view.SlotOrphaned, Leader: a, Orphans: []view.Orphan{{Hash: chain.Hash{8}, Proposer: a}}},
		{Slot: 6, Epoch: 1, State: view.SlotMissed, Leader: outsider},
		{Slot: 7, Epoch: 1, State: view.SlotMissed, Leader: a},
		{Slot: 8, Epoch: 2, State: view.SlotUpcoming, Leader: a},
		{Slot: 9, Epoch: 2, State: view.SlotUpcoming, Leader: b},
		{Slot: 10, Epoch: 2, State: view.SlotUpcoming, Leader: b},
		{Slot: 11, Epoch: 2, State: view.SlotUpcoming, Leader: a},
	}
	g := drawGrid(slots, vals, 8)
	if g.First != 1 || g.Last != 2 || len(g.Labels) != 2 || len(g.Cells) != 8 {
		t.Fatalf("got epochs %d..%d, %d labels, %d cells; want 1..2, 2, 8", g.First, g.Last, len(g.Labels), len(g.Cells))
	}
	if want := (slotCounts{Proposed: 1, Orphaned: 1, Missed: 2, Upcoming: 4}); g.Counts != want {
		t.Errorf("counts %+v, want %+v", g.Counts, want)
	}
	tests := []struct {
		i                  int
		class, label, href string
		x, y               int
	}{
		{0, "proposed", "2", "/block/" + blk.String(), gridLabelW, 0},
		{1, "orphaned", "1", "/block/" + chain.Hash{8}.String(), gridLabelW + cellSize + cellGap, 0},
		{2, "missed", "?", "", gridLabelW + 2*(cellSize+cellGap), 0},
		{4, "upcoming now", "1", "", gridLabelW, cellSize + cellGap},
	}
	for _, tt := range tests {
		c := g.Cells[tt.i]
		if c.Class != tt.class || c.Label != tt.label || c.Href != tt.href || c.X != tt.x || c.Y != tt.y {
			t.Errorf("cell %d: got %q %q %q at %d,%d; want %q %q %q at %d,%d", tt.i, c.Class, c.Label, c.Href, c.X, c.Y,
				tt.class, tt.label, tt.href, tt.x, tt.y)
		}
	}
	if g.Width != gridLabelW+4*(cellSize+cellGap) || g.Height != 2*(cellSize+cellGap) {
		t.Errorf("size %dx%d, want 4 columns and 2 rows", g.Width, g.Height)
	}
}

// The front page shows the justified and finalized checkpoints, how far finality lags, and each piece of evidence
// with its offender, the block that included it and what it burned.
func TestOverviewShowsFinalityAndEvidence(t *testing.T) {
	offender, block := chain.Address{3}, chain.Hash{4}
	pg := overview{Finality: view.Finality{Justified: chain.Checkpoint{Epoch: 6, Hash: chain.Hash{6}},
		Finalized: chain.Checkpoint{Epoch: 5, Hash: chain.Hash{5}}, FinalizedHeight: 37, LagSlots: 12},
		Evidence: []view.Evidence{
			{Kind: "double-vote", Offender: offender, Epoch: 3, Status: "pending"},
			{Kind: "double-proposal", Offender: offender, Epoch: 2, Status: "included", Height: 40, Block: &block, Burned: 50, Reward: 6}}}
	var buf bytes.Buffer
	if err := pages["index"].ExecuteTemplate(&buf, "main", pg); err != nil {
		t.Fatal(err)
	}
	body := buf.String()
	for _, want := range []string{"epoch 6, <a class=\"mono\" href=\"/block/" + chain.Hash{6}.String(),
		"epoch 5, <a class=\"mono\" href=\"/block/" + chain.Hash{5}.String(), `href="/block/37">37</a>, 12 slots ago`,
		`class="evidence-row"><td>pending</td><td>double-vote`, `class="evidence-row"><td>included</td><td>double-proposal`,
		`href="/account/` + offender.String(), `href="/block/` + block.String() + `">#40<`, `<td class="num">50</td><td class="num">6</td>`} {
		if !strings.Contains(body, want) {
			t.Errorf("the page lacks %q", want)
		}
	}
	buf.Reset()
	if err := pages["index"].ExecuteTemplate(&buf, "main", overview{Window: 12}); err != nil {
		t.Fatal(err)
	}
	if body := buf.String(); strings.Count(body, "not reported by this node") != 2 || !strings.Contains(body, "None known to this node") {
		t.Errorf("without checkpoints or evidence the page does not say so")
	}
}

// A block off the canonical chain says so on its page.
func TestBlockPageShowsOrphan(t *testing.T) {
	for _, canonical := range []bool{true, false} {
		var buf bytes.Buffer
		pg := blockPage{Block: view.Block{Height: 3, Hash: chain.Hash{3}}, Canonical: canonical, Head: 5}
		if err := pages["block"].ExecuteTemplate(&buf, "base", pg); err != nil {
			t.Fatal(err)
		}
		if got := strings.Contains(buf.String(), `id="orphaned"`); got == canonical {
			t.Errorf("canonical %v: page marked orphaned %v", canonical, got)
		}
	}
}
