// Package votepool holds what a node has seen of the signatures that finality and accountability rest on
// (PROTOCOL.md §8a, §8b): the checkpoint votes of the last epochs, the first header each proposer signed for each
// slot, and evidence until a canonical block holds it or its offender can no longer be punished.
//
// It finds equivocations as they arrive: a vote that is slashable against one it holds of the same validator
// (chain.Slashable), and a second header of one proposer for one slot, each returned as chain.Evidence. It checks
// no signature and no stake table: its caller adds only votes, headers and evidence that verified, from
// validators that can still be punished or counted, which bounds it (per validator, one vote per target epoch over
// the chain.Retained window). What falls out of the window is dropped by Prune. Conflict and HeaderConflict
// compare a message with what the pool holds without keeping it, so that a caller checks the signature only of
// a message that makes evidence.
//
// A Pool is not safe for concurrent use: the node's event loop owns it.
package votepool
