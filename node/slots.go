package node

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/posnode/posnode/chain"
	"github.com/posnode/posnode/consensus"
	"github.com/posnode/posnode/node/view"
)

// The slot grid's bounds.
const (
	// maxOrphans is how many blocks off the canonical chain the node remembers for its slot grid.
	maxOrphans = 256
	// MaxGridSlots is the most slots one Slots answer holds.
	MaxGridSlots = 512
)

// orphanLog remembers the newest blocks that left the canonical chain in a reorg, or never joined it, for people
// (the explorer's slot grid); no rule reads it. The event loop owns it.
type orphanLog struct {
	blocks []view.Orphan // oldest first, at most maxOrphans
}

// add records b unless it is already recorded, forgetting the oldest record beyond maxOrphans.
func (o *orphanLog) add(b *chain.Block) {
	h := b.Hash()
	for _, x := range o.blocks {
		if x.Hash == h {
			return
		}
	}
	if len(o.blocks) == maxOrphans {
		o.blocks = o.blocks[1:]
	}
	o.blocks = append(o.blocks, view.Orphan{Hash: h, Height: uint64(b.Header.Height), Slot: uint64(b.Header.Slot),
		Proposer: b.Header.Proposer})
}

// noteOrphan records a block just stored that the canonical chain does not hold.
func (n *Node) noteOrphan(b *chain.Block) {
	if h, ok := n.tree.CanonicalHash(b.Header.Height); !ok || h != b.Hash() {
		n.orphans.add(b)
	}
}

// Slots describes every slot of the epochs from..to as this node saw them: the canonical block that holds it, the
// blocks it saw for it that are not canonical, and its lottery winner on the canonical chain (PROTOCOL.md §6),
// final or projected, and none where the slot's seed does not exist yet (see leaderKnown) or the node no longer
// holds its seed's block or its stake table (openLeaders). Slots after the current
// one are included (upcoming). A range of more than MaxGridSlots slots is refused (view.ErrBadInput), never cut.
func (n *Node) Slots(ctx context.Context, from, to uint64) ([]view.Slot, error) {
	length := max(n.cfg.Genesis.EpochLength, 1)
	if to < from || to >= math.MaxUint64/length {
		return nil, view.Classed(view.ErrBadInput, fmt.Errorf("epochs %d..%d: want from ≤ to, to within the clock's range", from, to))
	}
	if to-from >= MaxGridSlots/length {
		return nil, view.Classed(view.ErrBadInput, fmt.Errorf("epochs %d..%d: at most %d slots per request, that is "+
			"%d epoch(s) of %d slots; ask for fewer epochs, e.g. ?from=%d&to=%d", from, to, MaxGridSlots,
			max(MaxGridSlots/length, 1), length, from, from+max(MaxGridSlots/length, 1)-1))
	}
	snap, err := n.readSnapshot(ctx)
	if err != nil {
		return nil, err
	}
	return n.slots(ctx, snap, from, to)
}

// slots describes the slots of epochs fromEpoch..toEpoch on the snapshot's canonical chain, off the event loop:
// the loop is called only, briefly, for the sources of stake tables the cache lacks (epochTables) and for a
// seed's block accepted and not yet stored (readBlock).
func (n *Node) slots(ctx context.Context, snap *readSnap, fromEpoch, toEpoch uint64) ([]view.Slot, error) {
	g := n.cfg.Genesis
	length := max(g.EpochLength, 1)
	first, last := chain.Slot(fromEpoch*length), chain.Slot(toEpoch*length+length-1)
	if last-first >= MaxGridSlots { // one epoch longer than MaxGridSlots
		return nil, view.Classed(view.ErrBadInput, fmt.Errorf("epochs of %d slots: more than the %d slots one "+
			"request holds", length, MaxGridSlots))
	}
	canon := snap.canonicalIn(first, last)
	orphans := map[chain.Slot][]view.Orphan{}
	for _, o := range snap.orphans {
		if chain.Slot(o.Slot) >= first {
			orphans[chain.Slot(o.Slot)] = append(orphans[chain.Slot(o.Slot)], o)
		}
	}
	now := n.currentSlot()
	out := make([]view.Slot, 0, last-first+1)
	var open []openSlot
	for s := first; s <= last; s++ {
		v := view.Slot{Slot: uint64(s), Epoch: uint64(g.EpochOf(s)), Orphans: orphans[s],
			Start: consensus.SlotStart(g.Time, time.Duration(g.SlotDuration), s)}
		if parent, proposed := n.describeBlock(&v, s, now, canon); !proposed {
			open = append(open, openSlot{index: len(out), slot: s, parent: parent.hash})
		}
		out = append(out, v)
	}
	if err := n.openLeaders(ctx, snap, out, open); err != nil {
		return nil, err
	}
	for i := range out {
		n.markLeader(&out[i], now, canon, snap)
	}
	return out, nil
}

