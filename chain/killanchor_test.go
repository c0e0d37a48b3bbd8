package chain

import (
	"errors"
	"fmt"
	"path/filepath"
	"testing"
)

// anchorLife is the chain database's life of a node that checkpoint-syncs: it opens its empty store, installs the
// anchor at the trusted checkpoint c when its tree holds nothing but genesis (as node's wantsAnchor decides at each
// start), opens the tree from it, and follows the chain above it.
func (l *killLife) anchorLife(s Store, a *Anchor, c Checkpoint) (tr *Tree, acked int, err error) {
	if tr, err = l.join(s, a, c); err != nil {
		return nil, 0, err
	}
	acked, err = l.follow(tr, len(l.blocks))
	return tr, acked, err
}

// join opens the store and installs the anchor when the tree holds nothing but genesis.
func (l *killLife) join(s Store, a *Anchor, c Checkpoint) (*Tree, error) {
	tr, err := l.open(s)
	if err != nil {
		return nil, err
	}
	if floor, _, _, _ := tr.Retention(); floor > 0 || tr.Head().Height > 0 || tr.Has(c.Hash) {
		return tr, nil
	}
	if err := a.Install(s, l.g, c); err != nil {
		return nil, err
	}
	return l.open(s)
}

// TestKilledAtEveryAnchorWrite kills a checkpoint-syncing node after each of its store writes in turn — the
// chain-id record, the anchor's install, every flush and floor rise above it — and starts it again on what was
// written, as often as it takes: it opens, installs the anchor again if it had not, and ends where a node never
// killed ends, holding the checkpoint block and serving the anchor at its floor (PROTOCOL.md §13a).
func TestKilledAtEveryAnchorWrite(t *testing.T) {
	defer ShareVerification()()
	g := richGenesis()
	n := 14 * int(g.EpochLength)
	life := &killLife{g: g, blocks: insertableChain(t, g, n), flushEvery: 5, sigs: NewSigCache(g.Hash(), 1<<16)}
	src := reopen(t, g, NewMemStore(), 0)
	for _, b := range life.blocks[:6*g.EpochLength] {
		feed(t, src, src.cfg.Store, b)
	}
	_, c := src.Finality()
	a, err := src.Anchor(c.Hash)
	if err != nil {
		t.Fatal(err)
	}
	if a, err = DecodeAnchor(a.Encode()); err != nil { // as a peer sends it
		t.Fatal(err)
	}
	ks := &killStore{MemStore: NewMemStore(), left: -1}
	end, _, err := life.anchorLife(ks, a, c)
	if err != nil {
		t.Fatal(err)
	}
	ref := &killRef{end: end, stored: storedHashes(t, ks), writes: ks.writes}
	floor := a.Block.Header.Height
	for k := range ref.writes {
		what := fmt.Sprintf("anchor at %s (height %d): kill after write %d of %d", c, floor, k, ref.writes)
		ms := NewMemStore()
		_, _, err := life.anchorLife(&killStore{MemStore: ms, left: k}, a, c)
		if !errors.Is(err, errKilled) {
			t.Fatalf("%s: %v, want the kill", what, err)
		}
		tr, err := life.join(&killStore{MemStore: ms, left: -1}, a, c)
		if err != nil {
			t.Fatalf("%s: restart: %v", what, err)
		}
		checkHeld(t, what+", restarted", tr, life.blocks)
		if fl, _, _, _ := tr.Retention(); fl < floor {
			t.Fatalf("%s: restarted with its floor at %d, below the checkpoint block", what, fl)
		}
		if _, err := life.follow(tr, n); err != nil {
			t.Fatalf("%s: after the restart: %v", what, err)
		}
		checkConverged(t, what, tr, ms, ref, life.blocks)
		checkConverged(t, what+", opened again", reopenKilled(t, life, ms), ms, ref, life.blocks)
	}
	t.Logf("anchor at %s, height %d: %d kill points over %d blocks above it", c, floor, ref.writes, n-int(floor))
}

