package chain

import (
	"errors"
	"fmt"
	"maps"
	"slices"
)

// Pruning below finality (PROTOCOL.md §13): when the head's branch finalizes a block, the tree raises its floor to
// it. No block the tree accepts can leave the floor's branch (ErrConflictsFinalized), so the tree drops every block
// that does not descend from the floor and every block below it, keeping of the floor's ancestry only what the
// rules still read: the checkpoint and stake table of each epoch within UnbondingEpochs (evidence, §8b) and the
// mixes of the floor's last epochs (the seed, §6). The store is told in one write (Store.Finalize): the canonical
// hashes of the heights below the floor, the blocks it may delete, and a snapshot of the floor from which the tree
// opens again without replaying what lies below it.

// ErrPruned: what was asked for lies below what the node keeps (PROTOCOL.md §13). It wraps ErrNotFound.
var ErrPruned = fmt.Errorf("%w: pruned", ErrNotFound)

// DefaultRetainEpochs is a node's retention window unless its operator sets one (PROTOCOL.md §13): twice the
// weak-subjectivity period, so that a peer cut off for up to a whole period still finds, a period later, the blocks
// from its last finalized checkpoint on.
const DefaultRetainEpochs = 2 * WeakSubjectivityEpochs

// floorStubs is how many of the floor's lastBefore ancestors the tree keeps (hash, header and mix only): the seed
// of a block on the floor's branch reads at most two of them (PROTOCOL.md §6).
const floorStubs = 3

// oldEpoch is what the tree keeps of an epoch whose checkpoint lies below its floor.
type oldEpoch struct {
	ckpt  Hash    // the checkpoint block of the epoch on the canonical chain
	table []Stake // the epoch's stake table (shared with the epoch before when equal)
}

// BlockRef names a stored block: the key it is stored under.
type BlockRef struct {
	Height Height
	Hash   Hash
}

// Finalization is what a Store writes, in one durable write, when the tree's floor rises (PROTOCOL.md §13).
type Finalization struct {
	From       Height     // the height of Canon[0]
	Canon      []Hash     // the canonical hashes of heights From, From+1, …: at or below the floor, now final
	Delete     []BlockRef // blocks off the floor's branch, to delete
	PruneBelow Height     // blocks and canonical index entries below this height are deleted (0: none)
	Snapshot   []byte     // the floor's snapshot (encodeSnapshot), replacing the stored one
	Blocks     []*Block   // blocks to store in the same write: the anchor's block (PROTOCOL.md §13a)
	// Anchors are the anchors at the new floors, to keep (PROTOCOL.md §13a); AnchorsBelow drops the kept anchors
	// of checkpoints of epochs below it (0: none), after Anchors are added.
	Anchors      []AnchorRecord
	AnchorsBelow Epoch
}

// merge folds a later finalization g into f, which was not written yet.
func (f *Finalization) merge(g *Finalization) {
	f.Canon = append(f.Canon, g.Canon...)
	f.Delete = append(f.Delete, g.Delete...)
	f.PruneBelow = max(f.PruneBelow, g.PruneBelow)
	f.Snapshot = g.Snapshot
	f.Blocks = append(f.Blocks, g.Blocks...)
	f.Anchors = append(f.Anchors, g.Anchors...)
	f.AnchorsBelow = max(f.AnchorsBelow, g.AnchorsBelow)
}

// endOpening ends the replay of OpenTree: the floor's snapshot, if it rose, is written now.
func (t *Tree) endOpening() {
	t.opening = false
	if t.pending != nil {
		t.pending.Snapshot = t.encodeSnapshot()
	} else if len(t.orphans) > 0 {
		t.pending = &Finalization{Snapshot: t.encodeSnapshot()}
	}
	t.writeFinal()
}

// raise moves the floor up to the finalized checkpoint block of the head's branch, when that block is canonical
// and above the floor, and hands the store its part (writeFinal).
func (t *Tree) raise() {
	f, ok := t.nodes[t.head.fin.Finalized.Hash]
	if !ok || f == t.root || f.height() <= t.base || !t.isCanonical(f) || !t.finalityLocks(f) {
		return
	}
	st, err := t.stateOf(f)
	if err != nil {
		return // the floor stays; the next finalization tries again
	}
	t.recordEpochs(f)
	fin := &Finalization{From: t.base + 1}
	for h := t.base + 1; h <= f.height(); h++ {
		fin.Canon = append(fin.Canon, t.canon[h-t.base].hash)
	}
	t.cut(f, fin)
	old := f.lastBefore
	f.state, f.parent, f.lastBefore = st, nil, stubs(f.lastBefore, floorStubs)
	for _, lv := range t.levels {
		for _, n := range lv {
			if n.lastBefore == old && old != nil {
				n.lastBefore = f.lastBefore
			}
		}
	}
	t.floor, t.base = f, f.height()
	t.swept = max(t.swept, t.base+1)
	if w := t.cfg.RetainEpochs * t.cfg.Genesis.EpochLength; w > 0 && uint64(t.base) > w {
		fin.PruneBelow = min(t.base-Height(w), t.anchorsReach())
		t.oldest = max(t.oldest, fin.PruneBelow)
	}
	t.keepAnchor(fin)
	if t.pending == nil {
		t.pending = fin
	} else {
		t.pending.merge(fin)
	}
	if !t.opening { // OpenTree writes once, after its replay
		t.pending.Snapshot = t.encodeSnapshot()
		t.writeFinal()
	}
}

// anchorsReach returns the lowest height whose block the anchor at the floor reads (Tree.Anchor, PROTOCOL.md
// §13a): its deepest stub. A retention window shorter than that keeps it.
func (t *Tree) anchorsReach() Height {
	low := t.base
	for s, i := t.floor.lastBefore, 0; s != nil && i < floorStubs; s, i = s.lastBefore, i+1 {
		low = min(low, s.height())
	}
	return low
}

