package chain

import (
	"errors"
	"testing"
)

// finVote returns key i's signed vote source→target.
func finVote(chainID Hash, i int, source, target Checkpoint) Vote {
	v := Vote{Validator: testAddr(i), Source: source, Target: target}
	v.Sign(chainID, testKey(i))
	return v
}

// TestSlashedStopsCounting (PROTOCOL.md §8a, §8b): keys 0–2 stake 1000 each, so a link needs 2000. Key 0's vote
// counts, then a block slashes key 0: its 1000 leave the link, key 1's vote makes 1000, not two thirds, and key
// 0's later vote counts for nothing; key 2's vote justifies. Without the slashing, keys 0 and 1 would have
// justified the checkpoint.
func TestSlashedStopsCounting(t *testing.T) {
	g := richGenesis()
	ps := g.State()
	gen := Checkpoint{Epoch: 0, Hash: g.Hash()}
	f := GenesisFinality(g.Hash(), ps.Validators(0))
	h1 := HashBytes([]byte("block of epoch 0"))
	target := Checkpoint{Epoch: 1, Hash: h1}
	step := func(f *Finality, slashed []Address, votes ...Vote) *Finality {
		t.Helper()
		n, err := f.Next(1, h1, ps, slashed, votes, testFinality)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	counted := step(f, nil, finVote(g.Hash(), 0, gen, target))
	if unslashed := step(counted, nil, finVote(g.Hash(), 1, gen, target)); !unslashed.IsJustified(target) {
		t.Fatalf("keys 0 and 1 without a slashing: %s not justified, want it justified", target)
	}
	slashed := step(counted, []Address{testAddr(0)})
	one := step(slashed, nil, finVote(g.Hash(), 1, gen, target))
	if one.IsJustified(target) {
		t.Fatalf("key 1 with key 0 slashed: %s justified, want 1000 of 3000, not two thirds", target)
	}
	if _, err := one.Next(1, h1, ps, nil, []Vote{finVote(g.Hash(), 0, gen, target)}, testFinality); !errors.Is(err, ErrDuplicateVote) {
		t.Errorf("a slashed validator's counted vote again: got %v, want ErrDuplicateVote", err)
	}
	late := step(step(f, []Address{testAddr(0)}), nil, finVote(g.Hash(), 0, gen, target), finVote(g.Hash(), 1, gen, target))
	if late.IsJustified(target) || late.Holds(target, testAddr(0)) {
		t.Fatalf("a vote of a validator slashed before it: counted, want it to count for nothing")
	}
	if two := step(one, nil, finVote(g.Hash(), 2, gen, target)); !two.IsJustified(target) {
		t.Fatalf("keys 1 and 2 with key 0 slashed: %s not justified, want 2000 of 3000 to justify it", target)
	}
	if counted.IsJustified(target) || !counted.Holds(target, testAddr(0)) {
		t.Fatal("Next changed the finality it started from")
	}
}

// TestUnjustifiedSourceKeepsTheVote (PROTOCOL.md §8a): a vote whose source the branch has not justified counts for
// nothing and does not spend the validator's vote for the epoch: once the source is justified, the same vote in a
// later block counts; a second vote of a validator whose vote counted is still refused.
func TestUnjustifiedSourceKeepsTheVote(t *testing.T) {
	g := richGenesis()
	ps := g.State()
	id := g.Hash()
	gen := Checkpoint{Epoch: 0, Hash: id}
	h1, h2 := HashBytes([]byte("epoch 0's last")), HashBytes([]byte("epoch 1's last"))
	cp1, cp2 := Checkpoint{Epoch: 1, Hash: h1}, Checkpoint{Epoch: 2, Hash: h2}
	f, err := GenesisFinality(id, ps.Validators(0)).Next(1, h1, ps, nil, nil, testFinality)
	if err != nil {
		t.Fatal(err)
	}
	f, err = f.Next(2, h2, ps, nil, []Vote{finVote(id, 0, cp1, cp2)}, testFinality)
	if err != nil {
		t.Fatalf("a vote from an unjustified source: got %v, want it valid", err)
	}
	if f.Holds(cp2, testAddr(0)) {
		t.Fatal("a vote from an unjustified source spent the validator's vote")
	}
	f, err = f.Next(2, h2, ps, nil, []Vote{finVote(id, 0, gen, cp1), finVote(id, 1, gen, cp1)}, testFinality)
	if err != nil || !f.IsJustified(cp1) {
		t.Fatalf("votes for epoch 1 from genesis: %v, justified %v; want cp1 justified", err, f.IsJustified(cp1))
	}
	f, err = f.Next(2, h2, ps, nil, []Vote{finVote(id, 0, cp1, cp2), finVote(id, 1, cp1, cp2)}, testFinality)
	if err != nil {
		t.Fatalf("the same vote once its source is justified: got %v, want it counted", err)
	}
	if !f.IsJustified(cp2) || f.Finalized != cp1 {
		t.Fatalf("justified %s finalized %s, want %s and %s", f.Justified, f.Finalized, cp2, cp1)
	}
	other := finVote(id, 0, cp1, Checkpoint{Epoch: 2, Hash: h2})
	other.Source = gen
	other.Sign(id, testKey(0))
	if _, err := f.Next(2, h2, ps, nil, []Vote{other}, testFinality); !errors.Is(err, ErrDuplicateVote) {
		t.Errorf("a second counted vote for epoch 2: got %v, want ErrDuplicateVote", err)
	}
}
