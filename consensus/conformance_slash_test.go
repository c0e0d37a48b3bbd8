package consensus

import (
	"github.com/posnode/posnode/chain"
)

// Slashing scenarios (PROTOCOL.md §8a, §8b): evidence reaches the tree only in blocks, so an "attester slashing"
// or "proposer slashing" step is a block that carries the evidence. Slashing burns half of the stake and the
// unbonding tokens (v3's 15 leaves 8 unbonding, v0's 30 leaves 15), sets the stake to 0 and marks the account.

// doubleVote is evidence that v voted twice for epoch 1 (targets a3 and a2, both from genesis).
func (b *builder) doubleVote(v string) chain.Evidence {
	g := b.cp(0, "genesis")
	return chain.NewDoubleVote(b.vote(v, g, b.cp(1, "a3")), b.vote(v, g, b.cp(1, "a2")))
}

// afterSlash is the account of a validator of genesis stake st after one slashing.
func afterSlash(st chain.Amount) vecAccount {
	return vecAccount{Stake: 0, Unbonding: st - st/2, Slashed: true}
}

// rejectEvidence builds x on parent at slot carrying evidence as given, and expects the block refused.
func (b *builder) rejectEvidence(name, parent string, slot chain.Slot, errName string, evs ...chain.Evidence) {
	b.block(name, parent, slot, withEvidence(evs...), raw())
	b.reject(name, errName)
	b.check(vecChecks{Head: parent, Unknown: []string{name}})
}

func slashingScenarios() []scenario {
	return append(append(slashingOffenceScenarios(), slashingEffectScenarios()...), slashingWindowScenarios()...)
}

