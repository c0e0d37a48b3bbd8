package view

import (
	"time"

	"github.com/posnode/posnode/chain"
)

// What happened in a slot, as the node saw it (Slot.State).
const (
	// SlotProposed: a block of the canonical chain holds the slot.
	SlotProposed = "proposed"
	// SlotOrphaned: the node saw a block for the slot, but no canonical block holds it (the block was reorganised
	// away, or lost fork choice on arrival).
	SlotOrphaned = "orphaned"
	// SlotMissed: the slot has passed and the node saw no block for it.
	SlotMissed = "missed"
	// SlotUpcoming: the slot has not ended yet and no canonical block holds it.
	SlotUpcoming = "upcoming"
)

// How sure a slot's leader is (Slot.LeaderStatus).
const (
	// LeaderFinal: the lottery's inputs for the slot (its seed and its stake table, PROTOCOL.md §6) lie in the
	// finalized part of the chain: no block the node accepts can change the leader.
	LeaderFinal = "final"
	// LeaderProjected: the inputs are on the canonical chain but not final; a reorg could still change them.
	LeaderProjected = "projected"
)

// Slot is one slot of the explorer's grid (GET /api/slots).
type Slot struct {
	Slot  uint64    `json:"slot"`
	Epoch uint64    `json:"epoch"`
	Start time.Time `json:"start"` // when the slot begins (PROTOCOL.md §2)
	State string    `json:"state"` // proposed | orphaned | missed | upcoming
	// Leader is the slot's lottery winner on the canonical chain (PROTOCOL.md §6): the proposer of the block when
	// there is one. Zero when nobody holds stake, or when the slot's seed does not exist yet (an epoch too far
	// ahead of the head): the node does not guess.
	Leader chain.Address `json:"leader,omitzero"`
	// LeaderStatus says how sure Leader is: LeaderFinal or LeaderProjected; empty without a leader.
	LeaderStatus string      `json:"leader_status,omitempty"`
	Block        *chain.Hash `json:"block,omitempty"` // the canonical block of the slot
	Height       uint64      `json:"height,omitempty"`
	Orphans      []Orphan    `json:"orphans,omitempty"` // blocks of the slot that left or never joined the chain
}

// Orphan is a block the node stored that is not on its canonical chain.
type Orphan struct {
	Hash     chain.Hash    `json:"hash"`
	Height   uint64        `json:"height"`
	Slot     uint64        `json:"slot"`
	Proposer chain.Address `json:"proposer"`
}

// Mempool is what waits for a block (GET /api/mempool).
type Mempool struct {
	Size   int        `json:"size"`             // transactions
	Oldest *PendingTx `json:"oldest,omitempty"` // the one that has waited longest; none in an empty pool
}

// PendingTx is a transaction in the mempool and the moment this node admitted it.
type PendingTx struct {
	Tx    Tx        `json:"tx"`
	Since time.Time `json:"since"`
}

// Records is a page of an account's BPM records (GET /api/accounts/{address}/records), newest first: those of
// the canonical blocks From..To (heights, To the newest). Next, when not 0, is the ?before= of the page of older
// records: the page stopped at its limit of records or of blocks read.
type Records struct {
	Address chain.Address `json:"address"`
	Records []Record      `json:"records"`
	From    uint64        `json:"from"`
	To      uint64        `json:"to"`
	Next    uint64        `json:"next,omitempty"`
}

// Record is one BPM record of an account: a committed transaction of kind bpm (PROTOCOL.md §3).
type Record struct {
	BPM    uint64     `json:"bpm"`
	Height uint64     `json:"height"`
	Slot   uint64     `json:"slot"`
	Time   time.Time  `json:"time"` // the start of its block's slot
	Tx     chain.Hash `json:"tx"`
	// Finality is its block's: BlockFinal or BlockCommitted (PROTOCOL.md §8a).
	Finality string `json:"finality"`
}
