package chain

import (
	"bytes"
	"encoding/gob"
	"errors"
	"fmt"
)

// Backfill (PROTOCOL.md §13a): a tree opened from an anchor holds no block below it. The node fetches the canonical
// blocks below its oldest held block from peers, newest range first, down to its retention window, and the tree
// stores them as it stores the canonical blocks below its floor: the blocks and the canonical index, no state. A
// range is accepted only if it is the hash chain below the oldest held block: the parent of each block is the hash
// of the one below it, and the newest block's hash is the parent of the oldest held one; so, from the trusted
// checkpoint down, every backfilled block is the network's.

// Backfill errors.
var (
	// ErrBadBackfill: blocks offered to Backfill are not the canonical chain below the oldest held block (a hash
	// link or a block's roots do not match): whoever served them served another chain or damaged blocks.
	ErrBadBackfill = errors.New("blocks are not the chain below the oldest held block")
	// ErrStaleBackfill: blocks offered to Backfill do not end just below the oldest held block any more (another
	// backfill or a rise of the retention window moved it): no one's fault.
	ErrStaleBackfill = errors.New("backfill range is stale")
)

// BackfillWant returns the heights lo to hi (inclusive) of the canonical blocks below the oldest held block that
// the retention window still wants (PROTOCOL.md §13, §13a): hi is the height just below the oldest held block, lo
// the window's lowest height (1 for an archive tree). ok is false when the tree wants none: it holds every block
// its window wants, or it was not opened from an anchor.
func (t *Tree) BackfillWant() (lo, hi Height, ok bool) {
	if t.base == 0 || t.oldest <= 1 {
		return 0, 0, false
	}
	lo = 1
	if w := t.cfg.RetainEpochs * t.cfg.Genesis.EpochLength; w > 0 && uint64(t.base) > w {
		lo = t.base - Height(w)
	}
	if t.oldest <= lo {
		return 0, 0, false
	}
	return lo, t.oldest - 1, true
}

// Backfill stores blocks, consecutive canonical blocks oldest first whose newest is at the height just below the
// oldest held block, as canonical blocks below the floor, and lowers the oldest held height to the first of them
// that the retention window wants (PROTOCOL.md §13a). Each block must be well formed (its roots, §4) and the hash
// chain must hold: each block's hash is the parent of the block above it, up to the oldest held block. The blocks
// are written, then the canonical index and the snapshot's oldest height in one write (a crash between leaves
// stored blocks the index does not name; they are fetched again, and pruned with the window). It fails with
// ErrStaleBackfill when the newest block is not just below the oldest held one, ErrBadBackfill when a link or a
// block does not hold, and an ErrStoreFailed (wrapped) when the store's write fails.
func (t *Tree) Backfill(blocks []*Block) error {
	lo, hi, ok := t.BackfillWant()
	if !ok || len(blocks) == 0 || blocks[len(blocks)-1].Header.Height != hi {
		return fmt.Errorf("%w: want up to height %d", ErrStaleBackfill, hi)
	}
	child, _, ok := t.CanonicalHeader(t.oldest)
	if !ok {
		return fmt.Errorf("%w: no header at the oldest held height %d", ErrCorruptStore, t.oldest)
	}
	for i := len(blocks) - 1; i >= 0; i-- {
		b := blocks[i]
		if b.Header.Height+1 != child.Height || b.Hash() != child.Parent {
			return fmt.Errorf("%w: block at height %d is not the parent of the block above it", ErrBadBackfill, b.Header.Height)
		}
		if err := b.ValidateBasic(); err != nil {
			return fmt.Errorf("%w: block at height %d: %w", ErrBadBackfill, b.Header.Height, err)
		}
		child = b.Header
	}
	if first := blocks[0].Header.Height; first < lo {
		blocks = blocks[lo-first:]
	}
	return t.storeBackfill(blocks)
}

// storeBackfill writes the verified blocks and then the canonical index and the stored snapshot with the new
// oldest height.
func (t *Tree) storeBackfill(blocks []*Block) error {
	if err := t.cfg.Store.PutBlocks(blocks); err != nil {
		return fmt.Errorf("store backfilled blocks: %w", err)
	}
	enc, err := t.cfg.Store.Snapshot()
	if err != nil || enc == nil {
		return fmt.Errorf("read the snapshot to backfill: %w (%d bytes)", err, len(enc))
	}
	var r snapshotRecord
	if err := gob.NewDecoder(bytes.NewReader(enc)).Decode(&r); err != nil {
		return fmt.Errorf("%w: %w: %w", ErrCorruptStore, errSnapshot, err)
	}
	oldest := blocks[0].Header.Height
	r.Oldest = oldest
	var buf bytes.Buffer
	if err := gob.NewEncoder(&buf).Encode(&r); err != nil {
		return fmt.Errorf("encode the snapshot: %w", err)
	}
	f := &Finalization{From: oldest, Snapshot: buf.Bytes()}
	for _, b := range blocks {
		f.Canon = append(f.Canon, b.Hash())
	}
	if err := t.cfg.Store.Finalize(f); err != nil {
		return fmt.Errorf("index backfilled blocks: %w", err)
	}
	t.oldest = oldest
	if t.pending != nil { // its snapshot, written later, must not take the old oldest height back
		t.pending.Snapshot = t.encodeSnapshot()
	}
	return nil
}
