package chain

import (
	"errors"
	"testing"
)

// TestCheckpoint: the checkpoint of an epoch is the newest block of the head's branch before the epoch's first
// slot (PROTOCOL.md §8a), genesis for epoch 0, the head for an epoch the branch has not reached, and the same
// checkpoint the branch's finality counts votes for.
func TestCheckpoint(t *testing.T) {
	tr := openTestTree(t, richGenesis(), NewMemStore()) // epochs of 10 slots
	var at = map[Slot]Hash{}
	for _, s := range []Slot{1, 2, 8, 21, 23, 34} { // nothing in slots 9–20: epoch 1 is empty
		at[s] = grow(t, tr, tr.Head().Hash, s, nil).Hash()
	}
	tests := []struct {
		epoch Epoch
		want  Hash
	}{
		{0, tr.ChainID()},
		{1, at[8]},
		{2, at[8]}, // epoch 1 has no block: epoch 2's checkpoint is still the block of slot 8
		{3, at[23]},
		{4, at[34]}, // an epoch the branch has not reached: the head
		{9, at[34]},
	}
	for _, tc := range tests {
		if got := tr.Checkpoint(tc.epoch); got != (Checkpoint{tc.epoch, tc.want}) {
			t.Errorf("epoch %d: got %s, want %d/%s", tc.epoch, got, tc.epoch, tc.want.Short())
		}
	}
	for _, e := range []Epoch{2, 3} { // the newest two epochs of the branch
		if want, ok := finalityOf(tr).Target(e); !ok || tr.Checkpoint(e) != want {
			t.Errorf("epoch %d: Checkpoint %s, the branch's finality counts votes for %s", e, tr.Checkpoint(e), want)
		}
	}
}

// TestStakeTable: the table of an epoch on the head's branch is the one its checkpoint's state fixes, so a stake
// committed in epoch 0 counts from epoch 3 (PROTOCOL.md §6), and past epochs keep their own tables.
func TestStakeTable(t *testing.T) {
	tr := openTestTree(t, richGenesis(), NewMemStore())
	chainID := tr.ChainID()
	stake := signedTx(chainID, 0, TxStake, 0, Address{}, 500, 1)
	grow(t, tr, tr.Head().Hash, 3, []Tx{stake})
	for s := Slot(4); s <= 25; s++ {
		grow(t, tr, tr.Head().Hash, s, nil)
	}
	for _, tc := range []struct {
		epoch Epoch
		want  Amount
	}{{0, 1000}, {1, 1000}, {2, 1000}, {3, 1500}} { // staked in epoch 0: counts from epoch 3
		table, err := tr.StakeTable(tc.epoch)
		if err != nil {
			t.Fatal(err)
		}
		if len(table) != 3 {
			t.Fatalf("epoch %d: got %d validators, want 3 (key 3 is below min_stake)", tc.epoch, len(table))
		}
		if got := stakeOf(table, testAddr(0)); got != tc.want {
			t.Errorf("epoch %d: key 0 stakes %d, want %d", tc.epoch, got, tc.want)
		}
	}
}

func stakeOf(table []Stake, a Address) Amount {
	for _, s := range table {
		if s.Addr == a {
			return s.Amount
		}
	}
	return 0
}

// TestIsFinal: blocks at or below the finalized checkpoint of the canonical chain are final; later ones and
// side branches are not.
func TestIsFinal(t *testing.T) {
	tr := finTree(t, 12)
	g := Checkpoint{Epoch: 0, Hash: tr.ChainID()}
	if _, err := growVotes(t, tr, 13, vote(t, tr, 0, g, 1), vote(t, tr, 1, g, 1)); err != nil {
		t.Fatal(err)
	}
	cp1 := tr.Checkpoint(1)
	side := grow(t, tr, canonAtSlot(t, tr, 5), 6+1000, nil) // a sibling branch that loses fork choice
	for s := Slot(15); s <= 21; s++ {
		grow(t, tr, tr.Head().Hash, s, nil)
	}
	if _, err := growVotes(t, tr, 22, vote(t, tr, 0, cp1, 2), vote(t, tr, 2, cp1, 2)); err != nil {
		t.Fatal(err)
	}
	if j, f := tr.Finality(); f != cp1 || j != tr.Checkpoint(2) {
		t.Fatalf("finality: justified %s finalized %s, want %s and %s", j, f, tr.Checkpoint(2), cp1)
	}
	tests := []struct {
		name string
		h    Hash
		want bool
	}{
		{"genesis", tr.ChainID(), true},
		{"below the checkpoint", canonAtSlot(t, tr, 4), true},
		{"the finalized checkpoint", cp1.Hash, true},
		{"just after it", canonAtSlot(t, tr, 10), false},
		{"the head", tr.Head().Hash, false},
		{"a side branch", side.Hash(), false},
		{"unknown", Hash{9}, false},
	}
	for _, tc := range tests {
		if got := tr.IsFinal(tc.h); got != tc.want {
			t.Errorf("%s: IsFinal %v, want %v", tc.name, got, tc.want)
		}
	}
	// The side branch conflicts with the finalized checkpoint: the tree dropped it (PROTOCOL.md §13).
	if _, _, ok := tr.FinalityOf(side.Hash()); ok || tr.Has(side.Hash()) {
		t.Errorf("side branch below the finalized checkpoint still in the tree")
	}
}

// TestSlashingsOfBlock: the tree tells what a block's evidence burned and paid, as the ledger applied it.
func TestSlashingsOfBlock(t *testing.T) {
	tr := finTree(t, 3)
	chainID := tr.ChainID()
	dv := NewDoubleVote(sampleVote(chainID, 1, 0, 1), sampleVote(chainID, 1, 2, 1))
	head := tr.Head()
	leader := leaderAt(t, tr, head.Hash, 4)
	b, _, err := tr.ProposeBody(head.Hash, 4, testKey(leader), Body{Evidence: []Evidence{dv}})
	if err != nil || len(b.Evidence) != 1 {
		t.Fatalf("propose with evidence: %d evidence, %v", len(b.Evidence), err)
	}
	if _, err := tr.Insert(b, 4); err != nil {
		t.Fatal(err)
	}
	got, err := tr.Slashings(b.Hash())
	want := Slashing{Offender: testAddr(1), Kind: EvidenceDoubleVote, Burned: 500, Reward: 500 / WhistleblowerDivisor}
	if err != nil || len(got) != 1 || got[0] != want {
		t.Fatalf("slashings: got %+v, %v; want [%+v]", got, err, want)
	}
	if none, err := tr.Slashings(head.Hash); err != nil || none != nil {
		t.Errorf("block without evidence: got %+v, %v", none, err)
	}
	if _, err := tr.Slashings(Hash{9}); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown block: got %v, want ErrNotFound", err)
	}
}
