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

// Slot is one slot of the explorer's grid (GET /api/slots).
type Slot struct {
	Slot  uint64    `json:"slot"`
	Epoch uint64    `json:"epoch"`
	Start time.Time `json:"start"` // when the slot begins (PROTOCOL.md §2)
	State string    `json:"state"` // proposed | orphaned | missed | upcoming
	// Leader is the slot's lottery winner on the canonical chain (PROTOCOL.md §6): the proposer of the block when
	// there is one. Zero when nobody holds stake.
	Leader  chain.Address `json:"leader,omitzero"`
	Block   *chain.Hash   `json:"block,omitempty"` // the canonical block of the slot
	Height  uint64        `json:"height,omitempty"`
	Orphans []Orphan      `json:"orphans,omitempty"` // blocks of the slot that left or never joined the chain
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
