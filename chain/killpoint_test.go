package chain

import (
	"errors"
	"fmt"
	"testing"
)

// The kill points of a node's chain database (issue: a node killed at random points during checkpoint sync,
// snapshot writing and pruning restarts and converges): every write a node makes to its store is one durable
// transaction, all or nothing (Store's contract, a bbolt transaction), so a process killed at any instant leaves
// the store as it was after some number k of its writes. killStore stops the store after k writes; the tests run a
// node's store-facing life (write-behind inserts, flushes, floor rises with their snapshot and pruning, the install
// of an anchor) once for every k, then open the store again as a restart does, and check that it opens, holds every
// block a flush acknowledged, and converges with a node that was never killed.

// errKilled is what a killStore returns once its process is dead.
var errKilled = errors.New("killed")

// killStore is a MemStore whose process dies after left more writes (negative: never): every later write fails
// with errKilled and changes nothing, so the MemStore holds what the process had written when it was killed.
type killStore struct {
	*MemStore
	left   int
	writes int // writes that reached the store
}

func (s *killStore) write(f func() error) error {
	if s.left == 0 {
		return errKilled
	}
	s.left--
	s.writes++
	return f()
}

func (s *killStore) PutBlock(b *Block) error {
	return s.write(func() error { return s.MemStore.PutBlock(b) })
}

func (s *killStore) PutBlocks(bs []*Block) error {
	return s.write(func() error { return s.MemStore.PutBlocks(bs) })
}

func (s *killStore) PutMeta(key string, val []byte) error {
	return s.write(func() error { return s.MemStore.PutMeta(key, val) })
}

func (s *killStore) Finalize(f *Finalization) error {
	return s.write(func() error { return s.MemStore.Finalize(f) })
}

// killRetain is the retention window of the kill tests, in epochs: the smallest, so that each floor rise prunes,
// and shorter than the headers of the anchor at the floor reach (its three ancestors of earlier epochs).
const killRetain = 1

// killLife is one life of a node's chain database: a write-behind tree over store, fed blocks from a reference
// chain and flushed every flushEvery blocks, alternately with Flush and with a FlushJob as the node does.
type killLife struct {
	g          *Genesis
	blocks     []*Block // the whole chain, blocks[i] at height i+1
	flushEvery int
	sigs       *SigCache
	inserted   func(tr *Tree) // if set, called after each insert
}

func (l *killLife) open(s Store) (*Tree, error) {
	return OpenTree(TreeConfig{Genesis: l.g, Store: s, Elect: treeElect, Better: treeBetter, Finality: testFinality,
		Sigs: l.sigs, WriteBehind: true, RetainEpochs: killRetain})
}

// follow inserts the blocks above tr's head up to height to, flushing every flushEvery blocks and at the end. It
// returns the height of the highest block a flush reported stored, and the first store error (the kill).
func (l *killLife) follow(tr *Tree, to int) (acked int, err error) {
	maxSlot := l.blocks[len(l.blocks)-1].Header.Slot
	acked = int(tr.Head().Height)
	for i := acked; i < to; i++ {
		if _, err := tr.Insert(l.blocks[i], maxSlot); err != nil {
			return acked, fmt.Errorf("insert block %d: %w", i+1, err)
		}
		if l.inserted != nil {
			l.inserted(tr)
		}
		if (i+1)%l.flushEvery != 0 && i+1 != to {
			continue
		}
		if err := l.flush(tr, i%2 == 0); err != nil {
			return acked, err
		}
		acked = i + 1
	}
	return acked, nil
}

func (l *killLife) flush(tr *Tree, job bool) error {
	if !job {
		return tr.Flush()
	}
	j, err := tr.StartFlush()
	if err != nil || j == nil {
		return err
	}
	return tr.EndFlush(j, j.Write())
}

// killRef is what a node that was never killed has at each height of the chain.
type killRef struct {
	fin    []Checkpoint // fin[h]: the finalized checkpoint with the head at height h
	end    *Tree
	stored []Hash // the blocks its store holds at the end
	writes int
}

// checkConverged checks that tr, restarted after a kill and fed the rest of the chain, is where the never-killed
// node is: same head, state, finality, floor and oldest block, every canonical block it keeps readable, the
// anchor at its finalized checkpoint served, and its store holding exactly the never-killed store's blocks.
func checkConverged(t *testing.T, what string, tr *Tree, s Store, ref *killRef, blocks []*Block) {
	t.Helper()
	want := ref.end
	if tr.Head() != want.Head() || tr.HeadState().Root() != want.HeadState().Root() {
		t.Fatalf("%s: head %d %s, want %d %s", what, tr.Head().Height, tr.Head().Hash.Short(), want.Head().Height,
			want.Head().Hash.Short())
	}
	j1, f1 := tr.Finality()
	j2, f2 := want.Finality()
	if j1 != j2 || f1 != f2 {
		t.Fatalf("%s: finality %s %s, want %s %s", what, j1, f1, j2, f2)
	}
	fl1, old1, _, err := tr.Retention()
	fl2, old2, _, _ := want.Retention()
	if fl1 != fl2 || err != nil {
		t.Fatalf("%s: floor %d (snapshot error %v), want %d", what, fl1, err, fl2)
	}
	if old1 != old2 {
		t.Fatalf("%s: oldest block held at height %d, want %d", what, old1, old2)
	}
	checkHeld(t, what, tr, blocks)
	if _, err := tr.Anchor(f1.Hash); err != nil {
		t.Fatalf("%s: anchor at the finalized checkpoint %s: %v", what, f1, err)
	}
	for e := f1.Epoch; e > 0; e-- { // the anchors kept of earlier floors, written with each floor's rise
		c := want.Checkpoint(e)
		_, err := tr.Anchor(c.Hash)
		_, wantErr := want.Anchor(c.Hash)
		if (err == nil) != (wantErr == nil) {
			t.Fatalf("%s: anchor at %s: %v, the never-killed node: %v", what, c, err, wantErr)
		}
	}
	if got := storedHashes(t, s); len(got) != len(ref.stored) || got[0] != ref.stored[0] {
		t.Fatalf("%s: the store holds %d blocks from %s, the never-killed one %d from %s", what, len(got),
			got[0].Short(), len(ref.stored), ref.stored[0].Short())
	}
}

