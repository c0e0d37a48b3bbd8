package votepool

import (
	"crypto/ed25519"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/posnode/posnode/chain"
	"github.com/posnode/posnode/internal/chaintest"
)

const epochLen = 8

var keys = chaintest.Keys("votepool")

var chainID = keys.ChainID()

func key(i int) ed25519.PrivateKey { return keys.Key(i) }

func addr(i int) chain.Address { return keys.Addr(i) }

func cp(e chain.Epoch, tag byte) chain.Checkpoint { return chaintest.Checkpoint(e, tag) }

// vote returns validator i's signed vote source→target.
func vote(i int, source, target chain.Checkpoint) chain.Vote { return keys.Vote(i, source, target) }

func poolAt(now chain.Epoch) *Pool {
	p := New(epochLen)
	p.Prune(now, func(*chain.Evidence) bool { return true })
	return p
}

// TestAddVote walks the pool's answers to votes: kept, known, out of the window, and the two slashable pairs of
// PROTOCOL.md §8b, each answered with evidence that proves the offence.
func TestAddVote(t *testing.T) {
	p := poolAt(6)
	first := vote(0, cp(4, 0), cp(6, 0))
	for _, v := range []chain.Vote{first, vote(3, cp(1, 0), cp(6, 0))} {
		if ev, err := p.AddVote(v); err != nil || ev != nil {
			t.Fatalf("vote %s→%s: got %v, %v", v.Source, v.Target, ev, err)
		}
	}
	tests := []struct {
		name      string
		v         chain.Vote
		want      error
		offending bool
	}{
		{"same vote again", first, ErrKnown, false},
		{"other validator, same link", vote(1, cp(4, 0), cp(6, 0)), nil, false},
		{"older epoch, no surround", vote(0, cp(3, 0), cp(5, 0)), nil, false},
		{"double vote: other target hash", vote(0, cp(4, 0), cp(6, 1)), ErrConflict, true},
		{"double vote: other source", vote(0, cp(5, 0), cp(6, 0)), ErrConflict, true},
		{"surrounding vote", vote(0, cp(3, 0), cp(7, 0)), ErrConflict, true},
		{"surrounded vote", vote(3, cp(2, 0), cp(5, 0)), ErrConflict, true},
		{"old but retained", vote(2, cp(0, 0), cp(1, 0)), nil, false},
		{"too far ahead", vote(2, cp(6, 0), cp(8, 0)), ErrEpoch, false},
		{"one epoch ahead", vote(2, cp(6, 0), cp(7, 0)), nil, false},
	}
	for _, tc := range tests {
		ev, err := p.AddVote(tc.v)
		if !errors.Is(err, tc.want) {
			t.Errorf("%s: got %v, want %v", tc.name, err, tc.want)
		}
		if (ev != nil) != tc.offending {
			t.Fatalf("%s: evidence %v, want evidence %v", tc.name, ev != nil, tc.offending)
		}
		if ev != nil {
			if err := ev.ValidateBasic(); err != nil {
				t.Errorf("%s: evidence does not prove the offence: %v", tc.name, err)
			}
			if err := ev.Verify(chainID); err != nil || ev.Offender() != tc.v.Validator {
				t.Errorf("%s: evidence against %s: %v", tc.name, ev.Offender().Short(), err)
			}
		}
	}
	_, err := p.AddVote(first)
	if want := fmt.Sprintf("%v: vote %s by %s", ErrKnown, first.Target, first.Validator.Short()); err == nil ||
		err.Error() != want {
		t.Errorf("known vote: got %v, want %q", err, want)
	}
	if i, ok := p.heldOf(addr(0)).find(6); !ok || p.heldOf(addr(0)).votes[i].Value() != first {
		t.Error("a conflicting vote replaced the first one")
	}
}

// TestVotesForBlocks: a proposer gets the votes of the current and the previous epoch, in a fixed order.
func TestVotesForBlocks(t *testing.T) {
	p := poolAt(5)
	for i, target := range []chain.Epoch{3, 4, 5, 6, 5, 4} {
		if _, err := p.AddVote(vote(i, cp(2, 0), cp(target, 0))); err != nil {
			t.Fatal(err)
		}
	}
	got := p.Votes()
	var epochs []chain.Epoch
	for _, v := range got {
		epochs = append(epochs, v.Target.Epoch)
	}
	if fmt.Sprint(epochs) != "[4 4 5 5]" {
		t.Errorf("target epochs offered: got %v, want [4 4 5 5]", epochs)
	}
	if got[0].Validator == got[1].Validator {
		t.Error("one validator's vote offered twice")
	}
}

