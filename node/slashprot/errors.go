package slashprot

import (
	"errors"
	"fmt"
)

// Refusals: signing this would give evidence against the key (PROTOCOL.md §11). Each specific error also
// matches ErrSlashableBlock or ErrSlashableVote with errors.Is.
var (
	// ErrSlashableBlock: a block proposal the record refuses to sign.
	ErrSlashableBlock = errors.New("slashable block")
	// ErrDoubleBlock: a second, different block for a slot already signed.
	ErrDoubleBlock = fmt.Errorf("%w: double proposal", ErrSlashableBlock)
	// ErrBlockBelowWatermark: a block for a slot below the latest signed slot.
	ErrBlockBelowWatermark = fmt.Errorf("%w: slot below the latest signed", ErrSlashableBlock)

	// ErrSlashableVote: a checkpoint vote the record refuses to sign.
	ErrSlashableVote = errors.New("slashable vote")
	// ErrDoubleVote: a second, different vote for a target epoch already voted for.
	ErrDoubleVote = fmt.Errorf("%w: double vote", ErrSlashableVote)
	// ErrSurroundingVote: a vote whose source and target lie strictly around a recorded vote's.
	ErrSurroundingVote = fmt.Errorf("%w: surrounds a recorded vote", ErrSlashableVote)
	// ErrSurroundedVote: a vote whose source and target lie strictly within a recorded vote's.
	ErrSurroundedVote = fmt.Errorf("%w: surrounded by a recorded vote", ErrSlashableVote)
	// ErrVoteBelowWatermark: a vote with a source below the highest recorded source, or a target at or below
	// the highest recorded target, that repeats no kept vote.
	ErrVoteBelowWatermark = fmt.Errorf("%w: below the latest recorded vote", ErrSlashableVote)
)

// Input and file errors.
var (
	// ErrInvalidVote: a vote whose source epoch is after its target epoch.
	ErrInvalidVote = errors.New("invalid vote")
	// ErrDamaged: the record file does not decode; it is left as it is.
	ErrDamaged = errors.New("slashing protection file damaged")
	// ErrLocked: another process (a running node, an import or export) holds the record.
	ErrLocked = errors.New("slashing protection in use by another process")
	// ErrClosed: the DB was closed, or an earlier write failed and its outcome on disk is unknown.
	ErrClosed = errors.New("slashing protection closed")
	// ErrInterchange: an interchange file is not valid EIP-3076 version 5 JSON.
	ErrInterchange = errors.New("bad interchange file")
	// ErrWrongGenesis: an interchange file is for another network.
	ErrWrongGenesis = errors.New("interchange file of another network")
)
