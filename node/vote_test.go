package node

import (
	"crypto/sha256"
	"fmt"
	"math"
	"testing"

	"github.com/posnode/posnode/chain"
)

// Validators' vote slots (PROTOCOL.md §8a) cover the epoch's first voteDelay slots evenly, and each validator's
// slot moves by one every epoch, so that no validator is always the last to vote.
func TestVoteSlotsSpreadValidators(t *testing.T) {
	const validators = 8000
	for _, epochLength := range []uint64{1, 4, 8, 32} {
		d := voteDelay(epochLength)
		counts := make([]int, d)
		for i := range validators {
			addr := chain.Address(sha256.Sum256(fmt.Appendf(nil, "validator %d", i)))
			var seen []uint64
			for e := chain.Epoch(5); e < chain.Epoch(5+d); e++ {
				k := voteSlot(addr, e, epochLength)
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
