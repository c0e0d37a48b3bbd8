// Package finality is a validator's finality duty (PROTOCOL.md §8a, §8b) as a state machine: when to vote for
// the epoch's checkpoint and with which source and target, when to publish its own vote again, which votes and
// evidence to offer its next block, which evidence to keep and gossip, which slashings to count, and whether
// finality has stalled.
//
// It does no I/O and reads no clock: the node's event loop hands it its events — a slot begins (Slot), the time
// to vote comes (Owed, Vote), a vote is signed (Signed), blocks join or leave the canonical chain (Applied,
// Reverted, Include), a vote or evidence arrives (AdmitVote, AddEvidence, Conflict), the finalized checkpoint
// moves (Finalized) — with a read-only view of its head's branch (Chain, which *chain.Tree implements), and
// carries out what it decides: the slashing protection record, the signature, the network, the metrics and the
// prompt are the loop's. Its votes, first headers and evidence live in a votepool.Pool, which it owns.
//
// A Duty is not safe for concurrent use: the node's event loop owns it. Precheck and Punishable read only their
// arguments, for gossip validators off the loop.
package finality
