package consensus

import (
	"bytes"

	"github.com/posnode/posnode/chain"
)

// Better reports whether tip a is strictly preferred over tip b (PROTOCOL.md §8):
//
//  1. the higher Height wins (the longest chain);
//  2. at equal height, the lower Slot wins: the branch that filled its slots earlier;
//  3. at equal slot, the lower Hash, compared as raw bytes, wins.
//
// Better is a strict total order on tips that differ in any field: it is irreflexive
// (Better(a, a) is false), asymmetric (Better(a, b) and Better(b, a) are never both true),
// transitive, and for a ≠ b exactly one of Better(a, b) and Better(b, a) holds. Every node
// therefore ranks any set of tips the same way, whatever order it saw them in.
func Better(a, b chain.Tip) bool {
	if a.Height != b.Height {
		return a.Height > b.Height
	}
	if a.Slot != b.Slot {
		return a.Slot < b.Slot
	}
	return bytes.Compare(a.Hash[:], b.Hash[:]) < 0
}
