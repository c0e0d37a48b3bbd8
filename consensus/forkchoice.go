package consensus

import (
	"time"

	"github.com/posnode/posnode/chain"
)

// Better reports whether tip a is strictly preferred over tip b (PROTOCOL.md §8):
//
//  1. the branch that justified the later checkpoint wins (Casper FFG: follow the latest justified
//     checkpoint);
//  2. then the greater weight: the Height, plus one when the tip's block arrived timely (Timely: within the
//     first half of its slot, as the node that compares saw it; see Timely);
//  3. otherwise neither is better: a tip that extends the other wins (chain.Tree), else the block seen first
//     stays the head.
//
// Better is a strict weak order: irreflexive, asymmetric and transitive, and tips that tie are equivalent.
// There is no tie-break by slot or hash on purpose: a rule that prefers the lower slot rewards a proposer that
// holds its block back until the next honest block on the same parent is out (the late-release attack of §9);
// keeping the first seen gives that block nothing. The timely bonus (Ethereum's proposer boost, kept for good)
// means a late block, released after the first half of its slot or built on an old parent by a proposer whose
// clock is wrong, needs two heights more than a timely rival on another branch to orphan it, not one: height
// alone does not let a late block orphan a timely one. Nodes that saw two tied tips in different orders disagree
// only until the next block extends one of them.
func Better(a, b chain.Tip) bool {
	if a.Justified != b.Justified {
		return a.Justified > b.Justified
	}
	return weight(a) > weight(b)
}

// weight is a tip's fork-choice weight: its height, plus one when its block arrived timely. A height never
// reaches 2^64 − 1 (one block a slot), so the sum does not wrap.
func weight(t chain.Tip) uint64 {
	w := uint64(t.Height)
	if t.Timely {
		w++
	}
	return w
}

// Timely reports whether a block of slot s that arrived at local time arrived is timely: no later than the
// middle of its slot, start(s) + d/2, the moment votes are cast (PROTOCOL.md §8, §8a). A block that arrives
// before its slot starts (within the tolerance of §7) is timely. The node records it when the block arrives;
// fork choice only reads the flag.
func Timely(genesis time.Time, d time.Duration, s chain.Slot, arrived time.Time) bool {
	return !arrived.After(SlotStart(genesis, d, s).Add(d / 2))
}