// openSlot is a slot no canonical block holds: its leader is the lottery's on top of parent (PROTOCOL.md §6).
type openSlot struct {
	index  int
	slot   chain.Slot
	parent chain.Hash
}

// openLeaders fills the leaders of the open slots off the event loop: seeds from the snapshot and the store
// (seedOf), stake tables from epochTables, the lottery (consensus.Leader). An epoch whose seed or stake table the
// node no longer holds (a table more than chain.UnbondingEpochs below the finalized epoch, a block below a
// checkpoint-synced node's anchor) keeps its slots without a leader.
func (n *Node) openLeaders(ctx context.Context, snap *readSnap, out []view.Slot, open []openSlot) error {
	var epochs []chain.Epoch
	for _, o := range open {
		if e := n.cfg.Genesis.EpochOf(o.slot); !slices.Contains(epochs, e) {
			epochs = append(epochs, e)
		}
	}
	tables, err := n.tablesHeld(ctx, snap, epochs)
	if err != nil {
		return err
	}
	for _, o := range open {
		table, ok := tables[n.cfg.Genesis.EpochOf(o.slot)]
		if !ok {
			continue
		}
		seed, err := n.seedOf(ctx, snap, o)
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			return err
		}
		if leader, ok := consensus.Leader(table, seed, o.slot); ok {
			out[o.index].Leader = leader
		}
	}
	return nil
}

// tablesHeld is epochTables for epochs, leaving out those whose table the node no longer keeps (chain.ErrPruned).
func (n *Node) tablesHeld(ctx context.Context, snap *readSnap, epochs []chain.Epoch) (map[chain.Epoch][]chain.Stake, error) {
	if len(epochs) == 0 {
		return nil, nil
	}
	tables, err := n.epochTables(ctx, snap, epochs, nil)
	if !errors.Is(err, chain.ErrPruned) {
		return tables, err
	}
	tables = map[chain.Epoch][]chain.Stake{}
	for _, e := range epochs { // rare: a range that reaches below the tree's record, one epoch at a time
		t, err := n.epochTables(ctx, snap, []chain.Epoch{e}, nil)
		switch {
		case errors.Is(err, chain.ErrPruned):
		case err != nil:
			return nil, err
		default:
			tables[e] = t[e]
		}
	}
	return tables, nil
}

// seedOf is the seed of open slot o on the snapshot's canonical chain (PROTOCOL.md §6), as chain.Tree.SeedSource
// gives it above the tree's floor, but kept below it too: under parent-hash the parent's hash; under randao the
// mix of the newest canonical block before epoch e−1 (the genesis mix for epochs 0 and 1), read once per such
// block from the store and kept (readIndex.mixes), so that the leaders of past missed slots stay known after the
// tree drops its mixes with its floor (PROTOCOL.md §13). Errors: ErrNotFound where the node lacks that block.
func (n *Node) seedOf(ctx context.Context, snap *readSnap, o openSlot) (chain.Hash, error) {
	g := n.cfg.Genesis
	if g.Rule() == chain.SeedParentHash {
		if o.parent.IsZero() {
			return chain.Hash{}, fmt.Errorf("%w: the parent of slot %d", ErrNotFound, o.slot)
		}
		return o.parent, nil
	}
	e := g.EpochOf(o.slot)
	if e < 2 {
		return chain.GenesisMix(n.chainID), nil
	}
	h := snap.lastBefore(chain.Slot(uint64(e-1) * max(g.EpochLength, 1)))
	if h == 0 {
		return chain.GenesisMix(n.chainID), nil
	}
	return n.reads.mixOf(ctx, n, snap.at(h).hash)
}

