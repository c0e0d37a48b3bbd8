package chain

import (
	"errors"
	"testing"
)

// TestInsertCheckedAfterTheTreeMoved: a check prepared before the tree moved fails at the commit, and leaves the
// tree as it was, when what it checked no longer holds; otherwise it inserts as InsertTimely does.
func TestInsertCheckedAfterTheTreeMoved(t *testing.T) {
	g := richGenesis()
	src := batchSource(t, g, 2)
	for _, tc := range []struct {
		name string
		move func(tr *Tree) // what happens on the tree between PrepareInsert and InsertChecked
		want error
	}{
		{"nothing", func(*Tree) {}, nil},
		{"the block arrived another way", func(tr *Tree) {
			if _, err := tr.Insert(src[1], src[1].Header.Slot); err != nil {
				t.Fatal(err)
			}
		}, ErrKnownBlock},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tr := openTestTree(t, g, NewMemStore())
			if _, err := tr.Insert(src[0], src[0].Header.Slot); err != nil {
				t.Fatal(err)
			}
			c, err := tr.PrepareInsert(src[1], src[1].Header.Slot)
			if err != nil {
				t.Fatal(err)
			}
			c.Run()
			tc.move(tr)
			_, err = tr.InsertChecked(c, false)
			if !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
			if got := tr.Head().Hash; got != src[1].Hash() {
				t.Errorf("head: got %s, want %s", got.Short(), src[1].Hash().Short())
			}
		})
	}
}

// TestInsertCheckedNeedsRun: a check that did not run inserts nothing.
func TestInsertCheckedNeedsRun(t *testing.T) {
	g := richGenesis()
	src := batchSource(t, g, 1)
	tr := openTestTree(t, g, NewMemStore())
	c, err := tr.PrepareInsert(src[0], src[0].Header.Slot)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tr.InsertChecked(c, false); err == nil {
		t.Fatal("got nil, want an error for a check that did not run")
	}
	if tr.Has(src[0].Hash()) {
		t.Error("the tree holds the block of a check that did not run")
	}
}

// TestBuildRunInsertsAsProposeBody: a block built off the tree's goroutine (PrepareBuild, Build.Run) is the block
// ProposeBody builds, and InsertChecked makes it the head without validating it again.
func TestBuildRunInsertsAsProposeBody(t *testing.T) {
	g := richGenesis()
	tr := openTestTree(t, g, NewMemStore())
	head := tr.Head()
	slot := head.Slot + 1
	key := testKey(leaderAt(t, tr, head.Hash, slot))
	txs := transfers(tr.ChainID(), tr.HeadState(), 3)
	want, _, err := tr.ProposeBody(head.Hash, slot, key, Body{Txs: txs})
	if err != nil {
		t.Fatal(err)
	}
	bd, err := tr.PrepareBuild(head.Hash, slot, key, Body{Txs: txs})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan *Check)
	go func() { // any goroutine may run it
		c, _, err := bd.Run()
		if err != nil {
			t.Error(err)
		}
		done <- c
	}()
	c := <-done
	if c == nil {
		t.FailNow()
	}
	if got := c.Block().Hash(); got != want.Hash() {
		t.Fatalf("built block: got %s, want %s", got.Short(), want.Hash().Short())
	}
	if _, err := tr.InsertChecked(c, true); err != nil {
		t.Fatal(err)
	}
	if got := tr.HeadState().Root(); got != want.Header.StateRoot {
		t.Errorf("head state root: got %s, want %s", got.Short(), want.Header.StateRoot.Short())
	}
}

// TestSkipStatelessKeepsTheStatefulChecks: a check told that the block's stateless checks passed still refuses a
// block whose state root is wrong, and inserts a good block as a full check does.
func TestSkipStatelessKeepsTheStatefulChecks(t *testing.T) {
	g := testGenesis()
	tr := openTestTree(t, g, NewMemStore())
	growHead(t, tr, 2, 1)
	head, st := tr.Head(), tr.HeadState()
	slot := head.Slot + 1
	leader := leaderAt(t, tr, head.Hash, slot)
	badRoot := buildBlock(t, tr.ChainID(), head, st, slot, leader, nil)
	badRoot.Header.StateRoot = Hash{1}
	badRoot.Sign(tr.ChainID(), testKey(leader))
	good := buildBlock(t, tr.ChainID(), head, st, slot, leader, nil)
	for _, tc := range []struct {
		name string
		b    *Block
		want error
	}{
		{"bad state root", badRoot, ErrBadStateRoot},
		{"good block", good, nil},
	} {
		if err := tc.b.ValidateBasic(); err != nil {
			t.Fatalf("%s: ValidateBasic: %v", tc.name, err)
		}
		c, err := tr.PrepareInsert(tc.b, slot)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		c.SkipStateless()
		c.Run()
		if _, err := tr.InsertChecked(c, true); !errors.Is(err, tc.want) {
			t.Fatalf("%s: got %v, want %v", tc.name, err, tc.want)
		}
	}
	if tr.Head().Hash != good.Hash() {
		t.Errorf("head %s, want the good block %s", tr.Head().Hash.Short(), good.Hash().Short())
	}
}
