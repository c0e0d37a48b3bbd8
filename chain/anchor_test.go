package chain

import (
	"bytes"
	"errors"
	"path/filepath"
	"testing"
	"time"
)

// signedFinalChain is finalChain with every block signed by its proposer, as an anchor's block must be.
func signedFinalChain(t *testing.T, g *Genesis, n int) []*Block {
	blocks := finalChain(t, g, n)
	for _, b := range blocks {
		b.Sign(g.Hash(), testKey(keyIndex(t, b.Header.Proposer)))
	}
	return blocks
}

// TestAnchorInstall: the anchor a tree serves at its finalized checkpoint decodes to the same bytes, verifies
// against the checkpoint, and, installed in an empty store, opens a tree rooted at the checkpoint block that
// accepts the rest of the chain, reaches the same head and finality as a tree that replayed it all, and holds
// nothing below the checkpoint (PROTOCOL.md §13a).
func TestAnchorInstall(t *testing.T) {
	g := richGenesis()
	blocks := signedFinalChain(t, g, 320)
	src := openFinalChain(t, g, NewMemStore(), blocks[:200], 0)
	_, fin := src.Finality()
	a, err := src.Anchor(fin.Hash)
	if err != nil {
		t.Fatal(err)
	}
	enc := a.Encode()
	got, err := DecodeAnchor(enc)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got.Encode(), enc) {
		t.Fatal("the decoded anchor encodes to other bytes")
	}
	if err := got.Verify(g, fin); err != nil {
		t.Fatalf("verify %s: %v", fin.Text(), err)
	}
	s := NewMemStore()
	if err := got.Install(s, g, fin); err != nil {
		t.Fatal(err)
	}
	tr := reopen(t, g, s, 0)
	if h := tr.Head(); h.Hash != fin.Hash {
		t.Fatalf("installed tree's head is %d %s, want the checkpoint block %s", h.Height, h.Hash.Short(), fin.Hash.Short())
	}
	floor := got.Block.Header.Height
	for _, b := range blocks[floor:] {
		feed(t, tr, s, b)
	}
	full := openFinalChain(t, g, NewMemStore(), blocks, 0)
	if tr.Head() != full.Head() || tr.HeadState().Root() != full.HeadState().Root() {
		t.Fatalf("head %d %s, want %d %s", tr.Head().Height, tr.Head().Hash.Short(), full.Head().Height, full.Head().Hash.Short())
	}
	j1, f1 := tr.Finality()
	j2, f2 := full.Finality()
	if j1 != j2 || f1 != f2 {
		t.Fatalf("finality %s %s, want %s %s", j1, f1, j2, f2)
	}
	if _, err := tr.BlockAt(floor - 1); !errors.Is(err, ErrPruned) {
		t.Errorf("block below the anchor: %v, want ErrPruned", err)
	}
	t.Logf("anchor at %s, height %d: %d bytes, %d headers; followed to height %d, finalized %s", fin.Text(), floor,
		len(enc), len(got.Headers), tr.Head().Height, f1)
}

// TestAnchorLies: an anchor whose state, headers or block do not match the checkpoint fails to verify.
func TestAnchorLies(t *testing.T) {
	g := richGenesis()
	blocks := signedFinalChain(t, g, 200)
	src := openFinalChain(t, g, NewMemStore(), blocks, 0)
	_, fin := src.Finality()
	lies := map[string]func(a *Anchor){
		"richer account": func(a *Anchor) {
			for ad, acc := range a.Accounts {
				acc.Balance++
				a.Accounts[ad] = acc
				return
			}
		},
		"stake table": func(a *Anchor) { a.Tables[0][0].Amount++ },
		"supply":      func(a *Anchor) { a.Supply++ },
		"header":      func(a *Anchor) { a.Headers[0].Mix[0] ^= 1 },
		"few headers": func(a *Anchor) { a.Headers = a.Headers[len(a.Headers)-1:] },
		"other block": func(a *Anchor) { a.Block = blocks[a.Block.Header.Height] },
	}
	for name, lie := range lies {
		a, err := src.Anchor(fin.Hash)
		if err != nil {
			t.Fatal(err)
		}
		a, _ = DecodeAnchor(a.Encode()) // a copy: the tree's state is shared
		lie(a)
		if err := a.Verify(g, fin); !errors.Is(err, ErrBadAnchor) {
			t.Errorf("%s: verify = %v, want ErrBadAnchor", name, err)
		}
	}
}

