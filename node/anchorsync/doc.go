// Package anchorsync is the fetch of an anchor in checkpoint sync (PROTOCOL.md §13a): the anchor protocol's
// messages, the assembly of one peer's anchor from its chunks (Fetch), and what a node seeking the anchor knows of
// the peers that hold none (Absent: when to ask each again, when to warn the operator). Like blocksync, it has no
// network, clock or goroutine of its own: the node's event loop sends what it asks, hands it the answers and the
// time, and verifies and installs the assembled anchor (chain.Anchor).
package anchorsync