// TestAddHeader: the second signed header of one proposer for one slot is a double proposal; the same header
// again, another slot or another proposer is not.
func TestAddHeader(t *testing.T) {
	p := poolAt(2)
	signed := func(i int, slot chain.Slot, tag byte) (chain.Header, [64]byte) {
		b := chain.Block{Header: chain.Header{Height: 3, Slot: slot, Proposer: addr(i), Parent: chain.Hash{tag}}}
		b.Sign(chainID, key(i))
		return b.Header, b.Sig
	}
	h1, s1 := signed(0, 20, 1)
	if ev := p.AddHeader(h1, s1); ev != nil {
		t.Fatal("first header: got evidence")
	}
	for _, tc := range []struct {
		name            string
		i               int
		slot            chain.Slot
		tag             byte
		wantEvidence    bool
		wantOutOfWindow bool
	}{
		{"same header", 0, 20, 1, false, false},
		{"other slot", 0, 21, 2, false, false},
		{"other proposer", 1, 20, 2, false, false},
		{"second version", 0, 20, 2, true, false},
		{"third version", 0, 20, 3, true, false},
		{"far future slot", 0, 40, 1, false, true},
	} {
		h, s := signed(tc.i, tc.slot, tc.tag)
		ev := p.AddHeader(h, s)
		if (ev != nil) != tc.wantEvidence {
			t.Fatalf("%s: got evidence %v, want %v", tc.name, ev != nil, tc.wantEvidence)
		}
		if ev == nil {
			continue
		}
		if err := ev.ValidateBasic(); err != nil || ev.Verify(chainID) != nil || ev.Offender() != addr(0) {
			t.Errorf("%s: evidence does not prove a double proposal by key 0: %v", tc.name, err)
		}
	}
	if _, n, _ := p.Size(); n != 3 {
		t.Errorf("headers kept: got %d, want 3 (one per proposer and slot in the window)", n)
	}
}

// TestAddVoteTooOld: a vote older than chain.Retained keeps is refused.
func TestAddVoteTooOld(t *testing.T) {
	p := poolAt(2 + chain.UnbondingEpochs)
	if _, err := p.AddVote(vote(2, cp(0, 0), cp(1, 0))); !errors.Is(err, ErrEpoch) {
		t.Errorf("vote of epoch 1 at epoch %d: got %v, want ErrEpoch", 2+chain.UnbondingEpochs, err)
	}
	if _, err := p.AddVote(vote(2, cp(1, 0), cp(2, 0))); err != nil {
		t.Errorf("vote at the window's edge: got %v, want it kept", err)
	}
}

// TestPruneDropsTheOld: votes, headers and evidence leave the pool when the window passes them.
func TestPruneDropsTheOld(t *testing.T) {
	p := poolAt(3)
	if _, err := p.AddVote(vote(0, cp(1, 0), cp(3, 0))); err != nil {
		t.Fatal(err)
	}
	b := chain.Block{Header: chain.Header{Slot: 3 * epochLen, Proposer: addr(1)}}
	b.Sign(chainID, key(1))
	p.AddHeader(b.Header, b.Sig)
	ev := chain.NewDoubleVote(vote(2, cp(1, 0), cp(3, 0)), vote(2, cp(1, 0), cp(3, 1)))
	if err := p.AddEvidence(ev); err != nil {
		t.Fatal(err)
	}
	keep := func(*chain.Evidence) bool { return true }
	p.Prune(3+chain.UnbondingEpochs, keep)
	if v, h, e := p.Size(); v != 1 || h != 1 || e != 1 {
		t.Fatalf("at the window's edge: %d votes %d headers %d evidence, want 1 each", v, h, e)
	}
	p.Prune(3+chain.UnbondingEpochs+1, keep)
	if v, h, e := p.Size(); v != 0 || h != 0 || e != 0 {
		t.Errorf("past the window: %d votes %d headers %d evidence, want none", v, h, e)
	}
}

