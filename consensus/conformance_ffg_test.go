package consensus

import (
	"fmt"

	"github.com/posnode/posnode/chain"
)

// Justification and finalization scenarios (PROTOCOL.md §8a). Stakes are v0 30, v1 30, v2 15, v3 15 (total 90, so
// a link needs 60); epochs are 4 slots, so the checkpoint of epoch 1 on a chain a1, a2, … is a3, of epoch 2 a7,
// of epoch 3 a11. Votes reach the tree only in blocks: a "vote step" is a block that carries them.

// grow builds blocks prefix+slot from first to last on parent and delivers each timely; it returns the last name.
func (b *builder) grow(prefix, parent string, first, last chain.Slot) string {
	end := b.chain(prefix, parent, first, last)
	for s := first; s <= last; s++ {
		b.timely(prefix + fmt.Sprint(s))
	}
	return end
}

// justifyOne grows a1…a3 and justifies 1/a3 with the votes of v0 and v1 in a4.
func (b *builder) justifyOne() {
	b.grow("a", "genesis", 1, 3)
	b.block("a4", "a3", 4, withVotes(b.votes(b.cp(0, "genesis"), b.cp(1, "a3"), "v0", "v1")...))
	b.timely("a4")
}

// finalizeOne justifies 1/a3 in a4, grows a5…a7 and justifies 2/a7 from it in a8, which finalizes 1/a3.
func (b *builder) finalizeOne() {
	b.justifyOne()
	b.grow("a", "a4", 5, 7)
	b.block("a8", "a7", 8, withVotes(b.votes(b.cp(1, "a3"), b.cp(2, "a7"), "v0", "v1")...))
	b.timely("a8")
}

// rejectVotes builds x on parent at slot carrying votes as given, and expects the block refused with errName.
func (b *builder) rejectVotes(parent string, slot chain.Slot, errName string, votes ...chain.Vote) {
	b.block("x", parent, slot, withVotes(votes...), raw())
	b.reject("x", errName)
	b.check(vecChecks{Head: parent, Unknown: []string{"x"}})
}

func justificationScenarios() []scenario {
	return append(justificationCountScenarios(), justificationRuleScenarios()...)
}

