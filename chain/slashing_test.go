package chain

import (
	"errors"
	"testing"
)

// evidenceBlock returns a block at slot on genesis g's state holding evs, proposed by key 2; only the ledger
// reads it.
func evidenceBlock(slot Slot, evs ...Evidence) *Block {
	return &Block{Header: Header{Height: 1, Slot: slot, Proposer: testAddr(2)}, Evidence: evs}
}

func TestSlashing(t *testing.T) {
	g := testGenesis() // epochs of 10 slots; keys 0–2 stake 1000, key 3 stakes 50
	chainID := g.Hash()
	dv := NewDoubleVote(sampleVote(chainID, 1, 0, 2), sampleVote(chainID, 1, 1, 2))
	s := g.State()
	supply := s.Supply()
	if err := s.ApplyBlock(evidenceBlock(30, dv)); err != nil {
		t.Fatalf("apply: %v", err)
	}
	off := s.Account(testAddr(1))
	want := Account{Balance: 1000, Unbonding: 500, UnbondEpoch: 3 + UnbondingEpochs, Slashed: true}
	if off != want {
		t.Errorf("offender: got %+v, want %+v", off, want)
	}
	if got := s.Account(testAddr(2)).Balance; got != 1000+500/WhistleblowerDivisor+g.BlockReward {
		t.Errorf("includer balance: got %d, want %d", got, 1000+500/WhistleblowerDivisor+g.BlockReward)
	}
	if got, want := s.Supply(), supply-500+500/WhistleblowerDivisor+g.BlockReward; got != want {
		t.Errorf("supply: got %d, want %d (burned 500, 1/8 of it paid out, plus the reward)", got, want)
	}
	for _, st := range s.Stakes() {
		if st.Addr == testAddr(1) {
			t.Error("slashed validator is still in the live stake table")
		}
	}
	again := NewDoubleVote(sampleVote(chainID, 1, 0, 3), sampleVote(chainID, 1, 2, 3))
	tests := []struct {
		name string
		slot Slot
		e    Evidence
		want error
	}{
		{"already slashed", 31, again, ErrAlreadySlashed},
		{"nothing to slash", 31, NewDoubleVote(sampleVote(chainID, 5, 0, 2), sampleVote(chainID, 5, 1, 2)), ErrNothingToSlash},
	}
	for _, tc := range tests {
		before := s.Root()
		if err := s.ApplyBlock(evidenceBlock(tc.slot, tc.e)); !errors.Is(err, tc.want) {
			t.Errorf("%s: got %v, want %v", tc.name, err, tc.want)
		}
		if s.Root() != before {
			t.Errorf("%s: the failed block changed the state", tc.name)
		}
	}
	if err := s.ApplyTx(&[]Tx{signedTx(chainID, 1, TxStake, 0, Address{}, 10, 1)}[0]); !errors.Is(err, ErrSlashed) {
		t.Errorf("slashed account stakes: got %v, want ErrSlashed", err)
	}
}

// TestUnbonding: unstaked tokens stay locked for UnbondingEpochs epochs, and evidence reaches them meanwhile.
func TestUnbonding(t *testing.T) {
	g := testGenesis()
	chainID := g.Hash()
	s := g.State()
	b := &Block{Header: Header{Height: 1, Slot: 5, Proposer: testAddr(2)}, Txs: []Tx{signedTx(chainID, 0, TxUnstake, 0, Address{}, 1000, 1)}}
	if err := s.ApplyBlock(b); err != nil {
		t.Fatal(err)
	}
	if got := s.Account(testAddr(0)); got.Unbonding != 1000 || got.UnbondEpoch != UnbondingEpochs || got.Balance != 999 {
		t.Fatalf("after unstake: got %+v", got)
	}
	last := Slot(10*UnbondingEpochs - 1) // the last slot before the release epoch opens
	dp := NewDoubleVote(sampleVote(chainID, 0, 6, 7), sampleVote(chainID, 0, 5, 7))
	slashed := s.Clone()
	if err := slashed.ApplyBlock(evidenceBlock(last, dp)); err != nil {
		t.Fatalf("evidence against unbonding tokens: %v", err)
	}
	if got := slashed.Account(testAddr(0)); got.Balance != 999 || got.Unbonding != 500 {
		t.Errorf("slashed while unbonding: got %+v, want 500 burned before the release", got)
	}
	if err := s.ApplyBlock(evidenceBlock(last)); err != nil {
		t.Fatal(err)
	}
	if got := s.Account(testAddr(0)).Unbonding; got != 1000 {
		t.Errorf("one slot before release: unbonding %d, want 1000", got)
	}
	if err := s.ApplyBlock(evidenceBlock(last + 1)); err != nil {
		t.Fatal(err)
	}
	if got := s.Account(testAddr(0)); got.Balance != 1999 || got.Unbonding != 0 {
		t.Errorf("at release: got %+v, want balance 1999 and nothing unbonding", got)
	}
}

