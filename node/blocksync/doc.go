// Package blocksync is the block sync protocol of PROTOCOL.md §10: its messages — the status answer, the range
// request and its answers, the pruned answer of a node that no longer holds the range (§13) — with their sizes,
// limits and sentinel errors; the judgement of a peer's answers: what a lie, an undelivered claim or a stall
// costs the peer (Penalty); and one sync with one peer as a state machine (Run).
//
// It does no I/O and reads no clock: the node's event loop hands a Run its events — the status answered, a range
// answered or failed, the outcome of importing a range — and carries out what it decides (Decision: ask the peer
// for a range, retry after a wait, import these blocks through the tree, the run is done or failed), reaching the
// network through its Network and the tree (Chain, which *chain.Tree implements) itself. The loop serves the
// requests, queues and paces the runs and charges the penalties. Checkpoint sync's anchor (§13a) and backfill
// below it stay in package node and use the same range messages.
package blocksync
