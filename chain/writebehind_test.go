package chain

import (
	"errors"
	"fmt"
	"slices"
	"testing"
)

// openWriteBehind opens a write-behind tree of g over s, queueing at most max blocks (0: MaxUnflushed).
func openWriteBehind(t *testing.T, g *Genesis, s Store, max int) *Tree {
	t.Helper()
	tr, err := OpenTree(TreeConfig{Genesis: g, Store: s, Elect: treeElect, Better: treeBetter, Finality: testFinality,
		WriteBehind: true, maxUnflushed: max})
	if err != nil {
		t.Fatalf("open tree: %v", err)
	}
	return tr
}

// A write-behind tree accepts blocks without writing them; readers find them in memory; Flush stores them all in
// one write, after which a tree opened over the store has the same head.
func TestWriteBehindAcceptsBeforeStore(t *testing.T) {
	g := richGenesis()
	blocks := batchSource(t, g, 5)
	store := &countingStore{MemStore: NewMemStore()}
	tr := openWriteBehind(t, g, store, 0)
	for _, b := range blocks {
		if _, err := tr.Insert(b, b.Header.Slot); err != nil {
			t.Fatal(err)
		}
	}
	if store.writes != 0 || tr.Unflushed() != 5 || tr.Head() != blocks[4].Tip() {
		t.Fatalf("after 5 inserts: got %d writes, %d unflushed, head %+v; want 0, 5, %+v", store.writes, tr.Unflushed(), tr.Head(), blocks[4].Tip())
	}
	checkReadable(t, tr, blocks)
	if _, err := store.Block(blocks[0].Hash()); !errors.Is(err, ErrNotFound) {
		t.Fatalf("store before the flush: got %v, want ErrNotFound", err)
	}
	if err := tr.Flush(); err != nil {
		t.Fatal(err)
	}
	if store.writes != 1 || tr.Unflushed() != 0 {
		t.Errorf("after the flush: got %d writes, %d unflushed; want 1, 0", store.writes, tr.Unflushed())
	}
	if err := tr.Flush(); err != nil || store.writes != 1 {
		t.Errorf("flush of an empty queue: got %v and %d writes, want nil and 1", err, store.writes)
	}
	checkReadable(t, tr, blocks)
	if got := openTestTree(t, g, store.MemStore).Head(); got != blocks[4].Tip() {
		t.Errorf("head of a tree over the flushed store: got %+v, want %+v", got, blocks[4].Tip())
	}
}

// checkReadable checks that every block of blocks, all canonical in tr, is served by Block, BlockAt, TxHeight and
// TxIDs.
func checkReadable(t *testing.T, tr *Tree, blocks []*Block) {
	t.Helper()
	for _, b := range blocks {
		h := b.Hash()
		got, err := tr.Block(h)
		if err != nil || got.Hash() != h {
			t.Fatalf("Block(%s): got %v", h.Short(), err)
		}
		if got, err := tr.BlockAt(b.Header.Height); err != nil || got.Hash() != h {
			t.Fatalf("BlockAt(%d): got %v", b.Header.Height, err)
		}
		for i := range b.Txs {
			id := b.Txs[i].ID()
			if height, at, ok := tr.TxHeight(id); !ok || height != b.Header.Height || at != h {
				t.Fatalf("TxHeight(%s): got %d %s %t, want %d %s", id.Short(), height, at.Short(), ok, b.Header.Height, h.Short())
			}
			ids, err := tr.TxIDs(id[:3], 16)
			if err != nil || !slices.Contains(ids, id) {
				t.Fatalf("TxIDs(%x): got %v, %v; want %s among them", id[:3], ids, err, id.Short())
			}
		}
	}
}