// TestKilledAtEveryFloorWrite kills a write-behind node after each of its store writes in turn — the chain-id
// record, every flush of accepted blocks, every floor rise's Finalize (snapshot, canonical index, pruning below
// the retention window) — restarts it on what was written, and feeds it the rest of the chain: it opens, holds
// every block a flush reported stored and the finality of its stored head, and ends where a node never killed
// ends, its store holding the same blocks (PROTOCOL.md §11, §13).
func TestKilledAtEveryFloorWrite(t *testing.T) {
	defer ShareVerification()() // every life checks the same blocks; no test of this package runs in parallel
	g := richGenesis()
	n := 20 * int(g.EpochLength)
	life := &killLife{g: g, blocks: insertableChain(t, g, n), flushEvery: 7, sigs: NewSigCache(g.Hash(), 1<<16)}
	ref := refLife(t, life)
	rises, prunes := 0, 0
	for k := range ref.writes {
		ms := NewMemStore()
		ks := &killStore{MemStore: ms, left: k}
		acked := 0
		tr, err := life.open(ks)
		if err == nil {
			acked, err = life.follow(tr, n)
		}
		if !errors.Is(err, errKilled) {
			t.Fatalf("kill after write %d of %d: %v, want the kill", k, ref.writes, err)
		}
		what := fmt.Sprintf("kill after write %d of %d", k, ref.writes)
		tr = restartAfterKill(t, what, life, ms, acked, ref)
		if floor, oldest, _, _ := tr.Retention(); floor > 0 {
			rises++
			if oldest > 1 {
				prunes++
			}
		}
		if _, err := life.follow(tr, n); err != nil {
			t.Fatalf("%s: after the restart: %v", what, err)
		}
		checkConverged(t, what, tr, ms, ref, life.blocks)
		checkConverged(t, what+", opened again", reopenKilled(t, life, ms), ms, ref, life.blocks)
	}
	if rises == 0 || prunes == 0 {
		t.Fatalf("%d restarts above a raised floor, %d with pruned blocks: the kills missed the floor's writes", rises, prunes)
	}
	t.Logf("%d kill points over %d blocks: %d restarts opened above a raised floor, %d with blocks pruned", ref.writes,
		n, rises, prunes)
}

// refLife runs life without a kill, recording the finality at each height and the store's writes.
func refLife(t *testing.T, life *killLife) *killRef {
	t.Helper()
	ks := &killStore{MemStore: NewMemStore(), left: -1}
	tr, err := life.open(ks)
	if err != nil {
		t.Fatal(err)
	}
	ref := &killRef{fin: []Checkpoint{{Hash: life.g.Hash()}}}
	life.inserted = func(tr *Tree) {
		_, f := tr.Finality()
		ref.fin = append(ref.fin, f)
	}
	defer func() { life.inserted = nil }()
	if _, err := life.follow(tr, len(life.blocks)); err != nil {
		t.Fatal(err)
	}
	ref.end, ref.stored, ref.writes = tr, storedHashes(t, ks), ks.writes
	return ref
}

// restartAfterKill opens the store a killed process left, as a restart does, and checks what it holds: no block
// a flush acknowledged is lost, the head is a block of the chain, and its finality is the chain's at that head.
func restartAfterKill(t *testing.T, what string, life *killLife, ms *MemStore, acked int, ref *killRef) *Tree {
	t.Helper()
	tr := reopenKilled(t, life, ms)
	h := tr.Head()
	if int(h.Height) < acked || (h.Height > 0 && h.Hash != life.blocks[h.Height-1].Hash()) {
		t.Fatalf("%s: restarted at height %d %s, want a block of the chain at or above the acknowledged %d", what,
			h.Height, h.Hash.Short(), acked)
	}
	if _, f := tr.Finality(); f != ref.fin[h.Height] {
		t.Fatalf("%s: restarted with finalized %s at height %d, want %s", what, f, h.Height, ref.fin[h.Height])
	}
	checkHeld(t, what+", restarted", tr, life.blocks)
	return tr
}

// checkHeld checks that tr reads the chain's block at every height from the oldest it holds to its head.
func checkHeld(t *testing.T, what string, tr *Tree, blocks []*Block) {
	t.Helper()
	floor, oldest, _, _ := tr.Retention()
	for h := oldest; h <= tr.Head().Height; h++ {
		if b, err := tr.BlockAt(h); err != nil || b.Hash() != blocks[h-1].Hash() {
			t.Fatalf("%s: block at height %d (oldest held %d, floor %d): %v", what, h, oldest, floor, err)
		}
	}
}

func reopenKilled(t *testing.T, life *killLife, ms *MemStore) *Tree {
	t.Helper()
	tr, err := life.open(&killStore{MemStore: ms, left: -1})
	if err != nil {
		t.Fatalf("open the store a killed process left: %v", err)
	}
	return tr
}

// insertableChain is finalChain with every block and vote signed, as Tree.Insert checks.
func insertableChain(t *testing.T, g *Genesis, n int) []*Block {
	c := newChainGen(g)
	c.signed = true
	return c.next(t, n)
}
