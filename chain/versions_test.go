package chain

import (
	"errors"
	"testing"
)

// versionsAt returns n different blocks of the leader of slot on parent, each with a transfer of a different
// amount.
func versionsAt(t *testing.T, tr *Tree, parent Hash, slot Slot, n int) []*Block {
	t.Helper()
	nonce := stateAt(t, tr, parent).Account(testAddr(0)).Nonce
	var out []*Block
	for i := range n {
		tx := signedTx(tr.ChainID(), 0, TxTransfer, nonce, testAddr(3), uint64(i+1), 1)
		out = append(out, build(t, tr, parent, slot, []Tx{tx}))
	}
	return out
}

// TestVersionCap: the tree stores two blocks of one proposer for one slot and refuses a third that arrives alone
// (PROTOCOL.md §8); a third that a sync batch extends is stored, so that a node can follow the chain honest
// proposers built on it.
func TestVersionCap(t *testing.T) {
	tr := finTree(t, 3)
	head := tr.Head().Hash
	vs := versionsAt(t, tr, head, 4, 3)
	for _, v := range vs[:2] {
		if _, err := tr.Insert(v, 4); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := tr.Insert(vs[2], 4); !errors.Is(err, ErrTooManyVersions) {
		t.Fatalf("third version: got %v, want ErrTooManyVersions", err)
	}
	if _, _, err := tr.InsertBatch(vs[2:], 4); !errors.Is(err, ErrTooManyVersions) || tr.Has(vs[2].Hash()) {
		t.Fatalf("third version alone in a batch: got %v (stored %v), want ErrTooManyVersions", err, tr.Has(vs[2].Hash()))
	}
	// Another node stored the third version and built on it.
	other := openTestTree(t, richGenesis(), NewMemStore())
	for s := Slot(1); s <= 3; s++ {
		b, err := tr.Block(canonAtSlot(t, tr, s))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := other.Insert(b, s); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := other.Insert(vs[2], 4); err != nil {
		t.Fatal(err)
	}
	child := build(t, other, vs[2].Hash(), 5, nil)
	ch, inserted, err := tr.InsertBatch([]*Block{vs[2], child}, 5)
	if err != nil || len(inserted) != 2 || ch.Head.Hash != child.Hash() {
		t.Fatalf("third version with its child: got %d inserted, head %s, %v; want both, head the child", len(inserted),
			ch.Head.Hash.Short(), err)
	}
}

// TestConflictsFinalized: once a checkpoint is finalized, a block that does not descend from it is refused
// (PROTOCOL.md §8), alone or in a batch, however good its branch; blocks on the finalized chain are not.
func TestConflictsFinalized(t *testing.T) {
	tr := finTree(t, 12)
	g := Checkpoint{Epoch: 0, Hash: tr.ChainID()}
	if _, err := growVotes(t, tr, 13, vote(t, tr, 0, g, 1), vote(t, tr, 1, g, 1)); err != nil {
		t.Fatal(err)
	}
	cp1 := tr.Checkpoint(1)
	fork := build(t, tr, canonAtSlot(t, tr, 5), 6+10, nil) // built before finality, released after
	for s := Slot(15); s <= 21; s++ {
		grow(t, tr, tr.Head().Hash, s, nil)
	}
	if _, err := growVotes(t, tr, 22, vote(t, tr, 0, cp1, 2), vote(t, tr, 2, cp1, 2)); err != nil {
		t.Fatal(err)
	}
	if _, f := tr.Finality(); f != cp1 {
		t.Fatalf("finalized %s, want %s", f, cp1)
	}
	head := tr.Head()
	if _, err := tr.Insert(fork, 30); !errors.Is(err, ErrConflictsFinalized) {
		t.Errorf("block below the finalized checkpoint: got %v, want ErrConflictsFinalized", err)
	}
	if _, _, err := tr.InsertBatch([]*Block{fork}, 30); !errors.Is(err, ErrConflictsFinalized) {
		t.Errorf("same block in a batch: got %v, want ErrConflictsFinalized", err)
	}
	if tr.Head() != head || tr.Has(fork.Hash()) {
		t.Fatal("a conflicting block changed the tree")
	}
	if _, err := tr.Insert(build(t, tr, cp1.Hash, 23, nil), 23); err != nil {
		t.Errorf("block on the finalized checkpoint itself: %v", err)
	}
}
