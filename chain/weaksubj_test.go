package chain

import (
	"errors"
	"strings"
	"testing"
	"time"
)

// ParseCheckpoint reads what Checkpoint.Text writes, and names what is wrong with anything else.
func TestParseCheckpoint(t *testing.T) {
	h := HashBytes([]byte("checkpoint"))
	c := Checkpoint{Epoch: 1234, Hash: h}
	got, err := ParseCheckpoint(c.Text())
	if err != nil || got != c {
		t.Fatalf("ParseCheckpoint(%q) = %v, %v; want %v", c.Text(), got, err, c)
	}
	if got, err := ParseCheckpoint(" 0:" + h.String() + "\n"); err != nil || got.Epoch != 0 {
		t.Errorf("surrounding space: %v, %v", got, err)
	}
	for _, tc := range []struct{ in, says string }{
		{"", "want EPOCH:HASH"},
		{h.String(), "want EPOCH:HASH"},
		{"12/" + h.String(), "want EPOCH:HASH"},
		{":" + h.String(), `epoch "" is not a decimal number`},
		{"-1:" + h.String(), `epoch "-1" is not a decimal number`},
		{"x:" + h.String(), `epoch "x" is not a decimal number`},
		{"18446744073709551616:" + h.String(), "is not a decimal number"},
		{"12:", "want 64 hex digits"},
		{"12:" + h.String()[:63], "want 64 hex digits"},
		{"12:" + h.String() + "00", "want 64 hex digits"},
		{"12:" + strings.Repeat("g", 64), "want 64 hex digits"},
		{"12:" + h.String() + ":3", "want 64 hex digits"},
	} {
		_, err := ParseCheckpoint(tc.in)
		if !errors.Is(err, ErrBadCheckpoint) || !strings.Contains(err.Error(), tc.says) {
			t.Errorf("ParseCheckpoint(%q) = %v; want ErrBadCheckpoint saying %q", tc.in, err, tc.says)
		}
	}
}

func TestWeakSubjectivityPeriod(t *testing.T) {
	g := testGenesis() // 10 slots of 1 s an epoch
	if got, want := WeakSubjectivityPeriod(g), time.Duration(WeakSubjectivityEpochs)*10*time.Second; got != want {
		t.Errorf("period %s, want %s", got, want)
	}
	for _, tc := range []struct {
		anchor, now Epoch
		stale       bool
	}{{0, 0, false}, {0, 128, false}, {0, 129, true}, {10, 138, false}, {10, 139, true}, {200, 100, false}} {
		if got := ViewTooOld(tc.anchor, tc.now, 128); got != tc.stale {
			t.Errorf("ViewTooOld(%d, %d, 128) = %v, want %v", tc.anchor, tc.now, got, tc.stale)
		}
	}
}

// The "contains" rule of PROTOCOL.md §12: epoch e's checkpoint of a branch is its newest block before e's first
// slot. A tree given the real chain's checkpoint of epoch 2 admits the real chain, refuses a rival branch from
// genesis at its first block of epoch 2 and a fork off the checkpoint block that puts another block before
// epoch 2, and refuses every block that does not descend from the checkpoint once it holds it.
func TestTrustedCheckpointContains(t *testing.T) {
	g := richGenesis() // 10 slots an epoch: epoch 2 opens at slot 20
	// The real chain: slots 1…18 and 20…30; slot 19 empty, so epoch 2's checkpoint is the block of slot 18.
	real := openTestTree(t, g, NewMemStore())
	var realBlocks []*Block
	for s := Slot(1); s <= 30; s++ {
		if s != 19 {
			realBlocks = append(realBlocks, grow(t, real, real.Head().Hash, s, nil))
		}
	}
	cp := real.Checkpoint(2)
	if cp.Hash != realBlocks[17].Hash() {
		t.Fatalf("epoch 2's checkpoint is %s, want the block of slot 18", cp)
	}
	// A rival branch from genesis: slots 2…30, slot 1 empty.
	rival := openTestTree(t, g, NewMemStore())
	var rivalBlocks []*Block
	for s := Slot(2); s <= 30; s++ {
		rivalBlocks = append(rivalBlocks, grow(t, rival, rival.Head().Hash, s, nil))
	}

	tr, err := OpenTree(TreeConfig{Genesis: g, Store: NewMemStore(), Elect: treeElect, Better: treeBetter,
		Finality: testFinality, Trusted: &cp})
	if err != nil {
		t.Fatal(err)
	}
	_, inserted, err := tr.InsertBatch(rivalBlocks, 30)
	if !errors.Is(err, ErrConflictsCheckpoint) {
		t.Fatalf("rival branch: got %v, want ErrConflictsCheckpoint", err)
	}
	if len(inserted) != 18 { // slots 2…19: before epoch 2 nothing tells them from the real chain's ancestors
		t.Errorf("rival branch: %d blocks inserted before the refusal, want 18 (slots 2…19)", len(inserted))
	}
	if ok, _ := tr.Contains(tr.Head().Hash, cp); !ok {
		t.Errorf("the rival branch before epoch 2, checkpoint not yet known: Contains false, want true")
	}
	if _, inserted, err = tr.InsertBatch(realBlocks, 30); err != nil || len(inserted) != len(realBlocks) {
		t.Fatalf("real chain: %d of %d inserted, %v", len(inserted), len(realBlocks), err)
	}
	if tr.Head().Hash != real.Head().Hash {
		t.Fatalf("head %s, want the real chain's %s", tr.Head().Hash.Short(), real.Head().Hash.Short())
	}
	for _, tc := range []struct {
		name string
		h    Hash
		want bool
	}{
		{"the real head", realBlocks[len(realBlocks)-1].Hash(), true},
		{"the checkpoint block", cp.Hash, true},
		{"an ancestor of the checkpoint", realBlocks[3].Hash(), true},
		{"the rival branch before epoch 2", rivalBlocks[17].Hash(), false},
	} {
		if got, ok := tr.Contains(tc.h, cp); !ok || got != tc.want {
			t.Errorf("Contains(%s) = %v (in tree %v), want %v", tc.name, got, ok, tc.want)
		}
	}
	// A fork off the checkpoint block at slot 19, before epoch 2, would be its branch's checkpoint of epoch 2:
	// refused, as is a block of epoch 2 on it (a tree without the rule takes both).
	fork := build(t, tr, cp.Hash, 19, nil)
	if _, err := tr.Insert(fork, 30); !errors.Is(err, ErrConflictsCheckpoint) {
		t.Errorf("fork at slot 19: got %v, want ErrConflictsCheckpoint", err)
	}
	if _, err := real.Insert(fork, 30); err != nil {
		t.Fatalf("fork at slot 19 in a tree without a trusted checkpoint: %v", err)
	}
	if got, _ := real.Contains(fork.Hash(), cp); got {
		t.Errorf("fork at slot 19: Contains true, want false")
	}
	next := build(t, real, fork.Hash(), 21, nil)
	if _, err := tr.Insert(next, 30); !errors.Is(err, ErrUnknownParent) {
		t.Errorf("block of epoch 2 on the fork: got %v, want ErrUnknownParent", err)
	}
	_, _, err = tr.InsertBatch([]*Block{fork, next}, 30)
	if !errors.Is(err, ErrConflictsCheckpoint) {
		t.Errorf("the fork and a block of epoch 2 on it: got %v, want ErrConflictsCheckpoint", err)
	}
	if _, err := real.Insert(next, 30); err != nil {
		t.Fatal(err)
	}
	if got, _ := real.Contains(next.Hash(), cp); got {
		t.Errorf("block of epoch 2 on the fork: Contains true, want false")
	}
	// The checkpoint known: a block on the rival branch, below it, is refused even before epoch 2.
	side := build(t, tr, rivalBlocks[5].Hash(), 9, nil)
	if _, err := tr.Insert(side, 30); !errors.Is(err, ErrConflictsCheckpoint) {
		t.Errorf("block on the rival branch: got %v, want ErrConflictsCheckpoint", err)
	}
}

