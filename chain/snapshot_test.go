package chain

import (
	"errors"
	"path/filepath"
	"testing"
)

// errCrash is the fault of crashStore.
var errCrash = errors.New("crash")

// crashStore is a store whose at-th Finalize fails as a process killed during it would: before its write commits,
// or (committed) after, before the caller learns of it.
type crashStore struct {
	Store
	at, calls int
	committed bool
}

func (s *crashStore) Finalize(f *Finalization) error {
	if s.calls++; s.calls != s.at {
		return s.Store.Finalize(f)
	}
	if s.committed {
		if err := s.Store.Finalize(f); err != nil {
			return err
		}
	}
	return errCrash
}

// feed stores b and adds it to tr as a write-through node does: the block is stored before the tree moves.
func feed(t *testing.T, tr *Tree, s Store, b *Block) {
	t.Helper()
	if err := s.PutBlock(b); err != nil {
		t.Fatal(err)
	}
	if err := tr.replay(b); err != nil {
		t.Fatalf("block %d: %v", b.Header.Height, err)
	}
}

// TestSnapshotReopen: a tree reopened from its snapshot replays only the blocks above it, and has the head,
// finality, state and canonical chain of the tree that wrote it (PROTOCOL.md §13).
func TestSnapshotReopen(t *testing.T) {
	g := richGenesis()
	blocks := finalChain(t, g, 400)
	path := filepath.Join(t.TempDir(), "chain.db")
	s := openBoltAt(t, path)
	tr := reopen(t, g, s, 0)
	for _, b := range blocks {
		feed(t, tr, s, b)
	}
	wantJ, wantF := tr.Finality()
	s.Close()
	s = openBoltAt(t, path)
	defer s.Close()
	counting := &countingReplay{Store: s}
	tr2 := reopen(t, g, counting, 0)
	if tr2.Head() != tr.Head() || tr2.HeadState().Root() != tr.HeadState().Root() {
		t.Fatalf("reopened head %d %s, want %d %s", tr2.Head().Height, tr2.Head().Hash.Short(), tr.Head().Height, tr.Head().Hash.Short())
	}
	if j, f := tr2.Finality(); j != wantJ || f != wantF {
		t.Fatalf("reopened finality %s %s, want %s %s", j, f, wantJ, wantF)
	}
	if max := 3 * int(g.EpochLength); counting.replayed > max {
		t.Errorf("reopen replayed %d blocks, want at most %d (those above the snapshot)", counting.replayed, max)
	}
	checkCanon(t, tr2, blocks, len(blocks))
}

// countingReplay counts the blocks a tree replays when it opens.
type countingReplay struct {
	Store
	replayed int
}

func (s *countingReplay) ForEachFrom(from Height, fn func(*Block) error) error {
	return s.Store.ForEachFrom(from, func(b *Block) error { s.replayed++; return fn(b) })
}

// checkCanon checks that tr's canonical chain is blocks[:n] at every height it keeps.
func checkCanon(t *testing.T, tr *Tree, blocks []*Block, n int) {
	t.Helper()
	_, oldest, _, _ := tr.Retention()
	for i := int(oldest) - 1; i < n; i++ {
		if got, err := tr.BlockAt(Height(i + 1)); err != nil || got.Hash() != blocks[i].Hash() {
			t.Fatalf("height %d: %v", i+1, err)
		}
	}
}

// TestSnapshotCrash: a node killed while it writes a snapshot, before or after the write commits, reopens to the
// head it had stored, with the finality of that head, and goes on finalizing and writing snapshots.
func TestSnapshotCrash(t *testing.T) {
	g := richGenesis()
	blocks := finalChain(t, g, 260)
	for _, at := range []int{1, 4, 9, 17} {
		for _, committed := range []bool{false, true} {
			path := filepath.Join(t.TempDir(), "chain.db")
			s := openBoltAt(t, path)
			cs := &crashStore{Store: s, at: at, committed: committed}
			tr := reopen(t, g, cs, 3)
			fed := 0
			for ; fed < len(blocks) && cs.calls < at; fed++ {
				feed(t, tr, s, blocks[fed])
			}
			if cs.calls < at {
				t.Fatalf("crash at finalization %d: only %d finalizations", at, cs.calls)
			}
			s.Close() // the crash: nothing more is written
			s = openBoltAt(t, path)
			if got := snapFloor(t, s); (got == tr.base) != committed {
				t.Fatalf("crash at %d (committed %v): stored snapshot at %d, floor at the crash %d", at, committed, got, tr.base)
			}
			tr2 := reopen(t, g, s, 3)
			if tr2.Head() != blocks[fed-1].Tip() && tr2.Head().Hash != blocks[fed-1].Hash() {
				t.Fatalf("crash at %d (committed %v): head %d, want %d", at, committed, tr2.Head().Height, fed)
			}
			ref := reopen(t, g, NewMemStore(), 3)
			for _, b := range blocks[:fed] {
				feed(t, ref, ref.cfg.Store, b)
			}
			if j, f := tr2.Finality(); j != ref.head.fin.Justified || f != ref.head.fin.Finalized {
				t.Fatalf("crash at %d (committed %v): finality %s %s, want %s %s", at, committed, j, f,
					ref.head.fin.Justified, ref.head.fin.Finalized)
			}
			checkCanon(t, tr2, blocks, fed)
			for _, b := range blocks[fed:] {
				feed(t, tr2, s, b)
			}
			if tr2.Head().Hash != blocks[len(blocks)-1].Hash() || tr2.finErr != nil {
				t.Fatalf("crash at %d (committed %v): after the restart head %d, snapshot error %v", at, committed,
					tr2.Head().Height, tr2.finErr)
			}
			s.Close()
		}
	}
}

