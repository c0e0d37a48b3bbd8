package consensus

import (
	"github.com/posnode/posnode/chain"
)

// Fork-choice scenarios (PROTOCOL.md §7, §8). Epochs are 4 slots and slots 1 s: a block is timely when it
// arrives by 500 ms into its slot. In epochs 0 and 1 every parent gives a slot the same leader (the seed is the
// genesis mix and the tables are the genesis stakes), so siblings are built at different slots unless a
// scenario wants an equivocation.

// notLeader returns a staked validator other than the leader of slot on parent.
func (b *builder) notLeader(parent string, slot chain.Slot) string {
	leader, _, err := b.view("main").LeaderOn(b.hash(parent), slot)
	if err != nil {
		b.t.Fatal(err)
	}
	for _, v := range []string{"v0", "v1", "v2", "v3"} {
		if b.addr(v) != leader {
			return v
		}
	}
	return ""
}

// leaderName returns the name of the leader of slot on parent.
func (b *builder) leaderName(parent string, slot chain.Slot) string {
	leader, _, err := b.view("main").LeaderOn(b.hash(parent), slot)
	if err != nil {
		b.t.Fatal(err)
	}
	return b.vals[leader]
}

func forkChoiceScenarios() []scenario {
	return append(forkChoiceWeightScenarios(), forkChoiceValidityScenarios()...)
}

