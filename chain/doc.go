// Package chain owns the ledger of posnode: its types and their binary encodings, the rules that
// make transactions and blocks valid, the state they transform, and block storage.
//
// Transactions (tx.go) and blocks (block.go) have fixed big-endian encodings whose hashes and
// signing bytes are part of the protocol; every decoder of bytes from a peer rejects malformed input
// with an error wrapping ErrMalformed and never panics. A Genesis (genesis.go) fixes a network's
// parameters and first accounts; its hash is the chain ID that every signature commits to.
//
// State (state.go, ledger.go) holds accounts and the stake tables the leader lottery draws from:
// stake changes committed in epoch e count from epoch e+StakeLag (e+3). Validation is split in two: stateless
// checks (Tx.ValidateBasic, Block.ValidateBasic) and contextual ones (ValidateBlock: parent, height,
// slot, proposer, signatures, state transition and state root).
//
// A header commits to its transactions and to the state by Merkle roots (merkle.go, stateproof.go; RFC 9162's
// tree), so that one transaction (TxProof), one account (State.AccountProof) or one stake table
// (State.StakeTableProof) is proven against a header by a logarithmic path, which a client checks without
// holding the chain.
//
// Blocks are kept behind the Store interface (an in-memory MemStore and a bbolt-backed BoltStore,
// which checks its whole file before use so that a damaged one is an error, never a panic), and the
// Tree tracks every known block, the canonical chain and fork choice, keeping post-states near the
// head and at checkpoints so that rebuilding an old one replays a bounded number of blocks.
//
// The package is deterministic: integer arithmetic only, no map iteration order in anything that is
// hashed or decided, no clock, no goroutines, no logging. The rules are described in
// docs/PROTOCOL.md; functions that implement one cite its section.
package chain
