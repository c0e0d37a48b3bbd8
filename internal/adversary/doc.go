// Package adversary is a hostile posnode peer for tests: a real libp2p peer (package p2p) that speaks the wire
// protocol of docs/PROTOCOL.md §10 from the spec and breaks its rules on purpose, against real nodes. It lies in
// sync (LieInSync), floods the mempool with transactions that can never apply (Flood, and the single
// transactions of TxWithFee and OverspendBeforeRecords), sends forged blocks on old parents (OldParentBlocks),
// and, given a validator's key, signs two blocks for the slots that key wins (Equivocate), which to the key's
// owner is another process using its key.
//
// It is imported by the node tests and by scripts/adversary (the byzantine stage of the docker e2e test), never
// by cmd/posnode: `go list -deps ./cmd/posnode` does not name it.
package adversary