func slashingOffenceScenarios() []scenario {
	return []scenario{
		{"slashing_double_vote", "§8b", "Two votes of v3 for one target epoch (attester slashing): a block carrying the evidence slashes v3.",
			func(b *builder) {
				b.grow("a", "genesis", 1, 3)
				b.check(vecChecks{Slashed: slashed()})
				b.block("a4", "a3", 4, withEvidence(b.doubleVote("v3")))
				b.timely("a4")
				b.check(vecChecks{Head: "a4", Slashed: slashed("v3"), Accounts: map[string]vecAccount{"v3": afterSlash(15)}})
			}},
		{"slashing_surround_vote", "§8b", "A vote of v2 from epoch 0 to 3 surrounds its vote from 1 to 2: the evidence slashes v2.",
			func(b *builder) {
				b.grow("a", "genesis", 1, 3)
				outer := b.vote("v2", b.cp(0, "genesis"), b.cp(3, "a3"))
				inner := b.vote("v2", b.cp(1, "a1"), b.cp(2, "a2"))
				b.block("a4", "a3", 4, withEvidence(chain.NewDoubleVote(outer, inner)))
				b.timely("a4")
				b.check(vecChecks{Head: "a4", Slashed: slashed("v2"), Accounts: map[string]vecAccount{"v2": afterSlash(15)}})
			}},
		{"slashing_double_proposal", "§8 §8b", "A proposer's two blocks for slot 1 (proposer slashing) are both stored; a block carrying the two signed headers slashes it.",
			func(b *builder) {
				b.block("x1", "genesis", 1)
				b.block("y1", "genesis", 1, withTxs(b.tx("v4", chain.TxTransfer, 0, "v5", 1)))
				offender := b.leaderName("genesis", 1)
				b.block("x2", "x1", 2, withEvidence(chain.NewDoubleProposal(b.blocks["x1"], b.blocks["y1"])))
				b.timely("x1", "y1")
				b.check(vecChecks{Head: "x1", Slashed: slashed()})
				b.timely("x2")
				b.check(vecChecks{Head: "x2", Slashed: slashed(offender),
					Accounts: map[string]vecAccount{offender: afterSlash(confStakes[offender[1]-'0'])}})
			}},
		{"slashing_double_proposal_two_parents", "§8b", "The leader of slot 2 signs blocks for it on two parents (heights 1 and 2): one proposer and one slot are an offence whatever the parents.",
			func(b *builder) {
				b.block("a1", "genesis", 1)
				b.block("a2", "a1", 2)
				b.block("b2", "genesis", 2)
				offender := b.leaderName("a1", 2)
				b.block("a3", "a2", 3, withEvidence(chain.NewDoubleProposal(b.blocks["a2"], b.blocks["b2"])))
				b.timely("a1", "a2", "b2", "a3")
				b.check(vecChecks{Head: "a3", Slashed: slashed(offender), Known: []string{"b2"}})
			}},
		{"slashing_two_offenders_one_block", "§8b", "One block may slash several validators.",
			func(b *builder) {
				b.grow("a", "genesis", 1, 3)
				b.block("a4", "a3", 4, withEvidence(b.doubleVote("v2"), b.doubleVote("v3")))
				b.timely("a4")
				b.check(vecChecks{Head: "a4", Slashed: slashed("v2", "v3")})
			}},
		{"slashing_offender_twice_in_one_block", "§4 §8b", "A block accusing one offender twice is invalid on its own (ErrInvalidBlock).",
			func(b *builder) {
				b.grow("a", "genesis", 1, 3)
				g := b.cp(0, "genesis")
				other := chain.NewDoubleVote(b.vote("v3", g, b.cp(1, "a3")), b.vote("v3", g, b.cp(1, "a1")))
				b.rejectEvidence("x", "a3", 4, "ErrInvalidBlock", b.doubleVote("v3"), other)
			}},
		{"slashing_already_slashed", "§8b", "Evidence against a validator already slashed on the branch, the same piece or another offence, makes the block invalid (ErrAlreadySlashed).",
			func(b *builder) {
				b.grow("a", "genesis", 1, 3)
				b.block("a4", "a3", 4, withEvidence(b.doubleVote("v3")))
				b.timely("a4")
				g := b.cp(0, "genesis")
				other := chain.NewDoubleVote(b.vote("v3", g, b.cp(1, "a3")), b.vote("v3", g, b.cp(1, "a1")))
				b.rejectEvidence("x", "a4", 5, "ErrAlreadySlashed", b.doubleVote("v3"))
				b.rejectEvidence("y", "a4", 5, "ErrAlreadySlashed", other)
				b.check(vecChecks{Slashed: slashed("v3"), Accounts: map[string]vecAccount{"v3": afterSlash(15)}})
			}},
		{"slashing_pair_not_slashable", "§8b", "Votes 0→1 and 1→2 of one validator are neither a double nor a surround vote (ErrInvalidEvidence).",
			func(b *builder) {
				b.grow("a", "genesis", 1, 3)
				ev := chain.NewDoubleVote(b.vote("v3", b.cp(0, "genesis"), b.cp(1, "a3")), b.vote("v3", b.cp(1, "a3"), b.cp(2, "a3")))
				b.rejectEvidence("x", "a3", 4, "ErrInvalidEvidence", ev)
				b.check(vecChecks{Slashed: slashed()})
			}},
		{"slashing_identical_votes", "§8b", "One vote twice is no offence (ErrInvalidEvidence).",
			func(b *builder) {
				b.grow("a", "genesis", 1, 3)
				v := b.vote("v3", b.cp(0, "genesis"), b.cp(1, "a3"))
				b.rejectEvidence("x", "a3", 4, "ErrInvalidEvidence", chain.Evidence{Kind: chain.EvidenceDoubleVote, VoteA: v, VoteB: v})
			}},
		{"slashing_votes_of_two_validators", "§8b", "Conflicting votes of two different validators are no offence (ErrInvalidEvidence).",
			func(b *builder) {
				b.grow("a", "genesis", 1, 3)
				g := b.cp(0, "genesis")
				ev := chain.NewDoubleVote(b.vote("v2", g, b.cp(1, "a3")), b.vote("v3", g, b.cp(1, "a2")))
				b.rejectEvidence("x", "a3", 4, "ErrInvalidEvidence", ev)
			}},
		{"slashing_headers_of_two_slots", "§8b", "Two headers of one proposer chain for different slots are no double proposal (ErrInvalidEvidence).",
			func(b *builder) {
				b.grow("a", "genesis", 1, 3)
				b.rejectEvidence("x", "a3", 4, "ErrInvalidEvidence", chain.NewDoubleProposal(b.blocks["a1"], b.blocks["a2"]))
			}},
		{"slashing_evidence_bad_signature", "§8b", "Evidence whose vote signature does not verify makes the block invalid (ErrBadSignature).",
			func(b *builder) {
				b.grow("a", "genesis", 1, 3)
				g := b.cp(0, "genesis")
				forged := b.vote("v3", g, b.cp(1, "a2"))
				forged.Sig[3] ^= 1
				b.rejectEvidence("x", "a3", 4, "ErrBadSignature", chain.NewDoubleVote(b.vote("v3", g, b.cp(1, "a3")), forged))
				b.check(vecChecks{Slashed: slashed()})
			}},
	}
}

