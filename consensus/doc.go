// Package consensus holds the rules every node must evaluate identically: which slot a moment in
// time belongs to (PROTOCOL.md §2), which validator may propose a block in a slot (the stake-weighted
// lottery of PROTOCOL.md §6), and which of two competing chain tips a node follows (fork choice,
// PROTOCOL.md §8).
//
// Every function here is a pure function of its arguments. The package starts no goroutines, reads
// no clock, opens no sockets and logs nothing: the caller passes the current time, the stake table,
// the parent hash and the slot, and gets a decision back, which it may log or act on. Arithmetic that
// decides an outcome is integer only and never depends on map iteration order, so two nodes given
// the same inputs reach the same answer on any platform.
//
// The lottery uses O(validators) memory and O(log validators) time per draw, independent of the
// number of tokens staked: a [Table] stores cumulative stakes, and [Table.Pick] draws a uniform
// integer below the total stake by rejection sampling (no modulo bias) and binary-searches it, so a
// validator wins with probability exactly stake/total.
package consensus
