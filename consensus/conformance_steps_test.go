package consensus

import (
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"github.com/posnode/posnode/chain"
)

// The builder's steps: ticks, deliveries, batches and checks, recorded in the case in order.

// tick moves the clock to ms after genesis; time never goes back.
func (b *builder) tick(ms uint64) {
	if ms < b.now {
		b.t.Fatalf("%s: tick %d after %d", b.c.Name, ms, b.now)
	}
	if ms == b.now && len(b.c.Steps) > 0 {
		return
	}
	b.now = ms
	b.c.Steps = append(b.c.Steps, vecStep{Tick: &ms})
}

func (b *builder) slotMS(name string) uint64 {
	return uint64(b.blocks[name].Header.Slot) * uint64(time.Duration(b.g.SlotDuration)/time.Millisecond)
}

// send delivers block name at the current tick, expecting the insert to fail with errName, or succeed if empty.
func (b *builder) send(name, errName string) {
	blk := b.blocks[name]
	b.c.Steps = append(b.c.Steps, vecStep{Block: name, Data: []string{hex.EncodeToString(blk.Encode())},
		Summary: b.summary(blk), Error: errName})
}

// timely delivers each block 100 ms into its slot (at once if the clock is past that but within the first half).
func (b *builder) timely(names ...string) {
	for _, n := range names {
		at := b.slotMS(n) + 100
		if b.now > b.slotMS(n)+500 {
			b.t.Fatalf("%s: %s cannot arrive timely at %d ms", b.c.Name, n, b.now)
		}
		b.tick(max(b.now, at))
		b.send(n, "")
	}
}

// late delivers each block 900 ms into its slot, or at once if the clock is past the middle of its slot.
func (b *builder) late(names ...string) {
	for _, n := range names {
		b.tick(max(b.now, b.slotMS(n)+900))
		b.send(n, "")
	}
}

// reject delivers block name in its slot (late if the clock is past its middle) and expects errName.
func (b *builder) reject(name, errName string) {
	b.tick(max(b.now, b.slotMS(name)+100))
	b.send(name, errName)
}

// batch delivers the blocks as one sync batch at the current tick (at least the last one's slot).
func (b *builder) batch(errName string, names ...string) {
	b.tick(max(b.now, b.slotMS(names[len(names)-1])+900))
	st := vecStep{Batch: names, Error: errName}
	var sums []string
	for _, n := range names {
		st.Data = append(st.Data, hex.EncodeToString(b.blocks[n].Encode()))
		sums = append(sums, n+": "+b.summary(b.blocks[n]))
	}
	st.Summary = strings.Join(sums, " | ")
	b.c.Steps = append(b.c.Steps, st)
}

// check records checks.
func (b *builder) check(c vecChecks) { b.c.Steps = append(b.c.Steps, vecStep{Checks: &c}) }

// trust makes checkpoint (e, name) the case's trusted checkpoint (PROTOCOL.md §12).
func (b *builder) trust(e chain.Epoch, name string) { b.c.Trusted = b.cp(e, name).Text() }

// fin is a checkpoint check.
func fin(e chain.Epoch, block string) *vecCheckpoint { return &vecCheckpoint{Epoch: e, Block: block} }

// slashed is a check that exactly vs are slashed.
func slashed(vs ...string) *[]string {
	if vs == nil {
		vs = []string{}
	}
	return &vs
}

// summary describes a block for readers of the file.
func (b *builder) summary(blk *chain.Block) string {
	h := blk.Header
	s := fmt.Sprintf("slot %d height %d on %s by %s", h.Slot, h.Height, b.nameOf(h.Parent), b.vals[h.Proposer])
	if len(blk.Txs) > 0 {
		s += fmt.Sprintf("; %d txs", len(blk.Txs))
	}
	var vs []string
	for _, v := range blk.Votes {
		vs = append(vs, fmt.Sprintf("%s %d/%s→%d/%s", b.vals[v.Validator], v.Source.Epoch, b.nameOf(v.Source.Hash),
			v.Target.Epoch, b.nameOf(v.Target.Hash)))
	}
	if len(vs) > 0 {
		s += "; votes " + strings.Join(vs, ", ")
	}
	for _, e := range blk.Evidence {
		s += fmt.Sprintf("; evidence %s by %s", e.Kind, b.vals[e.Offender()])
	}
	return s
}

func (b *builder) nameOf(h chain.Hash) string {
	if n, ok := b.names[h]; ok {
		return n
	}
	return h.Short()
}