func slashingEffectScenarios() []scenario {
	return []scenario{
		{"slashing_slashed_stake_leaves_links", "§8a §8b", "v0's counted vote (30) leaves the link when a block slashes v0: v1's vote then makes 30, not two thirds; v2 and v3 bring it to 60.",
			func(b *builder) {
				b.grow("a", "genesis", 1, 3)
				g, cp1 := b.cp(0, "genesis"), b.cp(1, "a3")
				b.block("a4", "a3", 4, withVotes(b.vote("v0", g, cp1)))
				b.block("a5", "a4", 5, withEvidence(b.doubleVote("v0")), withVotes(b.vote("v1", g, cp1)))
				b.block("a6", "a5", 6, withVotes(b.votes(g, cp1, "v2", "v3")...))
				b.timely("a4", "a5")
				b.check(vecChecks{Head: "a5", Justified: fin(0, "genesis"), Slashed: slashed("v0")})
				b.timely("a6")
				b.check(vecChecks{Head: "a6", Justified: fin(1, "a3")})
			}},
		{"slashing_slashed_vote_counts_nothing", "§8a §8b", "A vote of a validator slashed earlier on the branch is valid but counts for nothing: v0, v2 and slashed v3 make 45; v1 then makes 75.",
			func(b *builder) {
				b.grow("a", "genesis", 1, 3)
				g, cp1 := b.cp(0, "genesis"), b.cp(1, "a3")
				b.block("a4", "a3", 4, withEvidence(b.doubleVote("v3")))
				b.block("a5", "a4", 5, withVotes(b.votes(g, cp1, "v0", "v2", "v3")...))
				b.block("a6", "a5", 6, withVotes(b.vote("v1", g, cp1)))
				b.timely("a4", "a5")
				b.check(vecChecks{Head: "a5", Justified: fin(0, "genesis")})
				b.timely("a6")
				b.check(vecChecks{Head: "a6", Justified: fin(1, "a3")})
			}},
		{"slashing_total_keeps_slashed_stake", "§8a §8b", "Slashing v0 and v3 does not shrink the table's total: v1 and v2 make 45 of 90, not two thirds of the 45 left.",
			func(b *builder) {
				b.grow("a", "genesis", 1, 3)
				g, cp1 := b.cp(0, "genesis"), b.cp(1, "a3")
				b.block("a4", "a3", 4, withEvidence(b.doubleVote("v0"), b.doubleVote("v3")))
				b.block("a5", "a4", 5, withVotes(b.votes(g, cp1, "v1", "v2")...))
				b.timely("a4", "a5")
				b.check(vecChecks{Head: "a5", Justified: fin(0, "genesis"), Slashed: slashed("v0", "v3")})
			}},
		{"slashing_leaves_stake_table_after_lag", "§6 §8b", "v3, slashed in epoch 1, stays in the stake tables fixed before (epochs 1 to 3) and is out of the table of epoch 4.",
			func(b *builder) {
				b.grow("a", "genesis", 1, 3)
				b.block("a4", "a3", 4, withEvidence(b.doubleVote("v3")))
				b.timely("a4")
				all := map[string]chain.Amount{"v0": 30, "v1": 30, "v2": 15, "v3": 15}
				b.check(vecChecks{Table: &vecTable{Epoch: 3, Stakes: all}})
				b.grow("a", "a4", 5, 16)
				b.check(vecChecks{Head: "a16", Slashed: slashed("v3"), Table: &vecTable{Epoch: 3, Stakes: all}})
				b.check(vecChecks{Table: &vecTable{Epoch: 4, Stakes: map[string]chain.Amount{"v0": 30, "v1": 30, "v2": 15}}})
			}},
		{"slashing_changes_fork_choice", "§8 §8a §8b", "On branch a, v0 is slashed before its vote counts, so epoch 1 is not justified there; branch b, where v0 is not slashed, justifies it with the same votes and becomes the head; then b slashes v0 too and keeps its justification.",
			func(b *builder) {
				b.grow("a", "genesis", 1, 3)
				g, cp1 := b.cp(0, "genesis"), b.cp(1, "a3")
				b.block("a4", "a3", 4, withEvidence(b.doubleVote("v0")), withVotes(b.votes(g, cp1, "v0", "v1")...))
				b.block("a5", "a4", 5)
				b.block("b6", "a3", 6, withVotes(b.votes(g, cp1, "v0", "v1")...))
				b.block("b7", "b6", 7, withEvidence(b.doubleVote("v0")))
				b.timely("a4", "a5")
				b.check(vecChecks{Head: "a5", Justified: fin(0, "genesis"), Slashed: slashed("v0")})
				b.late("b6")
				b.check(vecChecks{Head: "b6", Justified: fin(1, "a3"), Slashed: slashed()})
				b.timely("b7")
				b.check(vecChecks{Head: "b7", Justified: fin(1, "a3"), Slashed: slashed("v0")})
			}},
		{"slashing_reverted_with_its_branch", "§8 §8b", "A slashing is part of its branch: when the head moves to a branch without the evidence, the validator is not slashed there.",
			func(b *builder) {
				b.grow("a", "genesis", 1, 3)
				b.block("a4", "a3", 4, withEvidence(b.doubleVote("v3")))
				b.chain("b", "a3", 5, 7)
				b.timely("a4")
				b.check(vecChecks{Head: "a4", Slashed: slashed("v3")})
				b.late("b5", "b6", "b7")
				b.check(vecChecks{Head: "b7", Slashed: slashed(), Accounts: map[string]vecAccount{"v3": {Stake: 15}}})
			}},
		{"slashing_conflicting_justifications", "§8a §8b", "v0 and v1 (60 of 90) justify 1/a3 on one branch and 1/b2 on another: each has signed a double vote, and a block carrying both pieces of evidence slashes the two thirds of the stake that made the conflict.",
			func(b *builder) {
				b.grow("a", "genesis", 1, 3)
				g := b.cp(0, "genesis")
				b.block("b2", "genesis", 2, in("b"))
				b.block("b5", "b2", 5, in("b"), withVotes(b.votes(g, b.cp(1, "b2"), "v0", "v1")...))
				b.block("a4", "a3", 4, withVotes(b.votes(g, b.cp(1, "a3"), "v0", "v1")...))
				ev := func(v string) chain.Evidence {
					return chain.NewDoubleVote(b.vote(v, g, b.cp(1, "a3")), b.vote(v, g, b.cp(1, "b2")))
				}
				b.block("a6", "a4", 6, withEvidence(ev("v0"), ev("v1")))
				b.timely("a4")
				b.late("b2", "b5")
				b.check(vecChecks{Head: "a4", Justified: fin(1, "a3"), Known: []string{"b5"}})
				b.timely("a6")
				b.check(vecChecks{Head: "a6", Justified: fin(1, "a3"), Slashed: slashed("v0", "v1")})
			}},
	}
}