func justificationCountScenarios() []scenario {
	return []scenario{
		{"justification_two_thirds_exact", "§8a", "Votes of exactly two thirds of the stake (60 of 90) from the justified genesis checkpoint justify the checkpoint of epoch 1; genesis stays the finalized checkpoint.",
			func(b *builder) {
				b.justifyOne()
				b.check(vecChecks{Head: "a4", Justified: fin(1, "a3"), Finalized: fin(0, "genesis")})
			}},
		{"justification_below_two_thirds", "§8a", "Votes of 45 of 90 justify nothing; one more vote of 15 (60) justifies.",
			func(b *builder) {
				b.grow("a", "genesis", 1, 3)
				g, cp1 := b.cp(0, "genesis"), b.cp(1, "a3")
				b.block("a4", "a3", 4, withVotes(b.votes(g, cp1, "v0", "v2")...))
				b.block("a5", "a4", 5, withVotes(b.vote("v3", g, cp1)))
				b.timely("a4")
				b.check(vecChecks{Head: "a4", Justified: fin(0, "genesis")})
				b.timely("a5")
				b.check(vecChecks{Head: "a5", Justified: fin(1, "a3")})
			}},
		{"justification_votes_accumulate", "§8a", "Votes for one checkpoint add up across the blocks of a branch.",
			func(b *builder) {
				b.grow("a", "genesis", 1, 3)
				g, cp1 := b.cp(0, "genesis"), b.cp(1, "a3")
				b.block("a4", "a3", 4, withVotes(b.vote("v2", g, cp1)))
				b.block("a5", "a4", 5, withVotes(b.vote("v3", g, cp1)))
				b.block("a6", "a5", 6, withVotes(b.vote("v0", g, cp1)))
				b.timely("a4", "a5")
				b.check(vecChecks{Head: "a5", Justified: fin(0, "genesis")})
				b.timely("a6")
				b.check(vecChecks{Head: "a6", Justified: fin(1, "a3")})
			}},
		{"justification_previous_epoch_target", "§8a", "A block of epoch 2 takes votes for the checkpoint of epoch 1, the previous epoch, and they justify it.",
			func(b *builder) {
				b.grow("a", "genesis", 1, 7)
				b.block("a8", "a7", 8, withVotes(b.votes(b.cp(0, "genesis"), b.cp(1, "a3"), "v0", "v1")...))
				b.timely("a8")
				b.check(vecChecks{Head: "a8", Justified: fin(1, "a3")})
			}},
		{"justification_unjustified_source_keeps_vote", "§8a", "Votes from a source the branch has not justified are valid but count for nothing and do not spend the validator's vote: the same votes in a later block count once the source is justified.",
			func(b *builder) {
				b.grow("a", "genesis", 1, 7)
				cp1, cp2 := b.cp(1, "a3"), b.cp(2, "a7")
				b.block("a8", "a7", 8, withVotes(b.votes(cp1, cp2, "v0", "v1", "v2", "v3")...), raw())
				b.block("a9", "a8", 9, withVotes(b.votes(b.cp(0, "genesis"), cp1, "v0", "v1")...))
				b.block("a10", "a9", 10, withVotes(b.votes(cp1, cp2, "v0", "v1")...))
				b.timely("a8")
				b.check(vecChecks{Head: "a8", Justified: fin(0, "genesis")})
				b.timely("a9")
				b.check(vecChecks{Head: "a9", Justified: fin(1, "a3"), Finalized: fin(0, "genesis")})
				b.timely("a10")
				b.check(vecChecks{Head: "a10", Justified: fin(2, "a7"), Finalized: fin(1, "a3")})
			}},
		{"justification_same_votes_on_two_branches", "§8 §8a", "Justification is per branch: the same votes in a block of another branch justify there too, and the longer justified branch becomes the head.",
			func(b *builder) {
				b.justifyOne()
				b.chain("b", "a3", 5, 7)
				b.block("b8", "b7", 8, withVotes(b.votes(b.cp(0, "genesis"), b.cp(1, "a3"), "v0", "v1")...))
				b.late("b5", "b6", "b7")
				b.check(vecChecks{Head: "a4", Justified: fin(1, "a3")})
				b.late("b8")
				b.check(vecChecks{Head: "b8", Justified: fin(1, "a3")})
			}},
		{"justification_new_stake_counts_from_lag", "§6 §8a", "Stake committed in epoch 0 enters the stake table of epoch 3 (the lag): its owner's vote for epoch 1 is refused, and in epoch 3 the total grows to 190, so 90 no longer justifies and 190 does.",
			func(b *builder) {
				b.block("a1", "genesis", 1, withTxs(b.tx("v4", chain.TxStake, 0, "", 100)))
				b.timely("a1")
				b.grow("a", "a1", 2, 3)
				g := b.cp(0, "genesis")
				b.rejectVotes("a3", 4, "ErrVoteNotValidator", b.vote("v4", g, b.cp(1, "a3")))
				b.check(vecChecks{Table: &vecTable{Epoch: 3, Stakes: map[string]chain.Amount{"v0": 30, "v1": 30, "v2": 15, "v3": 15, "v4": 100}}})
				b.grow("a", "a3", 4, 11)
				cp3 := b.cp(3, "a11")
				b.block("a12", "a11", 12, withVotes(b.votes(g, cp3, "v0", "v1", "v2", "v3")...))
				b.block("a13", "a12", 13, withVotes(b.vote("v4", g, cp3)))
				b.timely("a12")
				b.check(vecChecks{Head: "a12", Justified: fin(0, "genesis")})
				b.timely("a13")
				b.check(vecChecks{Head: "a13", Justified: fin(3, "a11"), Finalized: fin(0, "genesis")})
			}},
		{"justification_unstaked_counts_until_lag", "§6 §8a", "A validator that unstakes in epoch 0 still votes in epochs 1 and 2 and leaves the table of epoch 3, whose total is then 60: its vote is refused there and 45 justifies.",
			func(b *builder) {
				b.block("a1", "genesis", 1, withTxs(b.tx("v0", chain.TxUnstake, 0, "", 30)))
				b.timely("a1")
				b.grow("a", "a1", 2, 3)
				b.block("a4", "a3", 4, withVotes(b.votes(b.cp(0, "genesis"), b.cp(1, "a3"), "v0", "v1")...))
				b.timely("a4")
				b.check(vecChecks{Head: "a4", Justified: fin(1, "a3"),
					Table: &vecTable{Epoch: 3, Stakes: map[string]chain.Amount{"v1": 30, "v2": 15, "v3": 15}}})
				b.grow("a", "a4", 5, 11)
				cp1, cp3 := b.cp(1, "a3"), b.cp(3, "a11")
				b.rejectVotes("a11", 12, "ErrVoteNotValidator", b.vote("v0", cp1, cp3))
				b.block("a12", "a11", 12, withVotes(b.votes(cp1, cp3, "v1", "v2")...))
				b.timely("a12")
				b.check(vecChecks{Head: "a12", Justified: fin(3, "a11"), Finalized: fin(0, "genesis"),
					Accounts: map[string]vecAccount{"v0": {Stake: 0, Unbonding: 30}}})
			}},
	}
}

