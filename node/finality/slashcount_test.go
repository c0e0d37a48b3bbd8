package finality

import (
	"testing"

	"github.com/posnode/posnode/chain"
)

// posnode_slashings_total counts each offence once (offender, kind, slot or target epoch): the same evidence
// applied again after a reorg, or another pair proving the same offence, is not counted again; another offence
// of the same offender is; an offence is forgotten only once its evidence can no longer be included.
func TestSlashCountEachOffenceOnce(t *testing.T) {
	const epochLength = 8
	var alice, bob chain.Address
	alice[0], bob[0] = 1, 2
	proposal := func(who chain.Address, slot chain.Slot, root byte) chain.Evidence {
		a, b := chain.Header{Slot: slot, Proposer: who}, chain.Header{Slot: slot, Proposer: who}
		b.StateRoot[0] = root
		return chain.Evidence{Kind: chain.EvidenceDoubleProposal, HeaderA: a, HeaderB: b}
	}
	vote := func(who chain.Address, source, target chain.Epoch) chain.Evidence {
		a := chain.Vote{Validator: who, Source: chain.Checkpoint{Epoch: source}, Target: chain.Checkpoint{Epoch: target}}
		b := a
		b.Target.Hash[0] = 9
		return chain.Evidence{Kind: chain.EvidenceDoubleVote, VoteA: a, VoteB: b}
	}
	c := newSlashCount(epochLength)
	steps := []struct {
		name string
		ev   chain.Evidence
		now  chain.Epoch
		want bool
	}{
		{"first double proposal", proposal(alice, 17, 1), 2, true},
		{"the same evidence after a reorg", proposal(alice, 17, 1), 2, false},
		{"another pair for the same slot", proposal(alice, 17, 2), 3, false},
		{"the same offender at another slot", proposal(alice, 18, 1), 3, true},
		{"another offender at the same slot", proposal(bob, 17, 1), 3, true},
		{"a double vote of the same offender", vote(alice, 1, 2), 3, true},
		{"the double vote again", vote(alice, 1, 2), 4, false},
		{"the double vote, still retained at epoch 2 + U", vote(alice, 1, 2), 2 + chain.UnbondingEpochs, false},
		{"the double proposal, forgotten once out of the window (2 + U < 3 + U)", proposal(alice, 17, 1), 3 + chain.UnbondingEpochs, true},
	}
	for _, s := range steps {
		if got := c.first(&s.ev, s.now); got != s.want {
			t.Errorf("%s: counted %t, want %t", s.name, got, s.want)
		}
	}
	if got, want := len(c.counted), 1; got != want { // every offence was of epoch 2: only the re-added one
		t.Errorf("remembers %d offences at epoch 3 + U, want %d", got, want)
	}
}

// LagSlots counts from the first slot of the finalized checkpoint's epoch, and is 0 before it.
func TestLagSlots(t *testing.T) {
	cases := []struct {
		finalized chain.Epoch
		now       chain.Slot
		want      uint64
	}{
		{0, 0, 0},
		{0, 13, 13},
		{2, 16, 0},
		{2, 21, 5},
		{3, 20, 0}, // a finalized epoch ahead of the clock (a skewed peer's blocks)
	}
	for _, tc := range cases {
		if got := LagSlots(chain.Checkpoint{Epoch: tc.finalized}, tc.now, epochLen); got != tc.want {
			t.Errorf("finalized epoch %d at slot %d: got %d slots, want %d", tc.finalized, tc.now, got, tc.want)
		}
	}
}