// A failed flush leaves the blocks accepted and queued; the next flush stores them. Inserts go on until the queue
// is full, then fail with ErrFlushBehind (an ErrStoreFailed) and leave the tree as it was.
func TestWriteBehindFlushFailure(t *testing.T) {
	g := richGenesis()
	blocks := batchSource(t, g, 5)
	store := &countingStore{MemStore: NewMemStore(), fail: fmt.Errorf("%w: no space left on device", ErrStoreFailed)}
	tr := openWriteBehind(t, g, store, 3)
	for _, b := range blocks[:3] {
		if _, err := tr.Insert(b, b.Header.Slot); err != nil {
			t.Fatal(err)
		}
	}
	if err := tr.Flush(); !errors.Is(err, ErrStoreFailed) {
		t.Fatalf("flush to a failing store: got %v, want ErrStoreFailed", err)
	}
	if tr.Unflushed() != 3 || tr.Head() != blocks[2].Tip() {
		t.Fatalf("after a failed flush: got %d unflushed, head %+v; want 3, %+v", tr.Unflushed(), tr.Head(), blocks[2].Tip())
	}
	if _, err := tr.Insert(blocks[3], blocks[3].Header.Slot); !errors.Is(err, ErrFlushBehind) || !errors.Is(err, ErrStoreFailed) {
		t.Fatalf("insert into a full queue: got %v, want ErrFlushBehind", err)
	}
	if _, _, err := tr.InsertBatch(blocks[3:], blocks[4].Header.Slot); !errors.Is(err, ErrFlushBehind) {
		t.Fatalf("batch into a full queue: got %v, want ErrFlushBehind", err)
	}
	if tr.Has(blocks[3].Hash()) || tr.Head() != blocks[2].Tip() {
		t.Fatalf("a refused block is in the tree, or the head moved to %+v", tr.Head())
	}
	store.fail = nil
	if err := tr.Flush(); err != nil || tr.Unflushed() != 0 {
		t.Fatalf("flush once the store works: got %v, %d unflushed", err, tr.Unflushed())
	}
	if _, inserted, err := tr.InsertBatch(blocks[3:], blocks[4].Header.Slot); err != nil || len(inserted) != 2 {
		t.Fatalf("batch after the flush: got %d inserted, %v; want 2, nil", len(inserted), err)
	}
	if err := tr.Flush(); err != nil {
		t.Fatal(err)
	}
	if got := openTestTree(t, g, store.MemStore).Head(); got != blocks[4].Tip() {
		t.Errorf("head of a tree over the store: got %+v, want %+v", got, blocks[4].Tip())
	}
}

// Blocks queued on a side branch and then reverted are read back from the queue: a reorg over unflushed blocks
// reports them, and each flush stores every block accepted so far, parents before children, in one write.
func TestWriteBehindReorgFromQueue(t *testing.T) {
	g := richGenesis()
	store := &countingStore{MemStore: NewMemStore()}
	tr := openWriteBehind(t, g, store, 0)
	base := growHead(t, tr, 2, 1)
	short := growHead(t, tr, 1, 2)
	long := growBranch(t, tr, base[1].Hash(), short[0].Header.Slot+1, 2, 0)
	if tr.Head() != long[1].Tip() || store.writes != 0 {
		t.Fatalf("head %+v after %d writes, want %+v after none", tr.Head(), store.writes, long[1].Tip())
	}
	for _, b := range short[0].Txs { // the reverted block's transactions are found in no canonical block
		if _, _, ok := tr.TxHeight(b.ID()); ok {
			t.Errorf("tx %s of a reverted block reported canonical", b.ID().Short())
		}
	}
	if err := tr.Flush(); err != nil {
		t.Fatal(err)
	}
	stored := 0
	if err := store.ForEach(func(*Block) error { stored++; return nil }); err != nil || stored != 5 {
		t.Fatalf("stored after the flush: got %d blocks, %v; want 5", stored, err)
	}
	if got := openTestTree(t, g, store.MemStore).Head(); got != long[1].Tip() {
		t.Errorf("head after reopening: got %+v, want %+v", got, long[1].Tip())
	}
}

// Without WriteBehind a tree stores every insert before it returns, as it always did.
func TestWriteThroughStoresEachInsert(t *testing.T) {
	g := richGenesis()
	blocks := batchSource(t, g, 2)
	store := &countingStore{MemStore: NewMemStore()}
	tr := openTestTree(t, g, store)
	for i, b := range blocks {
		if _, err := tr.Insert(b, b.Header.Slot); err != nil {
			t.Fatal(err)
		}
		if store.writes != i+1 || tr.Unflushed() != 0 {
			t.Fatalf("after insert %d: got %d writes, %d unflushed; want %d, 0", i, store.writes, tr.Unflushed(), i+1)
		}
	}
}