// TestRebuiltChainBelowTheAnchorConflictsCheckpoint: a node that checkpoint-synced holds nothing below its anchor,
// the trusted checkpoint's block, and its sync steps back no lower. A block of another branch at the anchor's
// height, whose parent the tree does not hold, cannot contain the checkpoint: it is refused with ErrConflictsCheckpoint (the peer that served
// it is penalised, PROTOCOL.md §12), by sync and by gossip alike, where a tree without a trusted checkpoint refuses
// it with ErrConflictsFinalized (the simulator's long-range runs found it answered as the latter).
func TestRebuiltChainBelowTheAnchorConflictsCheckpoint(t *testing.T) {
	g := richGenesis()
	blocks := signedFinalChain(t, g, 200)
	src := openFinalChain(t, g, NewMemStore(), blocks, 0)
	_, fin := src.Finality()
	a, err := src.Anchor(fin.Hash)
	if err != nil {
		t.Fatal(err)
	}
	floor := a.Block.Header.Height
	rival := openTestTree(t, g, NewMemStore()) // a branch from genesis with slot 1 empty
	var rivalBlocks []*Block
	for s := Slot(2); len(rivalBlocks) < int(floor); s++ {
		rivalBlocks = append(rivalBlocks, grow(t, rival, rival.Head().Hash, s, nil))
	}
	for _, tc := range []struct {
		name    string
		trusted *Checkpoint
		want    error
	}{
		{"trusted checkpoint", &fin, ErrConflictsCheckpoint},
		{"no trusted checkpoint", nil, ErrConflictsFinalized},
	} {
		s := NewMemStore()
		if err := a.Install(s, g, fin); err != nil {
			t.Fatal(err)
		}
		tr, err := OpenTree(TreeConfig{Genesis: g, Store: s, Elect: treeElect, Better: treeBetter,
			Finality: testFinality, Trusted: tc.trusted})
		if err != nil {
			t.Fatal(err)
		}
		if got := tr.SyncFloor(); got != floor {
			t.Errorf("%s: sync floor %d, want the anchor's height %d", tc.name, got, floor)
		}
		for _, c := range []struct {
			b    *Block
			want error
		}{
			{rivalBlocks[floor-1], tc.want},
			// Below the oldest height held the node cannot tell the branch from the canonical chain's ancestors.
			{rivalBlocks[floor/2], ErrConflictsFinalized},
		} {
			b := c.b
			if _, _, err := tr.InsertBatch([]*Block{b}, b.Header.Slot); !errors.Is(err, c.want) {
				t.Errorf("%s: sync of the rival block at height %d: got %v, want %v", tc.name, b.Header.Height, err, c.want)
			}
			if _, err := tr.PrepareInsert(b, b.Header.Slot); !errors.Is(err, c.want) {
				t.Errorf("%s: gossip of the rival block at height %d: got %v, want %v", tc.name, b.Header.Height, err, c.want)
			}
		}
	}
}