func forkChoiceWeightScenarios() []scenario {
	return []scenario{
		{"forkchoice_genesis_anchor", "§5 §8 §8a", "A new tree: the head is genesis, whose checkpoint (epoch 0) is justified and finalized; the stake table is the genesis stakes at or above min_stake.",
			func(b *builder) {
				b.check(vecChecks{Head: "genesis", Justified: fin(0, "genesis"), Finalized: fin(0, "genesis"), Slashed: slashed(),
					Table: &vecTable{Epoch: 0, Stakes: map[string]chain.Amount{"v0": 30, "v1": 30, "v2": 15, "v3": 15}},
					Final: []string{"genesis"}})
			}},
		{"forkchoice_chain_grows", "§8", "Timely blocks each extending the head become the head in turn.",
			func(b *builder) {
				b.chain("a", "genesis", 1, 4)
				for _, n := range []string{"a1", "a2", "a3", "a4"} {
					b.timely(n)
					b.check(vecChecks{Head: n})
				}
				b.check(vecChecks{Known: []string{"a1", "a2", "a3", "a4"}, NotFinal: []string{"a1", "a4"}, Final: []string{"genesis"}})
			}},
		{"forkchoice_longer_branch_wins", "§8", "Among late blocks, the higher tip wins: a branch two blocks long loses to a branch of three from genesis, and the head moves (a reorg of depth 2).",
			func(b *builder) {
				b.chain("a", "genesis", 1, 2)
				b.chain("b", "genesis", 3, 5)
				b.late("a1", "a2")
				b.check(vecChecks{Head: "a2"})
				b.late("b3", "b4")
				b.check(vecChecks{Head: "a2"})
				b.late("b5")
				b.check(vecChecks{Head: "b5", Known: []string{"a1", "a2"}})
			}},
		{"forkchoice_tie_first_seen_stays", "§8", "Two late siblings of one height tie: the one received first stays the head, although the other has the lower slot.",
			func(b *builder) {
				b.block("a1", "genesis", 1)
				b.block("b2", "genesis", 2)
				b.late("b2", "a1")
				b.check(vecChecks{Head: "b2"})
			}},
		{"forkchoice_tie_first_seen_other_order", "§8", "The same two siblings received in the other order: the first seen stays the head, so no slot or hash tie-break exists.",
			func(b *builder) {
				b.block("a1", "genesis", 1)
				b.block("b2", "genesis", 2)
				b.late("a1", "b2")
				b.check(vecChecks{Head: "a1"})
			}},
		{"forkchoice_timely_beats_late_sibling", "§8", "A timely block beats a late sibling of its height received before it (weight = height + 1 when timely).",
			func(b *builder) {
				b.block("a1", "genesis", 1)
				b.block("b2", "genesis", 2)
				b.late("a1")
				b.timely("b2")
				b.check(vecChecks{Head: "b2"})
			}},
		{"forkchoice_late_sibling_loses_to_timely", "§8", "A late sibling received after a timely head of its height does not take the head.",
			func(b *builder) {
				b.block("a1", "genesis", 1)
				b.block("b2", "genesis", 2)
				b.timely("a1")
				b.late("b2")
				b.check(vecChecks{Head: "a1"})
			}},
		{"forkchoice_late_one_higher_ties_timely", "§8", "A late branch one height above a timely head on another branch only ties with it: the head stays.",
			func(b *builder) {
				b.block("a1", "genesis", 1)
				b.chain("b", "genesis", 2, 3)
				b.timely("a1")
				b.late("b2", "b3")
				b.check(vecChecks{Head: "a1"})
			}},
		{"forkchoice_late_two_higher_wins", "§8", "A late branch two heights above a timely head on another branch wins.",
			func(b *builder) {
				b.block("a1", "genesis", 1)
				b.chain("b", "genesis", 2, 4)
				b.timely("a1")
				b.late("b2", "b3")
				b.check(vecChecks{Head: "a1"})
				b.late("b4")
				b.check(vecChecks{Head: "b4"})
			}},
		{"forkchoice_late_child_extends_timely_head", "§8", "A late child ties on weight with its timely parent, the head, and takes the head because it extends it.",
			func(b *builder) {
				b.chain("a", "genesis", 1, 2)
				b.timely("a1")
				b.late("a2")
				b.check(vecChecks{Head: "a2"})
			}},
		{"forkchoice_timely_tie_then_higher", "§8", "Two timely siblings tie (first seen stays); a timely child of the second then wins on height.",
			func(b *builder) {
				b.block("a1", "genesis", 1)
				b.chain("b", "genesis", 2, 3)
				b.timely("a1", "b2")
				b.check(vecChecks{Head: "a1"})
				b.timely("b3")
				b.check(vecChecks{Head: "b3"})
			}},
		{"forkchoice_reorg_and_back", "§8", "The head moves to a late branch two heights above, then back to the first branch when timely blocks extend it past the late one.",
			func(b *builder) {
				b.chain("a", "genesis", 1, 2)
				b.chain("b", "genesis", 3, 6)
				b.block("a7", "a2", 7)
				b.block("a8", "a7", 8)
				b.timely("a1", "a2")
				b.late("b3", "b4", "b5")
				b.check(vecChecks{Head: "a2"})
				b.late("b6")
				b.check(vecChecks{Head: "b6"})
				b.timely("a7")
				b.check(vecChecks{Head: "b6"})
				b.timely("a8")
				b.check(vecChecks{Head: "a8"})
			}},
		{"forkchoice_half_slot_is_timely", "§8", "A block received exactly half a slot after its slot starts is timely, and beats a late sibling seen first.",
			func(b *builder) {
				b.block("a1", "genesis", 1)
				b.block("b2", "genesis", 2)
				b.late("a1")
				b.tick(2500)
				b.send("b2", "")
				b.check(vecChecks{Head: "b2"})
			}},
		{"forkchoice_after_half_slot_is_late", "§8", "A block received one millisecond after the middle of its slot is late: it ties with a late sibling seen first, which stays.",
			func(b *builder) {
				b.block("a1", "genesis", 1)
				b.block("b2", "genesis", 2)
				b.late("a1")
				b.tick(2501)
				b.send("b2", "")
				b.check(vecChecks{Head: "a1"})
			}},
		{"forkchoice_early_block_is_timely", "§7 §8", "A block received before its slot starts, within the half second of clock skew, is accepted and timely.",
			func(b *builder) {
				b.block("a1", "genesis", 1)
				b.block("b2", "genesis", 2)
				b.tick(1600)
				b.send("a1", "")
				b.send("b2", "")
				b.check(vecChecks{Head: "b2"})
			}},
	}
}

