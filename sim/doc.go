// Package sim measures what an adversary gains against the lottery (PROTOCOL.md §6, §9) by driving the real
// chain.Tree, its validation and fork choice, and the real consensus lottery, deterministically from a seed.
//
// One Run plays one strategy for one seed rule, adversary stake share α and number k of block versions the
// adversary may try per slot, and reports its share of canonical blocks and the deepest reorg it caused.
// Grind tries every lever its rule leaves it: under parent-hash, k orderings of its block's transactions (each
// a different block hash) and withholding; under randao, withholding the last blocks of an epoch (the only
// blocks whose mix seeds a later epoch) and the choice of parent. PrivateBranch builds a chain from genesis in
// private and releases it; LateRelease holds its block back until the next honest block appears on the same
// parent. StakeGrind builds, in each block it proposes whose contents can reach a seed it knows (under randao, a
// block at an epoch's tail), k versions staking k different amounts of its own tokens, applies each with the
// real ledger and keeps the one whose stake table gives it the most later slots; StakeWithhold may also
// withhold that block. Every run also counts the epochs whose last block was the adversary's: the openings a
// vote-splitting attack needs. VoteSplit and its baseline HonestVotes add checkpoint votes and the real
// finality rules, and measure the finality delay of a splitter assumed to split perfectly every checkpoint that
// is its block (the simulator has one view of the chain, not a network). `posnode sim grind` prints the tables.
package sim
