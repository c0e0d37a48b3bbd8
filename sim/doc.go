// Package sim measures what an adversary gains against the lottery (PROTOCOL.md §6, §9) by driving the real
// chain.Tree, its validation and fork choice, and the real consensus lottery, deterministically from a seed.
//
// One Run plays one strategy for one seed rule, adversary stake share α and number k of block versions the
// adversary may try per slot, and reports its share of canonical blocks and the deepest reorg it caused.
// Grind tries every lever its rule leaves it: under parent-hash, k orderings of its block's transactions (each
// a different block hash) and withholding; under randao, withholding the last blocks of an epoch (the only
// blocks whose mix seeds a later epoch) and the choice of parent. PrivateBranch builds a chain from genesis in
// private and releases it; LateRelease holds its block back until the next honest block appears on the same
// parent. `posnode sim grind` prints the tables.
package sim
