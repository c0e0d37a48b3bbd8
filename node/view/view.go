// Package view holds what a node shows its users: the shapes of its answers (as the HTTP API encodes them in JSON
// and the prompt prints them) and the kinds of error its queries and submissions return. The node fills them;
// its surfaces (node/httpapi, node/prompt) read them. Neither side imports the other through this package, so it
// imports nothing of the node.
package view

import (
	"errors"
	"time"

	"github.com/posnode/posnode/chain"
)

// Kinds of error a query or a submission returns; a surface maps each to its own answer (an HTTP status, a line).
var (
	// ErrNotFound: no such block, account or transaction.
	ErrNotFound = errors.New("not found")
	// ErrInvalidTx: a submitted transaction fails a check; the message says which.
	ErrInvalidTx = errors.New("invalid transaction")
	// ErrBusy: the node cannot take more now (its mempool is full); the same request may succeed later.
	ErrBusy = errors.New("busy")
	// ErrStopped: the node's event loop is not running.
	ErrStopped = errors.New("node is not running")
	// ErrBadInput: a query's argument is malformed (not a height, an address, an ID).
	ErrBadInput = errors.New("bad input")
	// ErrAmbiguous: a prefix matches more than one transaction.
	ErrAmbiguous = errors.New("ambiguous")
)

// StallEpochs is how many epochs the finalized checkpoint may lag the current epoch before a surface says that
// finality has stalled: it lags 2 when every epoch is finalized in time (PROTOCOL.md §8a).
const StallEpochs = 4

// Status is the node's view of the network (GET /api/status).
type Status struct {
	PeerID      string     `json:"peer_id"`
	ChainID     string     `json:"chain_id"`     // the network's name, from genesis.json
	GenesisHash chain.Hash `json:"genesis_hash"` // the genesis hash, which identifies the network on the wire
	Height      uint64     `json:"height"`
	Head        chain.Hash `json:"head"`
	HeadSlot    uint64     `json:"head_slot"`
	Slot        uint64     `json:"slot"`
	Epoch       uint64     `json:"epoch"`
	Peers       int        `json:"peers"`
	// Reachability is whether peers can dial the node directly: "public", "private" (behind a NAT: reached
	// through relays) or "unknown" (AutoNAT has no verdict, as on private address space); PROTOCOL.md §10.
	Reachability string `json:"reachability"`
	// RelayReservations is how many relays hold a reservation for the node (a private node keeps up to 2).
	RelayReservations int    `json:"relay_reservations"`
	RelayService      bool   `json:"relay_service"` // the node relays for private peers (--relay-service)
	Synced            bool   `json:"synced"`        // caught up with the best connected peer; false without peers or while the clock is off
	Mempool           int    `json:"mempool"`
	Balance           uint64 `json:"balance"` // the node's own account, in tokens
	Stake             uint64 `json:"stake"`
	TxFee             uint64 `json:"tx_fee"` // the minimum fee of a transaction, in tokens
	// Signing is "not a validator" while the node's key is in neither the current nor the next epoch's stake
	// table (it has nothing to sign); else "active" when nothing keeps the validator from signing, or the first reason that does
	// (PROTOCOL.md §10, §11): "stopped: <why>" once another process was seen signing with this node's key,
	// "refused by the slashing protection record: <why>" (a signature recorded ahead of the clock, a refusal),
	// "paused: <why>" while accepted blocks cannot be written to the chain database, "paused: clock: <why>",
	// "waiting for the doppelganger check until slot N", or "syncing: <why>"; "(blocks only)" or "(votes
	// only)" ends it when the reason keeps the node from one duty only.
	Signing string `json:"signing"`
	// WeakSubjectivity is "" while the node follows the network; else why it does not (PROTOCOL.md §12): its
	// newest finalized or trusted checkpoint is older than the weak-subjectivity period, so it neither syncs,
	// imports blocks nor signs until restarted with a recent checkpoint, and what to do.
	WeakSubjectivity string `json:"weak_subjectivity,omitempty"`
	// SigningBlocked names every reason that holds, first the one Signing words: "doppelganger",
	// "weak-subjectivity", "slashing-protection", "disk", "clock", "doppelganger-wait", "syncing"; empty when Signing is "active"
	// or "not a validator".
	SigningBlocked []string `json:"signing_blocked"`
	Doppelganger   bool     `json:"doppelganger"`
	// DoppelgangerWaitUntil is, while this validator sits out its start-up doppelganger check (PROTOCOL.md §10),
	// the slot it signs from; absent otherwise (and on a node that is not a validator).
	DoppelgangerWaitUntil uint64 `json:"doppelganger_wait_until,omitempty"`
	// ClockOffsetMs is how far the network's clock is estimated ahead of the node's, in milliseconds (negative:
	// the node's clock is ahead), from its peers' status answers or its blocks' slots; 0 without an estimate.
	// ClockOff is set while it exceeds the future-slot tolerance: the node then neither proposes nor votes
	// (PROTOCOL.md §10).
	ClockOffsetMs int64 `json:"clock_offset_ms"`
	ClockOff      bool  `json:"clock_off"`
	// Justified and Finalized are the head branch's newest justified and finalized checkpoints (PROTOCOL.md §8a).
	Justified chain.Checkpoint `json:"justified"`
	Finalized chain.Checkpoint `json:"finalized"`
}