func justificationRuleScenarios() []scenario {
	return []scenario{
		{"justification_target_too_old", "§8a", "A block of epoch 3 cannot carry votes for epoch 1: only the branch's newest two epochs are targets (ErrVoteTarget).",
			func(b *builder) {
				b.grow("a", "genesis", 1, 11)
				b.rejectVotes("a11", 12, "ErrVoteTarget", b.votes(b.cp(0, "genesis"), b.cp(1, "a3"), "v0", "v1")...)
			}},
		{"justification_target_not_checkpoint", "§8a", "A vote whose target is not the branch's checkpoint of its epoch (a2, not a3) makes the block invalid (ErrVoteTarget).",
			func(b *builder) {
				b.grow("a", "genesis", 1, 3)
				b.rejectVotes("a3", 4, "ErrVoteTarget", b.vote("v0", b.cp(0, "genesis"), b.cp(1, "a2")))
			}},
		{"justification_target_future_epoch", "§8a", "A vote for an epoch the branch has not reached makes the block invalid (ErrVoteTarget).",
			func(b *builder) {
				b.grow("a", "genesis", 1, 3)
				b.rejectVotes("a3", 4, "ErrVoteTarget", b.vote("v0", b.cp(0, "genesis"), b.cp(2, "a3")))
			}},
		{"justification_vote_from_non_validator", "§8a", "A vote of a key with no stake makes the block invalid (ErrVoteNotValidator).",
			func(b *builder) {
				b.grow("a", "genesis", 1, 3)
				b.rejectVotes("a3", 4, "ErrVoteNotValidator", b.vote("v4", b.cp(0, "genesis"), b.cp(1, "a3")))
			}},
		{"justification_vote_below_min_stake", "§6 §8a", "A vote of a key whose stake is below min_stake, so not in the stake table, makes the block invalid (ErrVoteNotValidator).",
			func(b *builder) {
				b.grow("a", "genesis", 1, 3)
				b.rejectVotes("a3", 4, "ErrVoteNotValidator", b.vote("v5", b.cp(0, "genesis"), b.cp(1, "a3")))
			}},
		{"justification_duplicate_vote_on_branch", "§8a", "A vote the branch already counted, carried again by a later block, makes that block invalid (ErrDuplicateVote).",
			func(b *builder) {
				b.grow("a", "genesis", 1, 3)
				g, cp1 := b.cp(0, "genesis"), b.cp(1, "a3")
				b.block("a4", "a3", 4, withVotes(b.vote("v0", g, cp1)))
				b.timely("a4")
				b.rejectVotes("a4", 5, "ErrDuplicateVote", b.vote("v0", g, cp1))
				b.block("a5", "a4", 5, withVotes(b.vote("v1", g, cp1)))
				b.timely("a5")
				b.check(vecChecks{Head: "a5", Justified: fin(1, "a3")})
			}},
		{"justification_two_votes_one_block", "§4 §8a", "A block with two votes of one validator for one target epoch is invalid on its own (ErrInvalidBlock).",
			func(b *builder) {
				b.grow("a", "genesis", 1, 3)
				g := b.cp(0, "genesis")
				b.rejectVotes("a3", 4, "ErrInvalidBlock", b.vote("v0", g, b.cp(1, "a3")), b.vote("v0", g, b.cp(1, "a2")))
			}},
		{"justification_bad_vote_signature", "§7 §8a", "A vote whose signature does not verify makes the block invalid (ErrBadSignature).",
			func(b *builder) {
				b.grow("a", "genesis", 1, 3)
				v := b.vote("v0", b.cp(0, "genesis"), b.cp(1, "a3"))
				v.Sig[5] ^= 1
				b.rejectVotes("a3", 4, "ErrBadSignature", v)
			}},
		{"justification_source_not_before_target", "§8a", "A vote whose source epoch is not below its target epoch is malformed (ErrInvalidVote).",
			func(b *builder) {
				b.grow("a", "genesis", 1, 3)
				b.rejectVotes("a3", 4, "ErrInvalidVote", b.vote("v0", b.cp(1, "a3"), b.cp(1, "a3")))
			}},
	}
}