// TestAnchorKeptForThePeriod: a pruning node serves the anchor at every floor of the last AnchorEpochs epochs from
// its store, after a reopen as well, and refuses older ones as pruned, which a node answers "not held"; a shorter
// retention window shortens the period (PROTOCOL.md §13a).
func TestAnchorKeptForThePeriod(t *testing.T) {
	const period = 24
	g := richGenesis()
	blocks := insertableChain(t, g, 40*int(g.EpochLength))
	path := filepath.Join(t.TempDir(), "chain.db")
	s, err := OpenBolt(path)
	if err != nil {
		t.Fatal(err)
	}
	cfg := TreeConfig{Genesis: g, Store: s, Elect: treeElect, Better: treeBetter, Finality: testFinality,
		RetainEpochs: period + 2, AnchorEpochs: period}
	tr := insertAll(t, cfg, blocks)
	for _, phase := range []string{"running", "reopened"} {
		if phase == "reopened" {
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			if s, err = OpenBolt(path); err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			cfg.Store = s
			if tr, err = OpenTree(cfg); err != nil {
				t.Fatal(err)
			}
		}
		_, fin := tr.Finality()
		if _, oldest, _, _ := tr.Retention(); oldest < 10*Height(g.EpochLength) {
			t.Fatalf("%s: oldest block held at height %d: the store did not prune", phase, oldest)
		}
		served, bytes, heads := 0, 0, 0
		for e := fin.Epoch; e > 0; e-- {
			c := tr.Checkpoint(e)
			a, err := tr.Anchor(c.Hash)
			switch {
			case e+period < fin.Epoch && !errors.Is(err, ErrPruned):
				t.Errorf("%s: epoch %d, %d before the finalized %d: %v, want ErrPruned", phase, e, fin.Epoch-e, fin.Epoch, err)
			case e+period < fin.Epoch:
			case err != nil:
				t.Errorf("%s: epoch %d, %d before the finalized %d: %v, want the anchor", phase, e, fin.Epoch-e, fin.Epoch, err)
			default:
				served++
				bytes, heads = bytes+len(a.Encode()), heads+len(a.Headers)
				if err := a.Verify(g, c); err != nil {
					t.Errorf("%s: epoch %d: %v", phase, e, err)
				}
			}
		}
		if served < 21 {
			t.Errorf("%s: served %d anchors of the last %d epochs, want at least 21", phase, served, period+1)
		}
		t.Logf("%s: finalized %s, served %d anchors of checkpoints within %d epochs, %d bytes each on average (%d accounts, %d headers of %d bytes)",
			phase, fin, served, period, bytes/max(served, 1), tr.HeadState().accounts.size(), heads/max(served, 1), HeaderSize)
	}
}

// insertAll opens a tree with cfg and inserts blocks into it one by one, as a running node does.
func insertAll(t *testing.T, cfg TreeConfig, blocks []*Block) *Tree {
	t.Helper()
	tr, err := OpenTree(cfg)
	if err != nil {
		t.Fatal(err)
	}
	maxSlot := blocks[len(blocks)-1].Header.Slot
	for i, b := range blocks {
		if _, err := tr.Insert(b, maxSlot); err != nil {
			t.Fatalf("insert block %d: %v", i+1, err)
		}
	}
	return tr
}

// FuzzDecodeAnchor: DecodeAnchor never panics, and whatever it accepts re-encodes to the same bytes.
func FuzzDecodeAnchor(f *testing.F) {
	g := richGenesis()
	blocks := signedFinalChain(&testing.T{}, g, 3*int(g.EpochLength))
	tr := openFinalChain(f, g, NewMemStore(), blocks, 0)
	_, fin := tr.Finality()
	if a, err := tr.Anchor(fin.Hash); err == nil {
		f.Add(a.Encode())
	}
	f.Add([]byte{anchorVersion})
	f.Fuzz(func(t *testing.T, in []byte) {
		a, err := DecodeAnchor(in)
		if err != nil {
			return
		}
		if out := a.Encode(); !bytes.Equal(out, in) {
			t.Fatalf("re-encoding differs:\n got %x\nwant %x", out, in)
		}
		_ = a.Verify(g, Checkpoint{Epoch: 1, Hash: a.Block.Hash()})
	})
}