// markLeader says whether slot v's leader is final or projected, or clears it where the slot's seed does not
// exist yet (leaderKnown).
func (n *Node) markLeader(v *view.Slot, now chain.Slot, canon []gridBlock, snap *readSnap) {
	if v.Leader.IsZero() {
		return
	}
	known, final := n.leaderKnown(chain.Slot(v.Slot), now, canon, snap)
	switch {
	case !known:
		v.Leader = chain.Address{}
	case final:
		v.LeaderStatus = view.LeaderFinal
	default:
		v.LeaderStatus = view.LeaderProjected
	}
}

// leaderKnown reports whether slot s's seed exists on the canonical chain, and whether it and the stake table
// are final (PROTOCOL.md §6, §8a). Under randao the seed and the table of epoch e come from epoch e−1's
// checkpoint (the newest block before epoch e−1): they exist once the head is in epoch e−1 or later, and are
// final once epoch e−1 or a later one is finalized; epochs 0 and 1 use the genesis. Under parent-hash the seed
// is the parent's hash: it exists for the slots up to the head's next one and those already passed, and is final
// when the parent is below the finalized checkpoint's epoch.
func (n *Node) leaderKnown(s, now chain.Slot, canon []gridBlock, snap *readSnap) (known, final bool) {
	g := n.cfg.Genesis
	headSlot, fin := snap.at(snap.headHeight()).slot, snap.finalized
	finStart := chain.Slot(uint64(fin.Epoch) * max(g.EpochLength, 1)) // blocks before it are final
	if g.Rule() == chain.SeedParentHash {
		parent := canon[0]
		for _, b := range canon[1:] {
			if b.slot >= s {
				break
			}
			parent = b
		}
		return s <= max(headSlot+1, now), parent.height == 0 || parent.slot < finStart
	}
	e := g.EpochOf(s)
	if e < 2 {
		return true, true
	}
	return g.EpochOf(headSlot)+1 >= e, fin.Epoch+1 >= e
}

// describeBlock fills the state and block of slot s; for a slot no canonical block holds it returns the block
// its leader is drawn on top of (proposed false).
func (n *Node) describeBlock(v *view.Slot, s, now chain.Slot, canon []gridBlock) (parent gridBlock, proposed bool) {
	if s == 0 { // the genesis holds slot 0 (PROTOCOL.md §2)
		h := n.chainID
		v.State, v.Block = view.SlotProposed, &h
		return gridBlock{}, true
	}
	parent = canon[0]
	for _, b := range canon[1:] {
		if b.slot == s {
			h := b.hash
			v.State, v.Leader, v.Block, v.Height = view.SlotProposed, b.proposer, &h, uint64(b.height)
			return b, true
		}
		if b.slot > s {
			break
		}
		parent = b
	}
	switch {
	case len(v.Orphans) > 0:
		v.State = view.SlotOrphaned
	case s >= now:
		v.State = view.SlotUpcoming
	default:
		v.State = view.SlotMissed
	}
	return parent, false
}

// gridBlock is what the grid needs of a canonical block.
type gridBlock struct {
	hash     chain.Hash
	height   chain.Height
	slot     chain.Slot
	proposer chain.Address
}

// canonicalIn returns the snapshot's canonical blocks of slots first..last, oldest first, preceded by the newest
// canonical block before first (the genesis if none).
func (s *readSnap) canonicalIn(first, last chain.Slot) []gridBlock {
	var out []gridBlock
	for h := s.lastBefore(first); h <= s.headHeight(); h++ {
		e := s.at(h)
		if h > 0 && e.slot > last {
			break
		}
		out = append(out, gridBlock{hash: e.hash, height: h, slot: e.slot, proposer: e.proposer})
	}
	return out
}