// TestAnchorInstallBolt: on a bbolt file, the anchor's install stores the checkpoint block and the snapshot in
// one write, which a store opened again finds (PROTOCOL.md §13a).
func TestAnchorInstallBolt(t *testing.T) {
	g := richGenesis()
	blocks := signedFinalChain(t, g, 80)
	src := openFinalChain(t, g, NewMemStore(), blocks, 0)
	_, c := src.Finality()
	a, err := src.Anchor(c.Hash)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "chain.db")
	s := openBoltAt(t, path)
	if err := a.Install(s, g, c); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s = openBoltAt(t, path)
	tr := reopen(t, g, s, 0)
	if h := tr.Head(); h.Hash != c.Hash {
		t.Fatalf("head %d %s, want the checkpoint block %s", h.Height, h.Hash.Short(), c.Hash.Short())
	}
	if got := storedHashes(t, s); len(got) != 1 || got[0] != c.Hash {
		t.Fatalf("stored %d blocks, want the checkpoint block alone", len(got))
	}
}

// TestFloorRisesPastTheTrustedCheckpoint: a tree with a trusted checkpoint keeps raising its floor, and pruning
// below it, once the floor has passed the checkpoint's block, after a restart too, whether it replayed the chain
// from genesis or installed the anchor at the checkpoint. The floor rose once past it and then never again (the
// block had left the tree, and finality no longer counted as bounding it), so such a node kept every block in
// memory and pruned nothing (PROTOCOL.md §12, §13).
func TestFloorRisesPastTheTrustedCheckpoint(t *testing.T) {
	g := richGenesis()
	blocks := signedFinalChain(t, g, 20*int(g.EpochLength))
	src := openFinalChain(t, g, NewMemStore(), blocks[:4*g.EpochLength-1], 0)
	c := Checkpoint{Epoch: 4, Hash: src.Head().Hash}
	a, err := src.Anchor(c.Hash)
	if err != nil {
		t.Fatal(err)
	}
	open := func(s Store) *Tree {
		tr, err := OpenTree(TreeConfig{Genesis: g, Store: s, Elect: treeElect, Better: treeBetter, Finality: testFinality,
			Trusted: &c, RetainEpochs: killRetain})
		if err != nil {
			t.Fatal(err)
		}
		return tr
	}
	for _, anchored := range []bool{false, true} {
		s := NewMemStore()
		from := 0
		if anchored {
			if err := a.Install(s, g, c); err != nil {
				t.Fatal(err)
			}
			from = int(a.Block.Header.Height)
		}
		tr := open(s)
		for i, b := range blocks[from:] {
			feed(t, tr, s, b)
			if i == len(blocks[from:])/2 {
				tr = open(s) // a restart half way
			}
		}
		_, fin := tr.Finality()
		floor, oldest, _, _ := tr.Retention()
		if tr.floor.hash != fin.Hash || oldest <= a.Block.Header.Height {
			t.Fatalf("anchored %t: floor at height %d, oldest %d, want the finalized checkpoint %s and pruning below it",
				anchored, floor, oldest, fin)
		}
		if tr2 := open(s); tr2.Head() != tr.Head() || tr2.base != floor {
			t.Fatalf("anchored %t: reopened at floor %d, head %d; want %d, %d", anchored, tr2.base, tr2.Head().Height,
				floor, tr.Head().Height)
		}
	}
}

// TestAnchorAtFloorWithSmallRetention: a retention window shorter than the anchor's headers reach (its floor's three
// ancestors of earlier epochs) still keeps them, so that the node serves the anchor at its floor (PROTOCOL.md §13,
// §13a); it pruned them, and answered "not held".
func TestAnchorAtFloorWithSmallRetention(t *testing.T) {
	g := richGenesis()
	blocks := signedFinalChain(t, g, 20*int(g.EpochLength))
	for _, retain := range []uint64{1, 2, 3} {
		tr := openFinalChain(t, g, NewMemStore(), blocks, retain)
		_, fin := tr.Finality()
		floor, oldest, _, _ := tr.Retention()
		a, err := tr.Anchor(fin.Hash)
		if err != nil {
			t.Fatalf("retain %d epochs (floor %d, oldest %d): anchor at the floor: %v", retain, floor, oldest, err)
		}
		if err := a.Verify(g, fin); err != nil {
			t.Fatalf("retain %d epochs: %v", retain, err)
		}
		if oldest <= floor-Height(4*retain*g.EpochLength) {
			t.Errorf("retain %d epochs: oldest held %d, floor %d: kept more than the anchor needs", retain, oldest, floor)
		}
	}
}