// TestRetentionWindow: below the finalized floor the store keeps the canonical blocks of the retention window
// only, and the tree answers below it with ErrPruned (PROTOCOL.md §13).
func TestRetentionWindow(t *testing.T) {
	g := richGenesis()
	blocks := finalChain(t, g, 300)
	s := NewMemStore()
	tr := openFinalChain(t, g, s, blocks, 5)
	floor, oldest, window, err := tr.Retention()
	if err != nil || window != 5 || oldest != floor-Height(5*g.EpochLength) {
		t.Fatalf("retention: floor %d oldest %d window %d err %v, want oldest 50 below the floor", floor, oldest, window, err)
	}
	if _, err := tr.BlockAt(oldest - 1); !errors.Is(err, ErrPruned) {
		t.Errorf("block below the window: %v, want ErrPruned", err)
	}
	if _, err := s.Block(blocks[oldest-2].Hash()); !errors.Is(err, ErrNotFound) {
		t.Errorf("store still holds block %d below the window: %v", oldest-1, err)
	}
	checkCanon(t, tr, blocks, len(blocks))
	tr2 := reopen(t, g, s, 5)
	if _, o, _, _ := tr2.Retention(); o != oldest || tr2.Head() != tr.Head() {
		t.Errorf("reopened: oldest %d head %d, want %d and %d", o, tr2.Head().Height, oldest, tr.Head().Height)
	}
}

// snapFloor returns the height of the floor of s's snapshot, 0 when it has none.
func snapFloor(t *testing.T, s Store) Height {
	t.Helper()
	enc, err := s.Snapshot()
	if err != nil || enc == nil {
		return 0
	}
	tr := &Tree{cfg: TreeConfig{Genesis: richGenesis(), Store: s}, nodes: map[Hash]*node{}}
	if _, err := tr.resume(); err != nil {
		t.Fatalf("stored snapshot: %v", err)
	}
	return tr.base
}

// truncStore is a store that lost every block from height lost on: a crash kept the snapshot of a raised floor but
// not the later blocks of the write-behind queue.
type truncStore struct {
	Store
	lost Height
}

func (s truncStore) ForEachFrom(from Height, fn func(*Block) error) error {
	return s.Store.ForEachFrom(from, func(b *Block) error {
		if b.Header.Height >= s.lost {
			return nil
		}
		return fn(b)
	})
}

// TestReopenWithoutTheFinalizingBlock: a crash can keep the snapshot of a raised floor and lose the block whose
// votes finalized it. Reopened, the head's finalized checkpoint lies below the floor; the tree still accepts the
// chain's next blocks (the simulator found a node that refused them for good, ErrConflictsFinalized: seed 9 of
// sim/simnet's CI seeds).
func TestReopenWithoutTheFinalizingBlock(t *testing.T) {
	g := richGenesis()
	blocks := finalChain(t, g, 200)
	s := NewMemStore()
	tr := reopen(t, g, s, 0)
	k := 0
	for ; k < len(blocks) && snapFloor(t, s) == 0; k++ {
		feed(t, tr, s, blocks[k])
	}
	if k == len(blocks) {
		t.Fatal("the floor never rose")
	}
	finalizing := blocks[k-1].Header.Height
	tr2 := reopen(t, g, truncStore{s, finalizing}, 0)
	_, fin := tr2.Finality()
	floor := snapFloor(t, s)
	if fb, err := tr2.BlockAt(floor); err != nil || fb.Hash() == fin.Hash {
		t.Fatalf("premise: the reopened head's finalized checkpoint %s should lie below the floor at %d", fin, floor)
	}
	// The test chain is not signed, so the blocks go through admit, the checks of Insert before validation.
	next := blocks[k-1]
	parent, ok := tr2.nodes[next.Header.Parent]
	if !ok || tr2.Head().Hash != parent.hash {
		t.Fatalf("premise: the reopened head is %s, want the parent of block %d", tr2.Head().Hash.Short(), finalizing)
	}
	if err := tr2.admit(parent, next, false); err != nil {
		t.Fatalf("block %d after the reopen: %v", finalizing, err)
	}
}
