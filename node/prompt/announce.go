package prompt

import (
	"fmt"
	"time"

	"github.com/posnode/posnode/chain"
)

// liveSlots is how many slots behind the current one a block may be and still be news: a block of the current
// slot or of one of the liveSlots before it is announced on its own line, an older one is history caught up.
const liveSlots = 2

// catchUpEvery is how often a summary of history is printed while history keeps coming (a long sync).
const catchUpEvery = 5 * time.Second

// Blocks turns the blocks that joined the canonical chain into the prompt's lines. A block of the last few slots
// is news and gets a line of its own ("slot N: X won -> block #H hash (T txs)"); older blocks — the history a
// joining or lagging node fetches — are summed into one line, "caught up N blocks, #a..#b", printed when news
// follows them, and at most every catchUpEvery while history keeps coming, so that a day of history costs a few
// lines, not one per block. It is used by one goroutine (the node's event loop); the zero value is ready.
type Blocks struct {
	n        int          // history blocks not printed yet
	from, to chain.Height // their heights
	printed  time.Time    // when history was last summed up
}

// Applied returns the lines for blocks, oldest first, that joined the canonical chain at now, in slot current;
// self is the node's own account.
func (a *Blocks) Applied(now time.Time, current chain.Slot, blocks []*chain.Block, self chain.Address) []string {
	var lines []string
	for _, b := range blocks {
		h := b.Header
		if h.Slot+liveSlots >= current {
			lines = a.flush(now, lines)
			lines = append(lines, fmt.Sprintf("slot %d: %s won -> block #%d %s (%d txs)", h.Slot,
				winner(h.Proposer, self), h.Height, b.Hash().Short(), len(b.Txs)))
			continue
		}
		if a.n == 0 {
			a.from = h.Height
		}
		a.n++
		a.to = h.Height
	}
	if a.n > 0 && now.Sub(a.printed) >= catchUpEvery {
		lines = a.flush(now, lines)
	}
	return lines
}

// flush appends the summary of the history not printed yet, if any.
func (a *Blocks) flush(now time.Time, lines []string) []string {
	if a.n == 0 {
		return lines
	}
	if a.n == 1 {
		lines = append(lines, fmt.Sprintf("caught up 1 block, #%d", a.from))
	} else {
		lines = append(lines, fmt.Sprintf("caught up %d blocks, #%d..#%d", a.n, a.from, a.to))
	}
	a.n, a.printed = 0, now
	return lines
}

func winner(a, self chain.Address) string {
	if a == self {
		return "you (" + a.Short() + ")"
	}
	return a.Short()
}