func forkChoiceValidityScenarios() []scenario {
	return []scenario{
		{"forkchoice_unknown_parent", "§7 §10", "A block whose parent is unknown is refused (ErrUnknownParent) and not kept; once its parent arrives it is accepted.",
			func(b *builder) {
				b.chain("a", "genesis", 1, 2)
				b.reject("a2", "ErrUnknownParent")
				b.check(vecChecks{Head: "genesis", Unknown: []string{"a2"}})
				b.late("a1", "a2")
				b.check(vecChecks{Head: "a2"})
			}},
		{"forkchoice_future_slot", "§7", "A block of a slot that has not started, beyond the half second of skew, is refused (ErrFutureSlot); half a second before its slot it is accepted.",
			func(b *builder) {
				b.block("a1", "genesis", 1)
				b.block("a3", "a1", 3)
				b.timely("a1")
				b.tick(2499)
				b.send("a3", "ErrFutureSlot")
				b.check(vecChecks{Head: "a1", Unknown: []string{"a3"}})
				b.tick(2500)
				b.send("a3", "")
				b.check(vecChecks{Head: "a3"})
			}},
		{"forkchoice_known_block", "§7", "A block received twice is refused the second time (ErrKnownBlock).",
			func(b *builder) {
				b.block("a1", "genesis", 1)
				b.timely("a1")
				b.send("a1", "ErrKnownBlock")
				b.check(vecChecks{Head: "a1"})
			}},
		{"forkchoice_slot_not_after_parent", "§7", "A block whose slot is not after its parent's is refused (ErrSlotNotAfterParent).",
			func(b *builder) {
				b.chain("a", "genesis", 1, 2)
				b.block("x", "a2", 3, mutated(func(blk *chain.Block) { blk.Header.Slot = 2 }))
				b.timely("a1", "a2")
				b.send("x", "ErrSlotNotAfterParent")
				b.check(vecChecks{Head: "a2", Unknown: []string{"x"}})
			}},
		{"forkchoice_bad_height", "§7", "A block whose height is not its parent's plus one is refused (ErrBadHeight).",
			func(b *builder) {
				b.block("a1", "genesis", 1)
				b.block("x", "a1", 2, mutated(func(blk *chain.Block) { blk.Header.Height = 3 }))
				b.timely("a1")
				b.reject("x", "ErrBadHeight")
				b.check(vecChecks{Head: "a1"})
			}},
		{"forkchoice_wrong_proposer", "§6 §7", "A block signed by a staked validator that did not win the slot's lottery is refused (ErrWrongProposer).",
			func(b *builder) {
				b.block("x", "genesis", 1, by(b.notLeader("genesis", 1)))
				b.reject("x", "ErrWrongProposer")
				b.check(vecChecks{Head: "genesis", Unknown: []string{"x"}})
			}},
		{"forkchoice_bad_signature", "§7", "A block whose signature does not verify is refused (ErrBadSignature).",
			func(b *builder) {
				b.block("x", "genesis", 1, mutated(func(blk *chain.Block) { blk.Sig[0] ^= 1 }), unsigned())
				b.reject("x", "ErrBadSignature")
				b.check(vecChecks{Head: "genesis", Unknown: []string{"x"}})
			}},
		{"forkchoice_bad_state_root", "§7", "A block whose state root is not the state after it is refused (ErrBadStateRoot).",
			func(b *builder) {
				b.block("x", "genesis", 1, mutated(func(blk *chain.Block) { blk.Header.StateRoot[0] ^= 1 }))
				b.reject("x", "ErrBadStateRoot")
				b.check(vecChecks{Head: "genesis"})
			}},
		{"forkchoice_equivocation_two_versions", "§8 §8b", "A proposer's two blocks for one slot are both stored (the second is evidence), the first seen stays the head, and a third version is dropped unstored (ErrTooManyVersions).",
			func(b *builder) {
				b.block("x1", "genesis", 1)
				b.block("y1", "genesis", 1, withTxs(b.tx("v4", chain.TxTransfer, 0, "v5", 1)))
				b.block("z1", "genesis", 1, withTxs(b.tx("v4", chain.TxTransfer, 0, "v5", 2)))
				b.timely("x1", "y1")
				b.check(vecChecks{Head: "x1", Known: []string{"x1", "y1"}})
				b.send("z1", "ErrTooManyVersions")
				b.check(vecChecks{Head: "x1", Unknown: []string{"z1"}})
			}},
		{"forkchoice_equivocation_extended_version_wins", "§8", "Of a proposer's two versions of a slot, the one a later block extends becomes the head with it.",
			func(b *builder) {
				b.block("x1", "genesis", 1)
				b.block("y1", "genesis", 1, withTxs(b.tx("v4", chain.TxTransfer, 0, "v5", 1)))
				b.block("y2", "y1", 2)
				b.timely("x1", "y1")
				b.check(vecChecks{Head: "x1"})
				b.timely("y2")
				b.check(vecChecks{Head: "y2"})
			}},
		{"forkchoice_batch_counts_late", "§8 §10", "Blocks fetched by sync in one batch count as late: a batch one height above a timely head ties and the head stays; one more block wins.",
			func(b *builder) {
				b.block("a1", "genesis", 1)
				b.chain("b", "genesis", 2, 4)
				b.timely("a1")
				b.batch("", "b2", "b3")
				b.check(vecChecks{Head: "a1", Known: []string{"b2", "b3"}})
				b.batch("", "b4")
				b.check(vecChecks{Head: "b4"})
			}},
		{"forkchoice_batch_stores_extended_third_version", "§8", "A third version of a slot is stored when the next block of the same sync batch builds on it; alone it would be dropped.",
			func(b *builder) {
				b.block("x1", "genesis", 1)
				b.block("y1", "genesis", 1, withTxs(b.tx("v4", chain.TxTransfer, 0, "v5", 1)))
				b.block("z1", "genesis", 1, in("alt"), withTxs(b.tx("v4", chain.TxTransfer, 0, "v5", 2)))
				b.block("z2", "z1", 2, in("alt"))
				b.late("x1", "y1")
				b.batch("", "z1", "z2")
				b.check(vecChecks{Head: "z2", Known: []string{"x1", "y1", "z1", "z2"}})
			}},
		{"forkchoice_batch_stops_at_invalid_block", "§7 §10", "A sync batch stops at its first invalid block: the blocks before it are inserted, the error names the first failure.",
			func(b *builder) {
				b.block("a1", "genesis", 1)
				b.block("x2", "a1", 2, by(b.notLeader("a1", 2)))
				b.batch("ErrWrongProposer", "a1", "x2")
				b.check(vecChecks{Head: "a1", Unknown: []string{"x2"}})
			}},
		{"forkchoice_justified_beats_longer", "§8 §8a", "The branch that justified the later checkpoint is the head, even against a longer branch without votes.",
			func(b *builder) {
				b.chain("a", "genesis", 1, 3)
				g, cp1 := b.cp(0, "genesis"), b.cp(1, "a3")
				b.block("a4", "a3", 4, withVotes(b.votes(g, cp1, "v0", "v1")...))
				b.chain("b", "a3", 5, 9)
				b.timely("a1", "a2", "a3", "a4")
				b.late("b5", "b6", "b7", "b8", "b9")
				b.check(vecChecks{Head: "a4", Justified: fin(1, "a3")})
			}},
		{"forkchoice_justification_moves_head", "§8 §8a", "A shorter branch becomes the head the moment a block on it justifies a checkpoint.",
			func(b *builder) {
				b.chain("a", "genesis", 1, 3)
				b.chain("b", "a3", 4, 6)
				g, cp1 := b.cp(0, "genesis"), b.cp(1, "a3")
				b.block("a7", "a3", 7, withVotes(b.votes(g, cp1, "v0", "v1")...))
				b.timely("a1", "a2", "a3", "b4", "b5", "b6")
				b.check(vecChecks{Head: "b6", Justified: fin(0, "genesis")})
				b.late("a7")
				b.check(vecChecks{Head: "a7", Justified: fin(1, "a3")})
			}},
	}
}