// Tx is a transaction.
type Tx struct {
	ID    chain.Hash     `json:"id"`
	Kind  string         `json:"kind"`
	From  chain.Address  `json:"from"`
	To    *chain.Address `json:"to,omitempty"`
	Value uint64         `json:"value"` // tokens, or beats per minute for a bpm record
	Nonce uint64         `json:"nonce"`
	Fee   uint64         `json:"fee"`
}

// Block is a block the node holds, canonical or not (Finality says which). The genesis is block 0: its hash is
// the genesis hash, and it has no proposer and no VRF proof.
type Block struct {
	Hash      chain.Hash    `json:"hash"`
	Height    uint64        `json:"height"`
	Slot      uint64        `json:"slot"`
	Parent    chain.Hash    `json:"parent"`
	Proposer  chain.Address `json:"proposer,omitzero"` // none for the genesis
	StateRoot chain.Hash    `json:"state_root"`
	TxRoot    chain.Hash    `json:"tx_root"`
	// Time is when the block's slot began: the genesis time plus slot × the slot duration (PROTOCOL.md §2).
	Time time.Time `json:"time"`
	// Finality is BlockFinal, BlockCommitted or BlockOrphaned.
	Finality string `json:"finality"`
	// Mix is the block's RANDAO mix, SHA-256(parent's mix [32] | VRFOutput [64]); the genesis's is
	// SHA-256("posnode/randao/genesis/v1" | genesis hash) (PROTOCOL.md §6).
	Mix chain.Hash `json:"mix"`
	// VRFProof is the proposer's 80-byte VRF proof over the block's slot, and VRFOutput its 64-byte output, in hex
	// (PROTOCOL.md §6): anyone can check the proof against the proposer's address (its ed25519 key) and the VRF
	// input of the slot, and the mix against the parent's. Empty for the genesis.
	VRFProof  string     `json:"vrf_proof,omitempty"`
	VRFOutput string     `json:"vrf_output,omitempty"`
	Txs       []Tx       `json:"txs"`
	Evidence  []Evidence `json:"evidence,omitempty"` // offences the block punishes, included (PROTOCOL.md §8b)
}

// A block's finality state (Block.Finality; PROTOCOL.md §8a).
const (
	// BlockFinal: on the canonical chain at or below the finalized checkpoint; no reorg can revert it. The
	// genesis is final.
	BlockFinal = "final"
	// BlockCommitted: on the canonical chain above the finalized checkpoint; a reorg could still replace it.
	BlockCommitted = "committed"
	// BlockOrphaned: stored, but not on the node's canonical chain.
	BlockOrphaned = "orphaned"
)

// Account is an account's state at the head.
type Account struct {
	Address chain.Address `json:"address"`
	Balance uint64        `json:"balance"` // tokens
	Stake   uint64        `json:"stake"`   // tokens
	Nonce   uint64        `json:"nonce"`
	Pending int           `json:"pending"` // nonces from Nonce on that transactions pending here hold: Nonce+Pending is the next free one
	// Unbonding tokens return to the balance when epoch UnbondEpoch opens (PROTOCOL.md §8b).
	Unbonding   uint64 `json:"unbonding"`
	UnbondEpoch uint64 `json:"unbond_epoch,omitempty"`
	Slashed     bool   `json:"slashed"` // punished for an offence: never a validator again
}