// TestAnchorJoinTimes prints (asserts nothing of timings) what a fresh node spends to start on a long chain from
// an anchor (decode, verify, install, open) against replaying the whole chain, as genesis sync does.
func TestAnchorJoinTimes(t *testing.T) {
	if testing.Short() {
		t.Skip("long chain")
	}
	g := richGenesis()
	blocks := signedFinalChain(t, g, 10000)
	src := openFinalChain(t, g, NewMemStore(), blocks, 0)
	_, fin := src.Finality()
	a, err := src.Anchor(fin.Hash)
	if err != nil {
		t.Fatal(err)
	}
	enc := a.Encode()
	start := time.Now()
	got, err := DecodeAnchor(enc)
	if err == nil {
		err = got.Verify(g, fin)
	}
	s := NewMemStore()
	if err == nil {
		err = got.Install(s, g, fin)
	}
	if err != nil {
		t.Fatal(err)
	}
	tr := reopen(t, g, s, 0)
	for _, b := range blocks[got.Block.Header.Height:] {
		feed(t, tr, s, b)
	}
	anchorTook := time.Since(start)
	start = time.Now()
	full := openFinalChain(t, g, NewMemStore(), blocks, 0)
	replayTook := time.Since(start)
	if tr.Head() != full.Head() {
		t.Fatalf("heads differ: %d and %d", tr.Head().Height, full.Head().Height)
	}
	t.Logf("%d blocks: from the anchor (%d bytes) %v; replaying from genesis %v", len(blocks), len(enc),
		anchorTook.Round(time.Millisecond), replayTook.Round(time.Millisecond))
}

// TestAnchorEarlyCheckpoints: the anchor at each of a young chain's first checkpoints verifies, installs and
// follows the chain, including those whose block has fewer than three ancestors of earlier epochs (its oldest is of
// epoch 0, and genesis is none): a node checkpoint-syncing to one of them refused every honest peer's anchor
// (PROTOCOL.md §13a).
func TestAnchorEarlyCheckpoints(t *testing.T) {
	g := richGenesis()
	blocks := signedFinalChain(t, g, 7*int(g.EpochLength))
	for e := Epoch(1); e <= 6; e++ {
		src := openFinalChain(t, g, NewMemStore(), blocks[:int(e)*int(g.EpochLength)-1], 0) // up to the last slot before epoch e
		c := Checkpoint{Epoch: e, Hash: src.Head().Hash}
		a, err := src.Anchor(c.Hash)
		if err != nil {
			t.Fatalf("epoch %d: %v", e, err)
		}
		if err := a.Verify(g, c); err != nil {
			t.Fatalf("anchor at %s (%d headers from height %d): %v", c, len(a.Headers), a.Headers[0].Height, err)
		}
		s := NewMemStore()
		if err := a.Install(s, g, c); err != nil {
			t.Fatalf("install the anchor at %s: %v", c, err)
		}
		tr := reopen(t, g, s, 0)
		for _, b := range blocks[a.Block.Header.Height:] {
			feed(t, tr, s, b)
		}
		if h := tr.Head(); h.Hash != blocks[len(blocks)-1].Hash() {
			t.Fatalf("from the anchor at %s: head %d %s, want the chain's", c, h.Height, h.Hash.Short())
		}
	}
}

// TestAnchorEpochs: the store keeps anchors for AnchorEpochs (W by default), fewer than the retention window.
func TestAnchorEpochs(t *testing.T) {
	for _, tc := range []struct{ anchor, retain, want uint64 }{
		{0, 0, WeakSubjectivityEpochs},
		{0, DefaultRetainEpochs, WeakSubjectivityEpochs},
		{24, 0, 24},
		{24, 10, 9},
		{0, 1, 0},
	} {
		tr := &Tree{cfg: TreeConfig{AnchorEpochs: tc.anchor, RetainEpochs: tc.retain}}
		if got := tr.anchorEpochs(); got != tc.want {
			t.Errorf("anchor epochs %d, retention %d: got %d, want %d", tc.anchor, tc.retain, got, tc.want)
		}
	}
}
