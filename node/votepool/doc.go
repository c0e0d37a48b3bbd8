// Package votepool holds what a node has seen of the signatures that finality and accountability rest on
// (PROTOCOL.md §8a, §8b): the checkpoint votes of the last epochs, the first header each proposer signed for each
// slot, and evidence until a canonical block holds it or it expires.
//
// It finds equivocations as they arrive: a vote that is slashable against one it holds of the same validator
// (chain.Slashable), and a second header of one proposer for one slot, each returned as chain.Evidence. It checks
// no signature and no stake table: its caller adds only votes, headers and evidence that verified, from
// validators of the right table, which bounds it (per validator, one vote per target epoch over EvidenceWindow + 2
// epochs). What falls out of the window is dropped by Prune.
//
// A Pool is not safe for concurrent use: the node's event loop owns it.
package votepool