// stubs returns a copy of the chain of n and its lastBefore ancestors, depth nodes at most, with only the
// hash, header and mix of each.
func stubs(n *node, depth int) *node {
	if n == nil || depth == 0 {
		return nil
	}
	return &node{hash: n.hash, header: n.header, mix: n.mix, lastBefore: stubs(n.lastBefore, depth-1)}
}

// recordEpochs keeps the checkpoint and stake table of each epoch whose checkpoint falls below f, the new floor,
// within UnbondingEpochs of f's epoch, and forgets older ones but the trusted checkpoint's (PROTOCOL.md §8b, §12).
func (t *Tree) recordEpochs(f *node) {
	g := t.cfg.Genesis
	top := g.EpochOf(f.header.Slot)
	var from Epoch
	if t.floor != t.root {
		from = g.EpochOf(t.floor.header.Slot) + 1
	}
	if top > UnbondingEpochs {
		from = max(from, top-UnbondingEpochs)
	}
	var last *node // the last checkpoint whose state was rebuilt, an ancestor of the next one's
	var lastState *State
	for e := from; e <= top; e++ {
		cn := t.checkpointOf(f, e)
		if cn == nil {
			continue
		}
		st, err := t.stateFrom(cn, last, lastState)
		if err != nil {
			continue
		}
		last, lastState = cn, st
		o := oldEpoch{ckpt: cn.hash, table: st.Validators(e)}
		if prev, ok := t.old[e-1]; ok && e > 0 && slices.Equal(prev.table, o.table) {
			o.table = prev.table
		}
		t.old[e] = o
	}
	for e := range t.old {
		if e+UnbondingEpochs < top && (t.cfg.Trusted == nil || t.cfg.Trusted.Epoch != e) {
			delete(t.old, e)
		}
	}
}

// cut drops from the tree every block below f and every block that does not descend from f, adding the stored
// ones off f's branch to fin.Delete; genesis stays known (Has) but outside the tree's levels.
func (t *Tree) cut(f *node, fin *Finalization) {
	keep := map[*node]bool{f: true}
	var levels [][]*node
	for i, lv := range t.levels {
		h := t.base + Height(i)
		var kept []*node
		for _, n := range lv {
			if keep[n] || (h > f.height() && keep[n.parent]) {
				keep[n], kept = true, append(kept, n)
				continue
			}
			t.dropNode(n, fin)
		}
		if h >= f.height() {
			levels = append(levels, kept)
		}
	}
	t.levels = levels
	t.canon = slices.Clone(t.canon[f.height()-t.base:])
	t.snaps.nodes = slices.DeleteFunc(t.snaps.nodes, func(n *node) bool { return !keep[n] || n == f })
	t.snaps.entries = 0
	for _, n := range t.snaps.nodes {
		t.snaps.entries += n.state.Accounts()
	}
	maps.DeleteFunc(t.versions, func(k versionKey, _ int) bool { return k.slot <= f.header.Slot })
}

// dropNode removes n from the tree's index; a stored block off the canonical chain is marked for deletion.
func (t *Tree) dropNode(n *node, fin *Finalization) {
	if n == t.root {
		return
	}
	delete(t.nodes, n.hash)
	if !t.isCanonical(n) {
		fin.Delete = append(fin.Delete, BlockRef{Height: n.height(), Hash: n.hash})
	}
}

// writeFinal hands the store the pending finalization once the floor block is stored (a write-behind tree stores
// it at a later flush). A failed write stays pending and is tried again at the next flush or raise.
func (t *Tree) writeFinal() {
	p := t.pending
	if p == nil || t.queue.byHash[t.floor.hash] != nil {
		return
	}
	w := *p
	w.Delete = append(slices.Clip(p.Delete), t.orphans...)
	if err := t.cfg.Store.Finalize(&w); err != nil {
		t.finErr = err
		return
	}
	t.pending, t.orphans, t.finErr = nil, nil, nil
}

// belowFloor reports whether h is a canonical block below the floor that the store (or the write-behind queue)
// still holds.
func (t *Tree) belowFloor(h Hash) bool {
	if t.base == 0 {
		return false
	}
	b, _, err := t.storedBlock(h)
	if err != nil || b.Header.Height >= t.base || b.Header.Height < t.oldest {
		return false
	}
	c, ok := t.CanonicalHash(b.Header.Height)
	return ok && c == h
}

// canonBelow returns the canonical hash at height, below the floor: from the finalization not yet written, else
// from the store's canonical index.
func (t *Tree) canonBelow(height Height) (Hash, bool) {
	if height < t.oldest {
		return Hash{}, false
	}
	if p := t.pending; p != nil && height >= p.From && height-p.From < Height(len(p.Canon)) {
		return p.Canon[height-p.From], true
	}
	h, err := t.cfg.Store.CanonicalAt(height)
	return h, err == nil
}

// Retention tells what the tree keeps (PROTOCOL.md §13): floor, the height of the finalized block it is rooted at
// (0: genesis); oldest, the lowest height whose canonical block it can serve (1 when it keeps every block);
// window, the retention window in epochs (0: every block, an archive node); and the error of the last snapshot
// write, if it failed (it is tried again at the next flush).
func (t *Tree) Retention() (floor, oldest Height, window uint64, err error) {
	return t.base, max(t.oldest, 1), t.cfg.RetainEpochs, t.finErr
}

// errSnapshot: a stored snapshot does not decode or does not match the chain.
var errSnapshot = errors.New("bad snapshot")