func finalizationScenarios() []scenario {
	return []scenario{
		{"finalization_k1_adjacent_epochs", "§8a", "Justifying epoch 2 by a supermajority link from the justified epoch 1 finalizes epoch 1 (k = 1); blocks up to its checkpoint become final.",
			func(b *builder) {
				b.finalizeOne()
				b.check(vecChecks{Head: "a8", Justified: fin(2, "a7"), Finalized: fin(1, "a3"),
					Final: []string{"genesis", "a1", "a3"}, NotFinal: []string{"a4", "a8"}})
			}},
		{"finalization_skipped_epoch_does_not_finalize", "§8a", "A link from epoch 1 to epoch 3 justifies epoch 3 but finalizes nothing: the code has only the k = 1 rule (adjacent epochs), no two-epoch rule. A later adjacent link (3 → 4) finalizes epoch 3.",
			func(b *builder) {
				b.justifyOne()
				b.grow("a", "a4", 5, 11)
				b.block("a12", "a11", 12, withVotes(b.votes(b.cp(1, "a3"), b.cp(3, "a11"), "v0", "v1")...))
				b.timely("a12")
				b.check(vecChecks{Head: "a12", Justified: fin(3, "a11"), Finalized: fin(0, "genesis"), NotFinal: []string{"a3"}})
				b.grow("a", "a12", 13, 15)
				b.block("a16", "a15", 16, withVotes(b.votes(b.cp(3, "a11"), b.cp(4, "a15"), "v0", "v1")...))
				b.timely("a16")
				b.check(vecChecks{Head: "a16", Justified: fin(4, "a15"), Finalized: fin(3, "a11"), Final: []string{"a11"}})
			}},
		{"finalization_consecutive_epochs", "§8a", "Three adjacent links in a row finalize epochs 1, 2 and 3 in turn.",
			func(b *builder) {
				b.finalizeOne()
				b.grow("a", "a8", 9, 11)
				b.block("a12", "a11", 12, withVotes(b.votes(b.cp(2, "a7"), b.cp(3, "a11"), "v0", "v1", "v2")...))
				b.timely("a12")
				b.check(vecChecks{Justified: fin(3, "a11"), Finalized: fin(2, "a7")})
				b.grow("a", "a12", 13, 15)
				b.block("a16", "a15", 16, withVotes(b.votes(b.cp(3, "a11"), b.cp(4, "a15"), "v1", "v2", "v3")...))
				b.timely("a16")
				b.check(vecChecks{Head: "a16", Justified: fin(4, "a15"), Finalized: fin(3, "a11"), Final: []string{"a11"}, NotFinal: []string{"a12"}})
			}},
		{"finalization_votes_in_next_epoch_finalize", "§8a", "Votes for epoch 2 carried by a block of epoch 3 (the previous epoch's target) justify epoch 2 and finalize epoch 1.",
			func(b *builder) {
				b.justifyOne()
				b.grow("a", "a4", 5, 11)
				b.block("a12", "a11", 12, withVotes(b.votes(b.cp(1, "a3"), b.cp(2, "a7"), "v0", "v1")...))
				b.timely("a12")
				b.check(vecChecks{Head: "a12", Justified: fin(2, "a7"), Finalized: fin(1, "a3")})
			}},
		{"finalization_conflicting_block_refused", "§8", "Once epoch 1 is finalized at a3, blocks on a1 or on genesis (not descendants of a3) are refused (ErrConflictsFinalized), however late they come.",
			func(b *builder) {
				b.finalizeOne()
				// The main view dropped a1's other children with its floor (§13): x9 and y9 are built on a view
				// that holds a1 and has finalized nothing.
				if _, err := b.view("side").Insert(b.blocks["a1"], 1<<40); err != nil {
					b.t.Fatal(err)
				}
				b.block("x9", "a1", 9, in("side"))
				b.block("y9", "genesis", 9, in("side"))
				b.reject("x9", "ErrConflictsFinalized")
				b.reject("y9", "ErrConflictsFinalized")
				b.check(vecChecks{Head: "a8", Unknown: []string{"x9", "y9"}})
			}},
		{"finalization_fork_above_finalized_admitted", "§8", "A fork above the finalized checkpoint (on a4) is admitted; it does not justify epoch 2, so the head stays.",
			func(b *builder) {
				b.finalizeOne()
				b.block("b9", "a4", 9)
				b.late("b9")
				b.check(vecChecks{Head: "a8", Known: []string{"b9"}, Finalized: fin(1, "a3")})
			}},
		{"finalization_private_branch_refused_in_batch", "§8", "A longer branch built in private from genesis and fetched by sync is refused at its first block (ErrConflictsFinalized); nothing of it is stored.",
			func(b *builder) {
				b.finalizeOne()
				var names []string
				parent := "genesis"
				for s := chain.Slot(2); s <= 12; s++ {
					n := "p" + fmt.Sprint(s)
					b.block(n, parent, s, in("priv"))
					names, parent = append(names, n), n
				}
				b.batch("ErrConflictsFinalized", names...)
				b.check(vecChecks{Head: "a8", Unknown: []string{"p2", "p12"}})
			}},
		{"finalization_source_below_finalized_counts_nothing", "§8a", "After epoch 1 is finalized, genesis is no longer a source that counts: votes from it are valid but justify nothing; votes from the justified epoch 2 do.",
			func(b *builder) {
				b.finalizeOne()
				b.grow("a", "a8", 9, 11)
				cp3 := b.cp(3, "a11")
				b.block("a12", "a11", 12, withVotes(b.votes(b.cp(0, "genesis"), cp3, "v0", "v1", "v2")...), raw())
				b.block("a13", "a12", 13, withVotes(b.votes(b.cp(2, "a7"), cp3, "v0", "v1")...))
				b.timely("a12")
				b.check(vecChecks{Head: "a12", Justified: fin(2, "a7"), Finalized: fin(1, "a3")})
				b.timely("a13")
				b.check(vecChecks{Head: "a13", Justified: fin(3, "a11"), Finalized: fin(2, "a7")})
			}},
	}
}
