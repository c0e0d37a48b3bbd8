package votepool

import (
	"errors"
	"testing"

	"github.com/posnode/posnode/chain"
)

func doubleVote(i int, target chain.Epoch) chain.Evidence {
	return chain.NewDoubleVote(vote(i, cp(target-1, 0), cp(target, 0)), vote(i, cp(target-1, 0), cp(target, 1)))
}

// TestAddEvidence: one pending piece per offender, none twice, none expired.
func TestAddEvidence(t *testing.T) {
	now := chain.Epoch(6 + chain.UnbondingEpochs)
	p := poolAt(now)
	first := doubleVote(0, now-1)
	if err := p.AddEvidence(first); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		e    chain.Evidence
		want error
	}{
		{"same evidence", first, ErrKnown},
		{"other offence, same offender", doubleVote(0, now), ErrOffenderPending},
		{"at the window's edge", doubleVote(1, now-chain.UnbondingEpochs), nil},
		{"expired", doubleVote(2, now-chain.UnbondingEpochs-1), ErrExpired},
		{"another offender", doubleVote(3, now), nil},
	}
	for _, tc := range tests {
		if err := p.AddEvidence(tc.e); !errors.Is(err, tc.want) {
			t.Errorf("%s: got %v, want %v", tc.name, err, tc.want)
		}
	}
	got := p.Evidence()
	if len(got) != 3 || got[0].Offender() != addr(1) || got[1].Offender() != addr(0) || got[2].Offender() != addr(3) {
		t.Errorf("pending: got %d, want offenders 1, 0, 3 (the oldest offence first)", len(got))
	}
}

// TestIncludeAndRevert: evidence in a canonical block leaves the pending set and is remembered; when the block is
// reverted, it is pending again.
func TestIncludeAndRevert(t *testing.T) {
	p := poolAt(6)
	e := doubleVote(0, 5)
	if err := p.AddEvidence(e); err != nil {
		t.Fatal(err)
	}
	blk := chain.Hash{1}
	p.Include(Included{Evidence: e, Block: blk, Height: 40, Slashing: chain.Slashing{Offender: addr(0), Burned: 5}})
	if len(p.Evidence()) != 0 {
		t.Fatal("included evidence still pending")
	}
	if err := p.AddEvidence(e); !errors.Is(err, ErrKnown) {
		t.Errorf("included evidence added again: got %v, want ErrKnown", err)
	}
	if in := p.Included(); len(in) != 1 || in[0].Height != 40 || in[0].Slashing.Burned != 5 {
		t.Fatalf("included: got %+v", in)
	}
	p.Revert(chain.Hash{2})
	if len(p.Included()) != 1 {
		t.Fatal("reverting another block forgot the evidence")
	}
	p.Revert(blk)
	if len(p.Included()) != 0 || len(p.Evidence()) != 1 {
		t.Errorf("after revert: %d included, %d pending; want 0 and 1", len(p.Included()), len(p.Evidence()))
	}
	p.Prune(6, func(*chain.Evidence) bool { return false })
	if len(p.Evidence()) != 0 {
		t.Error("evidence against an offender already punished stays pending")
	}
}

// TestIncludedIsBounded: the pool remembers the newest MaxIncluded pieces of included evidence.
func TestIncludedIsBounded(t *testing.T) {
	p := poolAt(6)
	for i := range MaxIncluded + 3 {
		p.Include(Included{Evidence: doubleVote(i, 6), Height: chain.Height(i)})
	}
	in := p.Included()
	if len(in) != MaxIncluded || in[0].Height != MaxIncluded+2 {
		t.Errorf("got %d, newest at height %d; want %d, newest %d", len(in), in[0].Height, MaxIncluded, MaxIncluded+2)
	}
}
