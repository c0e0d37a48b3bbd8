package chain

import (
	"errors"
	"testing"
)

// finTree is a tree of testGenesis (epochs of 10 slots; keys 0–2 stake 1000 each, key 3's 50 is below
// min_stake) with blocks at every slot up to upto.
func finTree(t *testing.T, upto Slot) *Tree {
	t.Helper()
	tr := openTestTree(t, richGenesis(), NewMemStore())
	for s := Slot(1); s <= upto; s++ {
		grow(t, tr, tr.Head().Hash, s, nil)
	}
	return tr
}

// vote returns key i's vote from source to the head branch's checkpoint of epoch e.
func vote(t *testing.T, tr *Tree, i int, source Checkpoint, e Epoch) Vote {
	t.Helper()
	target, ok := tr.nodes[tr.Head().Hash].fin.Target(e)
	if !ok {
		t.Fatalf("no checkpoint of epoch %d on the head's branch", e)
	}
	v := Vote{Validator: testAddr(i), Source: source, Target: target}
	v.Sign(tr.ChainID(), testKey(i))
	return v
}

// growVotes adds a block at slot holding votes on the head, built by the slot's leader.
func growVotes(t *testing.T, tr *Tree, slot Slot, votes ...Vote) (*Block, error) {
	t.Helper()
	head := tr.Head()
	key := testKey(leaderAt(t, tr, head.Hash, slot))
	b, _, err := tr.ProposeBody(head.Hash, slot, key, Body{})
	if err != nil {
		t.Fatal(err)
	}
	b.Votes = votes // as given, valid or not: the tree must judge them
	b.Header.VoteRoot = VoteRoot(votes)
	post := tr.HeadState().Clone()
	if err := post.ApplyBlock(b); err != nil {
		t.Fatal(err)
	}
	b.Header.StateRoot = post.Root()
	b.Sign(tr.ChainID(), key)
	_, err = tr.Insert(b, slot)
	return b, err
}

func finalityOf(tr *Tree) *Finality { return tr.nodes[tr.Head().Hash].fin }

// TestJustifyAndFinalize walks the Casper FFG rules of PROTOCOL.md §8a: two thirds of the stake linking the
// genesis checkpoint to epoch 1's justify it; the same for epoch 2 from epoch 1 finalizes epoch 1 (k = 1).
func TestJustifyAndFinalize(t *testing.T) {
	tr := finTree(t, 12) // in epoch 1
	g := Checkpoint{Epoch: 0, Hash: tr.ChainID()}
	cp1, _ := finalityOf(tr).Target(1)
	if want := (Checkpoint{1, canonAtSlot(t, tr, 9)}); cp1 != want {
		t.Fatalf("checkpoint of epoch 1: got %s, want %s (the block at slot 9)", cp1, want)
	}
	if _, err := growVotes(t, tr, 13, vote(t, tr, 0, g, 1)); err != nil {
		t.Fatal(err)
	}
	if f := finalityOf(tr); f.Justified.Epoch != 0 {
		t.Fatalf("one third: justified %s, want still genesis", f.Justified)
	}
	if _, err := growVotes(t, tr, 14, vote(t, tr, 1, g, 1)); err != nil {
		t.Fatal(err)
	}
	f := finalityOf(tr)
	if f.Justified != cp1 || f.Finalized != g {
		t.Fatalf("two thirds: justified %s finalized %s, want %s and %s", f.Justified, f.Finalized, cp1, g)
	}
	for s := Slot(15); s <= 21; s++ {
		grow(t, tr, tr.Head().Hash, s, nil)
	}
	cp2, _ := finalityOf(tr).Target(2)
	if _, err := growVotes(t, tr, 22, vote(t, tr, 0, cp1, 2), vote(t, tr, 2, cp1, 2)); err != nil {
		t.Fatal(err)
	}
	f = finalityOf(tr)
	if f.Justified != cp2 || f.Finalized != cp1 {
		t.Errorf("epoch 2 justified from epoch 1: got justified %s finalized %s, want %s and %s", f.Justified, f.Finalized, cp2, cp1)
	}
	if tr.Head().Justified != 2 {
		t.Errorf("head tip: justified epoch %d, want 2", tr.Head().Justified)
	}
	// Reopening replays the votes and finds the same finality.
	re, err := OpenTree(TreeConfig{Genesis: tr.Genesis(), Store: tr.cfg.Store, Elect: treeElect, Better: treeBetter, Finality: testFinality})
	if err != nil {
		t.Fatal(err)
	}
	if rf := finalityOf(re); rf.Justified != f.Justified || rf.Finalized != f.Finalized {
		t.Errorf("after replay: justified %s finalized %s, want %s and %s", rf.Justified, rf.Finalized, f.Justified, f.Finalized)
	}
}

