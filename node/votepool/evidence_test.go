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

// TestUnfinal: the evidence no finalized block holds is the pending evidence and that of blocks not final; each
// change of either moves Changes, and a revert makes a block's evidence pending again.
func TestUnfinal(t *testing.T) {
	now := chain.Epoch(10)
	p := poolAt(now)
	pending, inFinal, inRecent := doubleVote(0, now), doubleVote(1, now), doubleVote(2, now)
	final, recent := chain.HashBytes([]byte("final")), chain.HashBytes([]byte("recent"))
	isFinal := func(h chain.Hash) bool { return h == final }
	ids := func(set []chain.Evidence) map[chain.Hash]bool {
		out := map[chain.Hash]bool{}
		for _, e := range set {
			out[e.ID()] = true
		}
		return out
	}
	before := p.Changes()
	for _, e := range []chain.Evidence{pending, inFinal, inRecent} {
		if err := p.AddEvidence(e); err != nil {
			t.Fatal(err)
		}
	}
	p.Include(Included{Evidence: inFinal, Block: final, Height: 1})
	p.Include(Included{Evidence: inRecent, Block: recent, Height: 2})
	if p.Changes() == before {
		t.Fatal("adding and including evidence did not move Changes")
	}
	got := ids(p.Unfinal(isFinal))
	if len(got) != 2 || !got[pending.ID()] || !got[inRecent.ID()] {
		t.Fatalf("Unfinal holds %d pieces (pending %t, recent block's %t), want those two", len(got), got[pending.ID()],
			got[inRecent.ID()])
	}
	at := p.Changes()
	p.Revert(recent)
	if p.Changes() == at || len(p.Evidence()) != 2 {
		t.Fatalf("after the revert: Changes moved %t, %d pending; want moved and 2", p.Changes() != at, len(p.Evidence()))
	}
	at = p.Changes()
	p.Prune(now, func(*chain.Evidence) bool { return false })
	if p.Changes() == at || len(p.Unfinal(isFinal)) != 0 {
		t.Fatalf("after dropping the pending: Changes moved %t, Unfinal %d; want moved and none", p.Changes() != at,
			len(p.Unfinal(isFinal)))
	}
}
