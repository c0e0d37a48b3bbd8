package consensus

import (
	"math/bits"

	"github.com/posnode/posnode/chain"
)

// Supermajority reports whether stake is at least two thirds of total: 3·stake ≥ 2·total, computed in 128
// bits so that no stake overflows (Casper FFG; PROTOCOL.md §8a).
func Supermajority(stake, total chain.Amount) bool {
	if total == 0 {
		return false
	}
	hi3, lo3 := bits.Mul64(uint64(stake), 3)
	hi2, lo2 := bits.Mul64(uint64(total), 2)
	return hi3 > hi2 || (hi3 == hi2 && lo3 >= lo2)
}

// Finalizes reports whether a justified source is finalized by the supermajority link that justifies target:
// Gasper's k = 1 rule, target in the epoch right after the source (PROTOCOL.md §8a).
func Finalizes(source, target chain.Checkpoint) bool { return target.Epoch == source.Epoch+1 }

// FFGRules returns the Casper FFG decisions for chain.Tree.
func FFGRules() chain.FinalityRules {
	return chain.FinalityRules{Supermajority: Supermajority, Finalizes: Finalizes}
}
