package consensus

import (
	"github.com/posnode/posnode/chain"
)

// Better reports whether tip a is strictly preferred over tip b (PROTOCOL.md §8):
//
//  1. the branch that justified the later checkpoint wins (Casper FFG: follow the latest justified
//     checkpoint);
//  2. then the higher Height (the longest chain);
//  3. otherwise neither is better, and the block seen first stays the head.
//
// Better is a strict weak order: irreflexive, asymmetric and transitive, and tips that tie are equivalent.
// There is no tie-break by slot or hash on purpose: a rule that prefers the lower slot rewards a proposer that
// holds its block back until the next honest block on the same parent is out (the late-release attack of §9);
// keeping the first seen gives that block nothing. Nodes that saw two tied tips in different orders disagree
// only until the next block extends one of them, which then wins on height everywhere.
func Better(a, b chain.Tip) bool {
	if a.Justified != b.Justified {
		return a.Justified > b.Justified
	}
	return a.Height > b.Height
}