// TestConflictReadsFromBound: the conflict the pool finds, reading a validator's votes from Pool.from on, is the
// one a reading of all of them finds, for random votes held and asked (a naive scan, PROTOCOL.md §8b), with and
// without a held vote whose source is not below its target.
func TestConflictReadsFromBound(t *testing.T) {
	rng := rand.New(rand.NewPCG(20, 1))
	a := addr(0)
	random := func(wellFormed bool) chain.Vote {
		tgt := chain.Epoch(8 + rng.IntN(14))
		src := chain.Epoch(rng.IntN(int(tgt)))
		if !wellFormed {
			src = tgt + chain.Epoch(rng.IntN(2))
		}
		return chain.Vote{Validator: a, Source: cp(src, byte(rng.IntN(2))), Target: cp(tgt, byte(rng.IntN(2)))}
	}
	asked, found := 0, 0
	for trial := range 400 {
		p := poolAt(20)
		for range 1 + rng.IntN(12) {
			_, _ = p.AddVote(random(true)) // conflicts and epochs out of the window are not kept
		}
		if trial%4 == 3 {
			_, _ = p.AddVote(random(false))
		}
		checkEnds(t, p)
		for range 20 {
			v := random(true)
			got, gotOK := p.Conflict(v)
			var want chain.Vote
			wantOK := false
			for _, w := range p.heldOf(a).votes {
				if chain.Slashable(v, w.Value()) {
					want, wantOK = w.Value(), true
					break
				}
			}
			if got != want || gotOK != wantOK {
				t.Fatalf("trial %d: conflict of %s→%s: got %v %s→%s, want %v %s→%s", trial, v.Source, v.Target, gotOK,
					got.Source, got.Target, wantOK, want.Source, want.Target)
			}
			asked++
			if wantOK {
				found++
			}
		}
	}
	if found == 0 || found == asked {
		t.Fatalf("%d of %d votes asked conflict: the test checks only one answer", found, asked)
	}
}

// TestSweepKeepsTheWindow: moving the pool's epoch keeps exactly the held votes within its window, for random
// votes held and random moves, back as well as forward (a naive filter of every vote, chain.Retained).
func TestSweepKeepsTheWindow(t *testing.T) {
	rng := rand.New(rand.NewPCG(20, 2))
	dropped := 0
	for trial := range 200 {
		now := chain.Epoch(300 + rng.IntN(100))
		p := poolAt(now)
		for range 40 {
			tgt := now + 1 - chain.Epoch(rng.IntN(chain.UnbondingEpochs+2))
			_, _ = p.AddVote(chain.Vote{Validator: addr(rng.IntN(3)), Source: cp(tgt-1, 0), Target: cp(tgt, 0)})
		}
		before := map[chain.Address][]chain.Vote{}
		for _, h := range p.votes {
			for _, v := range h.votes {
				before[v.Value().Validator] = append(before[v.Value().Validator], v.Value())
			}
		}
		now = now + chain.Epoch(rng.IntN(40)) - 10
		p.Prune(now, func(*chain.Evidence) bool { return true })
		checkEnds(t, p)
		for a, vs := range before {
			var want []chain.Vote
			for _, v := range vs {
				if chain.Retained(v.Target.Epoch, now) {
					want = append(want, v)
				}
			}
			var got []chain.Vote
			for _, v := range p.heldOf(a).votes {
				got = append(got, v.Value())
			}
			if !slices.Equal(got, want) {
				t.Fatalf("trial %d, epoch %d: kept %d votes of %s, want %d", trial, now, len(got), a.Short(), len(want))
			}
			dropped += len(vs) - len(want)
		}
	}
	if dropped == 0 {
		t.Fatal("no vote left the window: the test checks nothing")
	}
}

// checkEnds fails the test unless each validator's held votes know the target epochs of their first and last
// (zero when it holds none).
func checkEnds(t *testing.T, p *Pool) {
	t.Helper()
	for i, h := range p.votes {
		n := len(h.votes)
		if n == 0 && (h.oldest != 0 || h.newest != 0) || n > 0 && (h.oldest != h.votes[0].Value().Target.Epoch ||
			h.newest != h.votes[n-1].Value().Target.Epoch) {
			t.Fatalf("votes of validator number %d: %d held, oldest %d and newest %d recorded", i, n, h.oldest, h.newest)
		}
	}
}
