package httpapi

import (
	"fmt"
	"html"
	"html/template"
	"strconv"
	"strings"

	"github.com/posnode/posnode/chain"
	"github.com/posnode/posnode/node/view"
)

// Slot grid geometry, in SVG pixels.
const (
	cellSize   = 24 // a slot's square
	cellGap    = 3
	gridLabelW = 70 // the epoch labels' column
	maxColumns = 32 // slots per row
)

// grid is the slot grid as the front page draws it: one row (or more, for long epochs) per epoch, one square per
// slot, coloured by what happened in it and labelled with the number of its leader in the legend.
type grid struct {
	Width, Height int
	Cells         []cell
	Labels        []rowLabel
	Legend        []legendEntry
	Counts        slotCounts
	First, Last   uint64 // epochs shown
}

type cell struct {
	X, Y   int
	Class  string // the slot's state, and "now" for the current slot
	Label  string // the leader's number in the legend; "?" for a leader outside the current table
	Title  string
	Href   string // the block's page, for a proposed or orphaned slot
	Slot   uint64
	Leader string
}

type rowLabel struct {
	Y    int
	Text string
}

type legendEntry struct {
	N       int
	Address chain.Address
}

// slotCounts counts the grid's slots by state; Upcoming slots are not counted among the others.
type slotCounts struct {
	Proposed, Orphaned, Missed, Upcoming int
}

// drawGrid lays out slots (oldest first); vals numbers the leaders; now is the clock's slot.
func drawGrid(slots []view.Slot, vals []view.Validator, now uint64) grid {
	g := grid{}
	l := leaders{num: map[chain.Address]int{}, names: map[chain.Address]string{}}
	for i, v := range vals {
		l.num[v.Address] = i + 1
		g.Legend = append(g.Legend, legendEntry{N: i + 1, Address: v.Address})
	}
	cols := columns(slots)
	if len(slots) > 0 {
		g.First, g.Last = slots[0].Epoch, slots[len(slots)-1].Epoch
	}
	row, col, epoch := -1, 0, ^uint64(0)
	for _, s := range slots {
		if s.Epoch != epoch || col == cols {
			row, col = row+1, 0
			if s.Epoch != epoch {
				g.Labels = append(g.Labels, rowLabel{Y: row*(cellSize+cellGap) + cellSize*2/3, Text: "epoch " + strconv.FormatUint(s.Epoch, 10)})
			}
			epoch = s.Epoch
		}
		g.Cells = append(g.Cells, l.cell(s, now, gridLabelW+col*(cellSize+cellGap), row*(cellSize+cellGap)))
		g.Counts.add(s.State)
		col++
	}
	g.Width = gridLabelW + cols*(cellSize+cellGap)
	g.Height = (row + 1) * (cellSize + cellGap)
	return g
}

// columns is the grid's width in slots: the length of the newest epoch (always whole), at most maxColumns.
func columns(slots []view.Slot) int {
	n := 0
	for i := len(slots) - 1; i >= 0 && slots[i].Epoch == slots[len(slots)-1].Epoch; i-- {
		n++
	}
	return max(1, min(n, maxColumns))
}

// leaders numbers the slots' leaders and remembers their names (an address's text costs a base58 encoding).
type leaders struct {
	num   map[chain.Address]int // place in the stake table, from 1
	names map[chain.Address]string
}

func (l leaders) name(a chain.Address) string {
	s, ok := l.names[a]
	if !ok {
		s = a.String()
		l.names[a] = s
	}
	return s
}

// cell lays out slot s at x, y; now is the clock's slot.
func (l leaders) cell(s view.Slot, now uint64, x, y int) cell {
	c := cell{X: x, Y: y, Class: s.State, Slot: s.Slot}
	if s.Slot == now {
		c.Class += " now"
	}
	if !s.Leader.IsZero() {
		c.Leader = l.name(s.Leader)
		if s.LeaderStatus == view.LeaderProjected && s.Block == nil {
			c.Leader += " (projected)"
		}
		c.Label = "?"
		if k := l.num[s.Leader]; k > 0 {
			c.Label = strconv.Itoa(k)
		}
	}
	slot := "slot " + strconv.FormatUint(s.Slot, 10) + ": "
	switch {
	case s.Slot == 0:
		c.Href, c.Title, c.Label = "/block/0", "slot 0: the genesis", "G"
	case s.Block != nil:
		c.Href = "/block/" + s.Block.String()
		c.Title = slot + "block #" + strconv.FormatUint(s.Height, 10) + " by " + c.Leader
	case len(s.Orphans) > 0:
		c.Href = "/block/" + s.Orphans[0].Hash.String()
		c.Title = slot + strconv.Itoa(len(s.Orphans)) + " orphaned block(s), first by " + l.name(s.Orphans[0].Proposer) +
			"; leader " + c.Leader
	case s.Leader.IsZero():
		c.Title = slot + s.State + ", leader not drawn yet (its seed does not exist)"
	default:
		c.Title = slot + s.State + ", leader " + c.Leader
	}
	return c
}

func (c *slotCounts) add(state string) {
	switch state {
	case view.SlotProposed:
		c.Proposed++
	case view.SlotOrphaned:
		c.Orphaned++
	case view.SlotMissed:
		c.Missed++
	case view.SlotUpcoming:
		c.Upcoming++
	}
}

// SVG draws the grid. It is built in Go rather than by a template: the grid holds a hundred-odd values and the
// front page is drawn again on every head (see links.go). Every text is escaped.
func (g grid) SVG() template.HTML {
	var b strings.Builder
	b.Grow(400 * (len(g.Cells) + 1)) // a cell takes some 330 bytes
	w, h := strconv.Itoa(g.Width), strconv.Itoa(g.Height)
	b.WriteString(`<svg id="slots" class="grid" width="` + w + `" height="` + h + `" viewBox="0 0 ` + w + " " + h +
		`" role="img" aria-label="slot grid">` + "\n")
	for _, l := range g.Labels {
		fmt.Fprintf(&b, "<text class=\"label\" x=\"0\" y=\"%d\">%s</text>\n", l.Y, html.EscapeString(l.Text))
	}
	for _, c := range g.Cells {
		if c.Href != "" {
			b.WriteString(`<a href="` + html.EscapeString(c.Href) + `">`)
		}
		fmt.Fprintf(&b, `<g class="slot %s" data-slot="%d"><title>%s</title><rect x="%d" y="%d" width="%d" height="%d" rx="3"/>`+
			`<text x="%d" y="%d">%s</text></g>`, html.EscapeString(c.Class), c.Slot, html.EscapeString(c.Title),
			c.X, c.Y, cellSize, cellSize, c.X+cellSize/2, c.Y+cellSize*2/3, html.EscapeString(c.Label))
		if c.Href != "" {
			b.WriteString("</a>")
		}
		b.WriteByte('\n')
	}
	b.WriteString("</svg>")
	return template.HTML(b.String())
}
