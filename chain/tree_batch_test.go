package chain

import (
	"errors"
	"slices"
	"testing"
)

// countingStore counts the store writes of blocks and can be made to fail them.
type countingStore struct {
	*MemStore
	writes int
	fail   error
}

func (s *countingStore) PutBlock(b *Block) error { return s.PutBlocks([]*Block{b}) }

func (s *countingStore) PutBlocks(bs []*Block) error {
	s.writes++
	if s.fail != nil {
		return s.fail
	}
	return s.MemStore.PutBlocks(bs)
}

// batchSource returns n blocks of 2 transfers each, built on another tree of the same genesis.
func batchSource(t *testing.T, g *Genesis, n int) []*Block {
	t.Helper()
	return growHead(t, openTestTree(t, g, NewMemStore()), n, 2)
}

func TestTreeInsertBatch(t *testing.T) {
	g := richGenesis()
	blocks := batchSource(t, g, 6)
	store := &countingStore{MemStore: NewMemStore()}
	tr := openTestTree(t, g, store)
	if _, err := tr.Insert(blocks[0], blocks[0].Header.Slot); err != nil {
		t.Fatal(err)
	}
	store.writes = 0
	ch, inserted, err := tr.InsertBatch(blocks, blocks[5].Header.Slot) // blocks[0] is known: skipped
	if err != nil {
		t.Fatal(err)
	}
	if store.writes != 1 {
		t.Errorf("got %d store writes, want 1", store.writes)
	}
	if got, want := hashes(inserted), hashes(blocks[1:]); !slices.Equal(got, want) {
		t.Errorf("inserted: got %v, want %v", got, want)
	}
	if got, want := hashes(ch.Applied), hashes(blocks[1:]); ch.Head != blocks[5].Tip() || len(ch.Reverted) != 0 || !slices.Equal(got, want) {
		t.Errorf("change: got head %+v, applied %v, %d reverted; want head %+v, applied %v", ch.Head, got, len(ch.Reverted), blocks[5].Tip(), want)
	}
	if got := tr.HeadState().Root(); got != blocks[5].Header.StateRoot {
		t.Errorf("head state root: got %s, want %s", got, blocks[5].Header.StateRoot)
	}
	reopened := openTestTree(t, g, store.MemStore)
	if reopened.Head() != blocks[5].Tip() {
		t.Errorf("head after reopening the store: got %+v, want %+v", reopened.Head(), blocks[5].Tip())
	}
}

// At the first invalid block the batch stops; the valid blocks before it are inserted and the error returned.
func TestTreeInsertBatchStopsAtInvalidBlock(t *testing.T) {
	g := richGenesis()
	blocks := batchSource(t, g, 5)
	forged := *blocks[3]
	forged.Sig[0] ^= 1
	batch := []*Block{blocks[0], blocks[1], blocks[2], &forged, blocks[4]}
	tr := openTestTree(t, g, NewMemStore())
	ch, inserted, err := tr.InsertBatch(batch, blocks[4].Header.Slot)
	if !errors.Is(err, ErrBadSignature) {
		t.Fatalf("got %v, want ErrBadSignature", err)
	}
	if len(inserted) != 3 || len(ch.Applied) != 3 || tr.Head() != blocks[2].Tip() {
		t.Errorf("got %d inserted, %d applied, head %+v; want 3, 3, %+v", len(inserted), len(ch.Applied), tr.Head(), blocks[2].Tip())
	}
	if tr.Has(forged.Hash()) || tr.Has(blocks[4].Hash()) {
		t.Error("got the forged block or its child in the tree")
	}
}

// Blocks are stored before the head moves: when the store write fails, the tree is unchanged.
func TestTreeInsertBatchStoreFailure(t *testing.T) {
	g := richGenesis()
	blocks := batchSource(t, g, 3)
	store := &countingStore{MemStore: NewMemStore(), fail: errors.New("disk full")}
	tr := openTestTree(t, g, store)
	before := tr.Head()
	if _, _, err := tr.InsertBatch(blocks, blocks[2].Header.Slot); err == nil {
		t.Fatal("got no error from a failing store, want one")
	}
	if tr.Head() != before {
		t.Errorf("head: got %+v, want %+v", tr.Head(), before)
	}
	for i, b := range blocks {
		if tr.Has(b.Hash()) {
			t.Errorf("block %d is in the tree after a failed write", i)
		}
	}
	store.fail = nil
	if _, inserted, err := tr.InsertBatch(blocks, blocks[2].Header.Slot); err != nil || len(inserted) != 3 {
		t.Errorf("retry: got %d inserted, %v; want 3, nil", len(inserted), err)
	}
}

func TestTreeInsertBatchUnknownParent(t *testing.T) {
	g := richGenesis()
	blocks := batchSource(t, g, 3)
	tr := openTestTree(t, g, NewMemStore())
	_, inserted, err := tr.InsertBatch(blocks[1:], blocks[2].Header.Slot)
	if !errors.Is(err, ErrUnknownParent) || len(inserted) != 0 {
		t.Errorf("got %d inserted, %v; want 0, ErrUnknownParent", len(inserted), err)
	}
}