// A state dropped below the window of kept states is rebuilt from blocks that are still queued, not stored: a
// write-behind tree whose store fails for longer than keepStates blocks still answers from memory, and a fork from
// that old block is validated on the rebuilt state (PROTOCOL.md §7, bounded replay).
func TestWriteBehindRebuildsFromQueue(t *testing.T) {
	g := richGenesis()
	store := &countingStore{MemStore: NewMemStore(), fail: fmt.Errorf("%w: disk failing", ErrStoreFailed)}
	tr := openWriteBehind(t, g, store, 0)
	growHead(t, tr, 10, 1)
	anc, snapshot := tr.Head(), tr.HeadState().Clone()
	growHead(t, tr, keepStates+20, 0)
	if tr.nodes[anc.Hash].state != nil || tr.Unflushed() != keepStates+30 {
		t.Fatalf("got state kept %t and %d unflushed, want a dropped state and %d unflushed",
			tr.nodes[anc.Hash].state != nil, tr.Unflushed(), keepStates+30)
	}
	if got := stateAt(t, tr, anc.Hash); got.Root() != snapshot.Root() {
		t.Fatalf("state of height %d rebuilt from queued blocks: root %s, want %s", anc.Height, got.Root().Short(), snapshot.Root().Short())
	}
	slot := tr.Head().Slot + 1
	fork := buildBlock(t, tr.ChainID(), anc, snapshot, slot, leaderAt(t, tr, anc.Hash, slot), transfers(tr.ChainID(), snapshot, 2))
	if _, err := tr.Insert(fork, slot); err != nil {
		t.Fatalf("insert a fork from height %d: %v", anc.Height, err)
	}
	store.fail = nil
	if err := tr.Flush(); err != nil {
		t.Fatal(err)
	}
	if got := openTestTree(t, g, store.MemStore); got.Head() != tr.Head() || !got.Has(fork.Hash()) {
		t.Errorf("a tree over the flushed store: head %+v, fork kept %t; want %+v, true", got.Head(), got.Has(fork.Hash()), tr.Head())
	}
}

// A flush job writes the blocks queued when it started while the tree goes on accepting blocks: every block stays
// readable throughout, a second job or a Flush waits for the first to end, a failed job leaves its blocks queued,
// and an ended job takes only its own blocks off the queue, parents stored before children.
func TestWriteBehindFlushJob(t *testing.T) {
	g := richGenesis()
	blocks := batchSource(t, g, 6)
	store := &countingStore{MemStore: NewMemStore()}
	tr := openWriteBehind(t, g, store, 0)
	insert := func(bs ...*Block) {
		t.Helper()
		for _, b := range bs {
			if _, err := tr.Insert(b, b.Header.Slot); err != nil {
				t.Fatal(err)
			}
		}
	}
	insert(blocks[:2]...)
	job, err := tr.StartFlush()
	if err != nil || job == nil || job.Blocks() != 2 {
		t.Fatalf("StartFlush over 2 queued blocks: got %v, %v", job, err)
	}
	if _, err := tr.StartFlush(); !errors.Is(err, ErrFlushOut) {
		t.Fatalf("second StartFlush while the first is out: got %v, want ErrFlushOut", err)
	}
	if err := tr.Flush(); !errors.Is(err, ErrFlushOut) {
		t.Fatalf("Flush while a job is out: got %v, want ErrFlushOut", err)
	}
	store.fail = fmt.Errorf("%w: no space left on device", ErrStoreFailed)
	if err := tr.EndFlush(job, job.Write()); !errors.Is(err, ErrStoreFailed) || tr.Unflushed() != 2 {
		t.Fatalf("failed job: got %v and %d unflushed, want ErrStoreFailed and 2", err, tr.Unflushed())
	}
	store.fail = nil
	if job, err = tr.StartFlush(); err != nil || job.Blocks() != 2 {
		t.Fatalf("StartFlush after a failed job: got %v, %v", job, err)
	}
	done := make(chan error)
	go func() { done <- job.Write() }()
	insert(blocks[2:4]...) // while the job writes
	checkReadable(t, tr, blocks[:4])
	writeErr := <-done
	checkReadable(t, tr, blocks[:4]) // the job's blocks are now in the store and in the queue
	if err := tr.EndFlush(job, writeErr); err != nil {
		t.Fatal(err)
	}
	if tr.Unflushed() != 2 {
		t.Fatalf("after the job: %d unflushed, want the 2 accepted while it wrote", tr.Unflushed())
	}
	for _, b := range blocks[:2] {
		if _, err := store.Block(b.Hash()); err != nil {
			t.Fatalf("block %d not stored by the job: %v", b.Header.Height, err)
		}
	}
	insert(blocks[4:]...)
	if err := tr.Flush(); err != nil || tr.Unflushed() != 0 {
		t.Fatalf("Flush after the job: got %v, %d unflushed", err, tr.Unflushed())
	}
	checkReadable(t, tr, blocks)
	if got := openTestTree(t, g, store.MemStore).Head(); got != blocks[5].Tip() {
		t.Errorf("head of a tree over the store: got %+v, want %+v", got, blocks[5].Tip())
	}
}
