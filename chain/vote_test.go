package chain

import (
	"errors"
	"testing"
)

func TestSlashable(t *testing.T) {
	chainID := testGenesis().Hash()
	v := func(s, tg Epoch) Vote { return sampleVote(chainID, 1, s, tg) }
	forked := v(1, 3)
	forked.Target.Hash[0] ^= 1
	tests := []struct {
		name string
		a, b Vote
		want bool
	}{
		{"identical", v(1, 3), v(1, 3), false},
		{"double vote, other target hash", v(1, 3), forked, true},
		{"double vote, other source", v(1, 3), v(2, 3), true},
		{"a surrounds b", v(1, 6), v(2, 5), true},
		{"b surrounds a", v(3, 4), v(1, 6), true},
		{"consecutive", v(1, 2), v(2, 3), false},
		{"nested by source only", v(1, 5), v(1, 4), false},
		{"nested by target only", v(2, 5), v(1, 5), true}, // same target epoch: a double vote
		{"disjoint", v(1, 2), v(3, 4), false},
	}
	for _, tc := range tests {
		if got := Slashable(tc.a, tc.b); got != tc.want {
			t.Errorf("%s: got %v, want %v", tc.name, got, tc.want)
		}
		if got := Slashable(tc.b, tc.a); got != tc.want {
			t.Errorf("%s (swapped): got %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestEvidenceRules(t *testing.T) {
	chainID := testGenesis().Hash()
	a, b := goldenBlock(t), goldenBlock(t)
	b.Header.StateRoot[0] ^= 1
	b.Sign(chainID, testKey(2))
	dp := NewDoubleProposal(a, b)
	if dp != NewDoubleProposal(b, a) {
		t.Error("double proposal: the two orders give two encodings, want one")
	}
	dv := NewDoubleVote(sampleVote(chainID, 1, 0, 2), sampleVote(chainID, 1, 1, 2))
	for _, e := range []Evidence{dp, dv} {
		if err := e.ValidateBasic(); err != nil {
			t.Errorf("%s: ValidateBasic: %v", e.Kind, err)
		}
		if err := e.Verify(chainID); err != nil {
			t.Errorf("%s: Verify: %v", e.Kind, err)
		}
	}
	if dp.Offender() != testAddr(2) || dv.Offender() != testAddr(1) {
		t.Errorf("offenders: got %s and %s", dp.Offender().Short(), dv.Offender().Short())
	}
	if got := dv.Epoch(10); got != 2 {
		t.Errorf("double vote epoch: got %d, want 2", got)
	}
	same := NewDoubleProposal(a, a)
	otherSlot := goldenBlock(t)
	otherSlot.Header.Slot++
	otherSlot.Sign(chainID, testKey(2))
	forged := dp
	forged.SigB[0] ^= 1
	tests := []struct {
		name string
		e    Evidence
		want error
	}{
		{"one header twice", same, ErrInvalidEvidence},
		{"two slots", NewDoubleProposal(a, otherSlot), ErrInvalidEvidence},
		{"two validators' votes", NewDoubleVote(sampleVote(chainID, 1, 0, 2), sampleVote(chainID, 3, 1, 2)), ErrInvalidEvidence},
		{"votes not slashable", NewDoubleVote(sampleVote(chainID, 1, 0, 1), sampleVote(chainID, 1, 1, 2)), ErrInvalidEvidence},
		{"unknown kind", Evidence{Kind: 7}, ErrInvalidEvidence},
	}
	for _, tc := range tests {
		if err := tc.e.ValidateBasic(); !errors.Is(err, tc.want) {
			t.Errorf("%s: got %v, want %v", tc.name, err, tc.want)
		}
	}
	if err := forged.Verify(chainID); !errors.Is(err, ErrBadSignature) {
		t.Errorf("forged second signature: got %v, want ErrBadSignature", err)
	}
	if err := dv.Verify(Hash{1}); !errors.Is(err, ErrBadSignature) {
		t.Errorf("votes of another chain: got %v, want ErrBadSignature", err)
	}
}