func slashingWindowScenarios() []scenario {
	return []scenario{
		{"slashing_old_offence_while_locked", "§8b", "Evidence has no expiry of its own: a double vote of epoch 1 slashes its offender in a block of epoch 40.",
			func(b *builder) {
				b.grow("a", "genesis", 1, 3)
				b.block("a160", "a3", 160, withEvidence(b.doubleVote("v3")))
				b.timely("a160")
				b.check(vecChecks{Head: "a160", Slashed: slashed("v3"), Accounts: map[string]vecAccount{"v3": afterSlash(15)}})
			}},
		{"slashing_unbonding_tokens", "§8b", "v3 unstakes all in epoch 0; within the 256 epochs of unbonding its offence still burns half of its unbonding tokens (block of epoch 255).",
			func(b *builder) {
				b.block("a1", "genesis", 1, withTxs(b.tx("v3", chain.TxUnstake, 0, "", 15)))
				b.timely("a1")
				b.grow("a", "a1", 2, 3)
				b.check(vecChecks{Accounts: map[string]vecAccount{"v3": {Stake: 0, Unbonding: 15}}})
				b.block("a1020", "a3", 1020, withEvidence(b.doubleVote("v3")))
				b.timely("a1020")
				b.check(vecChecks{Head: "a1020", Slashed: slashed("v3"), Accounts: map[string]vecAccount{"v3": afterSlash(15)}})
			}},
		{"slashing_after_unbonding_released", "§8b", "Once the block that opens epoch 256 has released v3's unbonding tokens, it holds nothing to slash: the evidence makes the block invalid (ErrNothingToSlash).",
			func(b *builder) {
				b.block("a1", "genesis", 1, withTxs(b.tx("v3", chain.TxUnstake, 0, "", 15)))
				b.timely("a1")
				b.grow("a", "a1", 2, 3)
				b.block("a1024", "a3", 1024)
				b.timely("a1024")
				b.check(vecChecks{Head: "a1024", Accounts: map[string]vecAccount{"v3": {}}})
				b.rejectEvidence("x", "a1024", 1025, "ErrNothingToSlash", b.doubleVote("v3"))
				b.check(vecChecks{Slashed: slashed()})
			}},
	}
}
