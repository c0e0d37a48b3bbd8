package finality

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"math"
	"testing"

	"github.com/posnode/posnode/chain"
)

// Validators' vote slots (PROTOCOL.md §8a) cover the epoch's first VoteDelay slots evenly, and each validator's
// slot moves by one every epoch, so that no validator is always the last to vote.
func TestVoteSlotsSpreadValidators(t *testing.T) {
	const validators = 8000
	for _, epochLength := range []uint64{1, 4, 8, 32} {
		d := VoteDelay(epochLength)
		counts := make([]int, d)
		for i := range validators {
			addr := chain.Address(sha256.Sum256(fmt.Appendf(nil, "validator %d", i)))
			var seen []uint64
			for e := chain.Epoch(5); e < chain.Epoch(5+d); e++ {
				k := VoteSlot(addr, e, epochLength)
				if k >= d {
					t.Fatalf("E = %d: vote slot %d is past the epoch's first %d slots", epochLength, k, d)
				}
				seen = append(seen, k)
			}
			for j := 1; j < len(seen); j++ {
				if seen[j] != (seen[j-1]+1)%d {
					t.Fatalf("E = %d: validator %d's vote slots over %d epochs are %v, not one step each", epochLength, i, d, seen)
				}
			}
			counts[seen[0]]++
		}
		want := float64(validators) / float64(d)
		for k, got := range counts {
			if math.Abs(float64(got)-want) > 5*math.Sqrt(want) {
				t.Fatalf("E = %d: %d of %d validators vote in slot %d of the epoch, want about %.0f (%v)", epochLength, got, validators, k, want, counts)
			}
		}
	}
}

// The voting duty is owed once per epoch from epoch 1 on: Voting marks it done whatever the signature's fate.
func TestOwedOncePerEpoch(t *testing.T) {
	d := dutyOf(0, newChain(), 0)
	steps := []struct {
		name   string
		slot   chain.Slot
		voting bool // Voting is called after Owed
		want   bool
		epoch  chain.Epoch
	}{
		{"genesis's epoch", 3, false, false, 0},
		{"epoch 1", epochLen, true, true, 1},
		{"epoch 1 once tried", epochLen + 5, false, false, 1},
		{"epoch 2", 2 * epochLen, false, true, 2},
		{"epoch 2 still, not tried", 2*epochLen + 1, true, true, 2},
		{"epoch 2 once tried", 2*epochLen + 2, false, false, 2},
	}
	for _, s := range steps {
		e, owed := d.Owed(s.slot)
		if e != s.epoch || owed != s.want {
			t.Errorf("%s: got epoch %d owed %t, want epoch %d owed %t", s.name, e, owed, s.epoch, s.want)
		}
		if s.voting {
			d.Voting(e)
		}
	}
	if got, want := d.LastVoted(), chain.Epoch(2); got != want {
		t.Errorf("last voted: got %d, want %d", got, want)
	}
}

// Vote says when validator 0's vote of epoch e is due (PROTOCOL.md §8a) and what it is: from the head's justified
// checkpoint to e's checkpoint.
func TestVoteWhenDue(t *testing.T) {
	e := chain.Epoch(3) // an epoch whose vote slot for validator 0 is 1, the last of VoteDelay(8) = 2
	if VoteSlot(addr(0), e, epochLen) == 0 {
		e++
	}
	first := chain.Slot(uint64(e) * epochLen)
	justified := cp(e-1, 0)
	cases := []struct {
		name      string
		who       int
		slot      chain.Slot
		head      chain.Slot // the head block's slot
		justified chain.Checkpoint
		tableErr  error
		want      bool
		wantErr   error
	}{
		{"before its vote slot", 0, first, first, justified, nil, false, nil},
		{"its vote slot, a block of the epoch at the head", 0, first + 1, first, justified, nil, true, nil},
		{"its vote slot, no block of the epoch yet", 0, first + 1, first - 1, justified, nil, false, nil},
		{"VoteDelay slots into the epoch without its block", 0, first + 2, first - 1, justified, nil, true, nil},
		{"the epoch justified already", 0, first + 2, first, cp(e, 0), nil, false, nil},
		{"not in the stake table", 4, first + 7, first, justified, nil, false, nil},
		{"the stake table unreadable", 0, first + 7, first, justified, errDisk, false, errDisk},
	}
	for _, tc := range cases {
		c := newChain()
		c.head.Slot, c.justified, c.tableErr = tc.head, tc.justified, tc.tableErr
		v, due, err := dutyOf(tc.who, c, e).Vote(tc.slot, c)
		if due != tc.want || !errors.Is(err, tc.wantErr) {
			t.Errorf("%s: got due %t, error %v; want due %t, error %v", tc.name, due, err, tc.want, tc.wantErr)
			continue
		}
		want := chain.Vote{Validator: addr(tc.who), Source: tc.justified, Target: cp(e, 0)}
		if due && v != want {
			t.Errorf("%s: got vote %s → %s by %s, want %s → %s by %s", tc.name, v.Source, v.Target, v.Validator.Short(),
				want.Source, want.Target, want.Validator.Short())
		}
	}
}

// This node's vote goes out again every RepublishEvery slots after it was signed, while a block can include it and
// the head's branch does not hold it; then it is forgotten (PROTOCOL.md §8a).
func TestRepublish(t *testing.T) {
	const e = 3
	signedAt := chain.Slot(e*epochLen + 1)
	c := newChain()
	d := dutyOf(0, c, e)
	if _, ok := d.Republish(signedAt, c); ok {
		t.Fatal("republished before any vote was signed")
	}
	if err := d.Signed(vote(0, cp(e-1, 0), cp(e, 0)), signedAt); err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		name string
		slot chain.Slot
		held bool
		want bool
	}{
		{"the slot it was signed in", signedAt, false, false},
		{"one slot later", signedAt + 1, false, false},
		{"RepublishEvery slots later", signedAt + RepublishEvery, false, true},
		{"between two publications", signedAt + RepublishEvery + 1, false, false},
		{"2·RepublishEvery slots later, in the next epoch", signedAt + 2*RepublishEvery, false, true},
		{"the head's branch holds it", signedAt + 3*RepublishEvery, true, false},
		{"two epochs after its target", (e + 2) * epochLen, false, false},
		{"forgotten, not held any more", (e+2)*epochLen + 4, false, false},
	}
	for _, s := range steps {
		c.holds[addr(0)] = s.held
		v, ok := d.Republish(s.slot, c)
		if ok != s.want {
			t.Errorf("%s (slot %d): got republished %t, want %t", s.name, s.slot, ok, s.want)
		}
		if ok && v.Target != cp(e, 0) {
			t.Errorf("%s: republished a vote for %s, want %s", s.name, v.Target, cp(e, 0))
		}
	}
	if d.Own() != nil {
		t.Error("a vote no block can include is still kept for publication")
	}
}

// Signed pools this node's vote, so that its blocks offer it (PROTOCOL.md §8a).
func TestSignedVoteIsOffered(t *testing.T) {
	const e = 3
	d := dutyOf(0, newChain(), e)
	v := vote(0, cp(e-1, 0), cp(e, 0))
	if err := d.Signed(v, e*epochLen); err != nil {
		t.Fatal(err)
	}
	votes, evidence := d.ForBlock()
	if len(votes) != 1 || votes[0] != v || len(evidence) != 0 {
		t.Errorf("offers %d votes and %d pieces of evidence, want this node's vote only", len(votes), len(evidence))
	}
}