// TestEvidenceValidWhileLocked: evidence has no expiry of its own (PROTOCOL.md §8b). An offence of epoch 2 is
// punished in epoch 400 while its offender still stakes; against a validator that unstaked, it is punished up to
// the last slot before its tokens are released, and from the release on there is nothing to slash.
func TestEvidenceValidWhileLocked(t *testing.T) {
	g := testGenesis() // epochs of 10 slots
	chainID := g.Hash()
	old := NewDoubleVote(sampleVote(chainID, 1, 0, 2), sampleVote(chainID, 1, 1, 2))
	s := g.State()
	if err := s.ApplyBlock(evidenceBlock(4000, old)); err != nil {
		t.Fatalf("evidence of epoch 2 in epoch 400 against a staked validator: got %v, want it applied", err)
	}
	if got := s.Account(testAddr(1)); !got.Slashed || got.Unbonding != 500 {
		t.Errorf("offender after old evidence: got %+v, want slashed with 500 unbonding", got)
	}
	s = g.State()
	unstake := &Block{Header: Header{Height: 1, Slot: 25, Proposer: testAddr(2)},
		Txs: []Tx{signedTx(chainID, 0, TxUnstake, 0, Address{}, 1000, 1)}}
	if err := s.ApplyBlock(unstake); err != nil {
		t.Fatal(err)
	}
	release := Slot(10 * (2 + UnbondingEpochs)) // the first slot of the release epoch
	ev := NewDoubleVote(sampleVote(chainID, 0, 0, 3), sampleVote(chainID, 0, 1, 3))
	locked := s.Clone()
	if err := locked.ApplyBlock(evidenceBlock(release-1, ev)); err != nil {
		t.Errorf("evidence one slot before the release: got %v, want it applied", err)
	}
	if err := s.ApplyBlock(evidenceBlock(release, ev)); !errors.Is(err, ErrNothingToSlash) {
		t.Errorf("evidence at the release: got %v, want ErrNothingToSlash", err)
	}
}

// TestRetained: the one window of the pool and of gossip (PROTOCOL.md §8b), and the targets a block counts (§8a).
func TestRetained(t *testing.T) {
	for _, tc := range []struct {
		o, now          Epoch
		retained, count bool
	}{
		{10, 10, true, true}, {9, 10, true, true}, {8, 10, true, false}, {11, 10, true, false}, {12, 10, false, false},
		{10, 10 + UnbondingEpochs, true, false}, {10, 11 + UnbondingEpochs, false, false}, {0, 0, true, true},
	} {
		if got := Retained(tc.o, tc.now); got != tc.retained {
			t.Errorf("Retained(%d, %d): got %v, want %v", tc.o, tc.now, got, tc.retained)
		}
		if got := Countable(tc.o, tc.now); got != tc.count {
			t.Errorf("Countable(%d, %d): got %v, want %v", tc.o, tc.now, got, tc.count)
		}
	}
}

func TestPercentOf(t *testing.T) {
	for _, tc := range []struct{ a, p, want uint64 }{{1000, 50, 500}, {1, 50, 0}, {3, 50, 1}, {^uint64(0), 50, ^uint64(0) / 2}, {^uint64(0), 100, ^uint64(0)}} {
		if got := percentOf(Amount(tc.a), tc.p); got != Amount(tc.want) {
			t.Errorf("percentOf(%d, %d): got %d, want %d", tc.a, tc.p, got, tc.want)
		}
	}
}