// Validator is one entry of a stake table.
type Validator struct {
	Address chain.Address `json:"address"`
	Stake   uint64        `json:"stake"` // tokens
	Share   float64       `json:"share"` // fraction of the table's total, 0 to 1, for people; consensus never uses it
}

// EpochTable is the stake table in force for the slots FirstSlot..LastSlot of one epoch (PROTOCOL.md §6): the
// table the lottery drew their leaders from.
type EpochTable struct {
	Epoch      uint64      `json:"epoch"`
	FirstSlot  uint64      `json:"first_slot"`
	LastSlot   uint64      `json:"last_slot"`
	Validators []Validator `json:"validators"`
}

// TxStatus tells where a transaction is.
type TxStatus struct {
	ID     chain.Hash  `json:"id"`
	Status string      `json:"status"` // pending | committed | finalized (its block is at or below the finalized checkpoint) | dropped
	Height uint64      `json:"height,omitempty"`
	Block  *chain.Hash `json:"block,omitempty"`
	Reason string      `json:"reason,omitempty"` // why a dropped transaction left the mempool
	Tx     *Tx         `json:"tx,omitempty"`     // the transaction itself
}

// Finality is the Casper FFG state of the node's head (GET /api/finality; PROTOCOL.md §8a).
type Finality struct {
	Justified chain.Checkpoint `json:"justified"`
	Finalized chain.Checkpoint `json:"finalized"`
	// FinalizedHeight is the finalized checkpoint block's height: every canonical block up to it is final.
	FinalizedHeight uint64 `json:"finalized_height"`
	Slot            uint64 `json:"slot"`
	Epoch           uint64 `json:"epoch"`
	// LagSlots is how many slots ago the finalized checkpoint's epoch started.
	LagSlots uint64 `json:"lag_slots"`
	// Target is the current epoch's checkpoint on the head's branch: what validators vote for now.
	Target chain.Checkpoint `json:"target"`
	// Checkpoint is the finalized checkpoint as "EPOCH:HASH", the form `posnode run --checkpoint` takes: what a
	// node joining or returning after longer than the weak-subjectivity period may trust (PROTOCOL.md §12).
	Checkpoint string `json:"checkpoint"`
	// RetainEpochs is the node's retention window: the epochs of canonical blocks it keeps below the finalized
	// checkpoint; 0 for an archive node, which keeps every block (PROTOCOL.md §13).
	RetainEpochs uint64 `json:"retain_epochs"`
	// OldestHeight is the lowest height whose canonical block the node holds and serves to peers; a range below it
	// gets the answer "pruned below height OldestHeight" (PROTOCOL.md §10).
	OldestHeight uint64 `json:"oldest_height"`
}

// Evidence is a proven offence the node knows of (GET /api/evidence; PROTOCOL.md §8b): pending until a canonical
// block includes it, then included, with what it burned.
type Evidence struct {
	ID       chain.Hash    `json:"id"`
	Kind     string        `json:"kind"` // double-proposal | double-vote
	Offender chain.Address `json:"offender"`
	Epoch    uint64        `json:"epoch"`  // of the offence; evidence expires 4 epochs after it
	Status   string        `json:"status"` // pending | included
	Height   uint64        `json:"height,omitempty"`
	Block    *chain.Hash   `json:"block,omitempty"`
	Burned   uint64        `json:"burned,omitempty"` // tokens taken from the offender's stake and unbonding tokens
	Reward   uint64        `json:"reward,omitempty"` // of them, paid to the block's proposer
}

// Peer is a connected peer.
type Peer struct {
	ID        string `json:"id"`
	Addr      string `json:"addr"`
	Direction string `json:"direction"` // inbound | outbound
}

// Classed marks err as being of kind class (one of the errors above) without adding to its message, so that a
// surface can map it (errors.Is(err, class)) and a user reads one prefix, not two.
func Classed(class, err error) error {
	if err == nil {
		return nil
	}
	return classed{class: class, err: err}
}

type classed struct{ class, err error }

func (c classed) Error() string   { return c.err.Error() }
func (c classed) Unwrap() []error { return []error{c.class, c.err} }