func canonAtSlot(t *testing.T, tr *Tree, s Slot) Hash {
	t.Helper()
	for h := Height(1); ; h++ {
		b, err := tr.BlockAt(h)
		if err != nil {
			t.Fatalf("no block at slot %d", s)
		}
		if b.Header.Slot == s {
			return b.Hash()
		}
	}
}

func TestVoteRulesInBlocks(t *testing.T) {
	tr := finTree(t, 12)
	g := Checkpoint{Epoch: 0, Hash: tr.ChainID()}
	good := vote(t, tr, 0, g, 1)
	if _, err := growVotes(t, tr, 13, good); err != nil {
		t.Fatal(err)
	}
	wrongTarget := vote(t, tr, 1, g, 1)
	wrongTarget.Target.Hash[0] ^= 1
	wrongTarget.Sign(tr.ChainID(), testKey(1))
	stale := vote(t, tr, 1, g, 1)
	stale.Target.Epoch = 3 // an epoch the branch has not reached
	stale.Sign(tr.ChainID(), testKey(1))
	forged := vote(t, tr, 1, g, 1)
	forged.Sig[0] ^= 1
	tests := []struct {
		name string
		v    Vote
		want error
	}{
		{"target off the branch", wrongTarget, ErrVoteTarget},
		{"target in a later epoch", stale, ErrVoteTarget},
		{"below min stake", vote(t, tr, 3, g, 1), ErrVoteNotValidator},
		{"second vote on the branch", vote(t, tr, 0, g, 1), ErrDuplicateVote},
		{"bad signature", forged, ErrBadSignature},
	}
	head := tr.Head()
	for _, tc := range tests {
		if _, err := growVotes(t, tr, 14, tc.v); !errors.Is(err, tc.want) {
			t.Errorf("%s: got %v, want %v", tc.name, err, tc.want)
		}
		if tr.Head() != head {
			t.Fatalf("%s: head moved", tc.name)
		}
	}
	// A vote from a source the branch never justified is valid but counts for nothing.
	unknown := Checkpoint{Epoch: 0, Hash: Hash{7}}
	if _, err := growVotes(t, tr, 14, vote(t, tr, 1, unknown, 1), vote(t, tr, 2, unknown, 1)); err != nil {
		t.Fatal(err)
	}
	if f := finalityOf(tr); f.Justified.Epoch != 0 {
		t.Errorf("all voted, two thirds from an unjustified source: justified %s, want genesis", f.Justified)
	}
}

