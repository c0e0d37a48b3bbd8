package consensus

import (
	"fmt"

	"github.com/posnode/posnode/chain"
)

// Weak-subjectivity scenarios (PROTOCOL.md §12): the case's trusted checkpoint is given to the tree when it opens.

func weakSubjectivityScenarios() []scenario {
	return []scenario{
		{"weaksubj_trusted_branch_admitted", "§12", "With trusted checkpoint 1/a3, the chain that contains it is admitted as usual.",
			func(b *builder) {
				b.chain("a", "genesis", 1, 5)
				b.trust(1, "a3")
				for _, n := range []string{"a1", "a2", "a3", "a4", "a5"} {
					b.timely(n)
				}
				b.check(vecChecks{Head: "a5"})
			}},
		{"weaksubj_crossing_elsewhere_refused", "§12", "With trusted checkpoint 1/a3, a block that takes its branch into epoch 1 from a2 is refused (ErrConflictsCheckpoint), even before a3 is known.",
			func(b *builder) {
				b.chain("a", "genesis", 1, 4)
				b.block("b4", "a2", 4)
				b.trust(1, "a3")
				b.timely("a1", "a2")
				b.reject("b4", "ErrConflictsCheckpoint")
				b.late("a3")
				b.timely("a4")
				b.check(vecChecks{Head: "a4", Unknown: []string{"b4"}})
			}},
		{"weaksubj_branch_before_epoch_until_known", "§12", "A branch that has not reached the trusted epoch is admitted while the checkpoint block is unknown; once a3 is in the tree, a block not descending from it is refused (ErrConflictsCheckpoint).",
			func(b *builder) {
				b.chain("a", "genesis", 1, 3)
				b.chain("b", "genesis", 2, 3)
				b.trust(1, "a3")
				b.tick(2100)
				b.send("b2", "")
				b.send("a1", "")
				b.send("a2", "")
				b.check(vecChecks{Head: "a2", Known: []string{"b2"}})
				b.timely("a3")
				b.reject("b3", "ErrConflictsCheckpoint")
				b.check(vecChecks{Head: "a3", Unknown: []string{"b3"}})
			}},
		{"weaksubj_between_checkpoint_and_epoch_refused", "§12", "With trusted checkpoint 2/a6, a child of a6 before epoch 2 (slot 7) would be its branch's checkpoint and is refused (ErrConflictsCheckpoint); a child in epoch 2 is admitted.",
			func(b *builder) {
				b.chain("a", "genesis", 1, 6)
				b.block("b7", "a6", 7)
				b.block("a8", "a6", 8)
				b.trust(2, "a6")
				for _, n := range []string{"a1", "a2", "a3", "a4", "a5", "a6"} {
					b.timely(n)
				}
				b.reject("b7", "ErrConflictsCheckpoint")
				b.timely("a8")
				b.check(vecChecks{Head: "a8"})
			}},
		{"weaksubj_batch_without_checkpoint", "§10 §12", "A sync batch whose branch crosses the trusted epoch elsewhere stops at the crossing block (ErrConflictsCheckpoint); the block before it is inserted.",
			func(b *builder) {
				b.chain("a", "genesis", 1, 3)
				b.block("b2", "genesis", 2)
				b.block("b4", "b2", 4)
				b.trust(1, "a3")
				b.batch("ErrConflictsCheckpoint", "b2", "b4")
				b.check(vecChecks{Head: "b2", Unknown: []string{"b4"}})
			}},
		{"weaksubj_checkpoint_lifts_finalized_lock", "§8 §12", "Branch r finalized 1/r3 and is the head; with trusted checkpoint 3/a11 on branch a (forked at genesis), a's blocks are admitted despite r's finalized checkpoint, a becomes the head and finalizes, and r's next block is refused: the tree dropped r's branch when a's finalized checkpoint became its floor (§13), so the block has no known parent (ErrUnknownParent).",
			func(b *builder) {
				rs := b.rebuiltBranch()
				as := b.trustedBranch()
				b.trust(3, "a11")
				b.batch("", rs...)
				b.check(vecChecks{Head: "r8", Justified: fin(2, "r7"), Finalized: fin(1, "r3")})
				b.batch("", as...)
				b.check(vecChecks{Head: "a12", Justified: fin(2, "a7"), Finalized: fin(1, "a3")})
				b.reject("r9", "ErrUnknownParent")
			}},
		{"weaksubj_without_checkpoint_finalized_lock", "§8 §12", "The same branches without a trusted checkpoint: r's finalized 1/r3 refuses a's first block (ErrConflictsFinalized).",
			func(b *builder) {
				rs := b.rebuiltBranch()
				as := b.trustedBranch()
				b.batch("", rs...)
				b.batch("ErrConflictsFinalized", as...)
				b.check(vecChecks{Head: "r8", Finalized: fin(1, "r3"), Unknown: []string{"a1"}})
			}},
	}
}

// rebuiltBranch builds, in view r, r1…r9 from genesis with votes that justify 1/r3 in r4 and 2/r7 in r8 (which
// finalizes 1/r3), and returns r1…r8.
func (b *builder) rebuiltBranch() []string {
	return b.finalizedBranch("r", "r", 9)[:8]
}

// trustedBranch builds, in view main, a1…a12 with votes that justify 1/a3 and 2/a7, and returns its names.
func (b *builder) trustedBranch() []string {
	return b.finalizedBranch("a", "main", 12)
}

// finalizedBranch builds prefix1…prefix<last> from genesis in view, with v0's and v1's votes justifying epoch 1
// in block 4 and epoch 2 in block 8 (which finalizes epoch 1); it returns their names.
func (b *builder) finalizedBranch(p, view string, last chain.Slot) []string {
	g := b.cp(0, "genesis")
	var names []string
	parent := "genesis"
	for s := chain.Slot(1); s <= last; s++ {
		n := p + fmt.Sprint(s)
		var opts []opt
		switch s {
		case 1:
			if p == "r" { // a different first block: the branches fork at genesis
				opts = append(opts, withTxs(b.tx("v4", chain.TxTransfer, 0, "v5", 1)))
			}
		case 4:
			opts = append(opts, withVotes(b.votes(g, b.cp(1, p+"3"), "v0", "v1")...))
		case 8:
			opts = append(opts, withVotes(b.votes(b.cp(1, p+"3"), b.cp(2, p+"7"), "v0", "v1")...))
		}
		b.block(n, parent, s, append(opts, in(view))...)
		names, parent = append(names, n), n
	}
	return names
}
