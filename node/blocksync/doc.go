// Package blocksync is the block sync protocol of PROTOCOL.md §10: its messages — the status answer, the range
// request and its answers, the pruned answer of a node that no longer holds the range (§13) — with their sizes,
// limits and sentinel errors, and the judgement of a peer's answers: what a lie, an undelivered claim or a
// stall costs the peer (Penalty).
//
// It does no I/O: package node serves the requests, makes them through its Network, imports the blocks and
// charges the penalties. Checkpoint sync's anchor (§13a) and backfill below it use the same range messages.
package blocksync