// TestProposeBodyKeepsCountingVotes: the proposer leaves out the votes that would make its block invalid.
func TestProposeBodyKeepsCountingVotes(t *testing.T) {
	tr := finTree(t, 12)
	g := Checkpoint{Epoch: 0, Hash: tr.ChainID()}
	v0, v1 := vote(t, tr, 0, g, 1), vote(t, tr, 1, g, 1)
	dup := v0
	bad := vote(t, tr, 3, g, 1)
	head := tr.Head()
	key := testKey(leaderAt(t, tr, head.Hash, 13))
	b, _, err := tr.ProposeBody(head.Hash, 13, key, Body{Votes: []Vote{v0, bad, dup, v1}})
	if err != nil {
		t.Fatal(err)
	}
	if len(b.Votes) != 2 || b.Votes[0] != v0 || b.Votes[1] != v1 {
		t.Fatalf("picked %d votes, want v0 and v1", len(b.Votes))
	}
	if _, err := tr.Insert(b, 13); err != nil {
		t.Fatal(err)
	}
	if f := finalityOf(tr); f.Justified.Epoch != 1 {
		t.Errorf("justified %s, want epoch 1", f.Justified)
	}
}

// TestPrivateBranchCannotRevertFinalized: once epoch 1's checkpoint is finalized on the public chain, a longer
// branch built in private from genesis is refused block by block (PROTOCOL.md §8), however long it is.
func TestPrivateBranchCannotRevertFinalized(t *testing.T) {
	tr := finTree(t, 12)
	// A private branch from genesis, longer than the public chain will be: every slot 2…40 filled, held back (slot
	// 1 is left empty so that its blocks differ from the public ones from the first on).
	priv := openTestTree(t, richGenesis(), NewMemStore())
	var branch []*Block
	for s := Slot(2); s <= 40; s++ {
		branch = append(branch, grow(t, priv, priv.Head().Hash, s, nil))
	}
	g := Checkpoint{Epoch: 0, Hash: tr.ChainID()}
	if _, err := growVotes(t, tr, 13, vote(t, tr, 0, g, 1), vote(t, tr, 1, g, 1)); err != nil {
		t.Fatal(err)
	}
	for s := Slot(20); s <= 22; s++ {
		grow(t, tr, tr.Head().Hash, s, nil)
	}
	cp1, _ := finalityOf(tr).Target(1)
	if _, err := growVotes(t, tr, 23, vote(t, tr, 0, cp1, 2), vote(t, tr, 2, cp1, 2)); err != nil {
		t.Fatal(err)
	}
	if f := finalityOf(tr); f.Finalized != cp1 {
		t.Fatalf("finalized %s, want %s", f.Finalized, cp1)
	}
	head := tr.Head()
	_, inserted, err := tr.InsertBatch(branch, 40)
	if !errors.Is(err, ErrConflictsFinalized) {
		t.Fatalf("private branch of %d blocks: got %v, want ErrConflictsFinalized", len(branch), err)
	}
	t.Logf("public head at height %d; private branch of %d blocks: %d inserted before the refusal", head.Height, len(branch), len(inserted))
	if tr.Head() != head {
		t.Errorf("head moved from %s to %s", head.Hash.Short(), tr.Head().Hash.Short())
	}
	if len(inserted) != 0 {
		t.Errorf("inserted %d private blocks, want none: the branch forks below the finalized checkpoint", len(inserted))
	}
}

// TestAtMostTwoVersionsPerSlot: of three different blocks of one proposer for one slot, the tree stores the
// first two (the second is evidence, PROTOCOL.md §8b) and drops the third unstored.
func TestAtMostTwoVersionsPerSlot(t *testing.T) {
	s := NewMemStore()
	tr := openTestTree(t, richGenesis(), s)
	growHead(t, tr, 3, 0)
	head := tr.Head()
	var errs []error
	for k := range 3 {
		b := build(t, tr, head.Hash, head.Slot+1, transfers(tr.ChainID(), stateAt(t, tr, head.Hash), k))
		_, err := tr.Insert(b, head.Slot+1)
		errs = append(errs, err)
		if k == 2 {
			if _, gerr := s.Block(b.Hash()); gerr == nil {
				t.Error("the third version was stored")
			}
		}
	}
	if errs[0] != nil || errs[1] != nil || !errors.Is(errs[2], ErrTooManyVersions) {
		t.Errorf("inserting three versions: got %v, want nil, nil, ErrTooManyVersions", errs)
	}
}
