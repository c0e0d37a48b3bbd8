package blocksync

import (
	"errors"

	"github.com/posnode/posnode/chain"
	"github.com/posnode/posnode/p2p"
)

// Sync failures a peer is to blame for, or not (PROTOCOL.md §10, §12).
var (
	// ErrUndelivered: the peer claimed a better head but delivered nothing new (an empty answer below the height
	// it claimed, or a whole sync without a new block).
	ErrUndelivered = errors.New("peer did not deliver the head it claimed")
	// ErrForeignChain: the peer's chain does not join ours, not even at genesis.
	ErrForeignChain = errors.New("peer's chain does not join ours")
	// ErrConflictingFinality: a peer served or relayed blocks, signed by a validator accountable on our branch, of
	// a branch that conflicts with our finalized checkpoint. Such a peer may be honest — on the other side of a
	// partition in which both sides finalized — so it is not penalised; its blocks are read for evidence
	// (PROTOCOL.md §8b) and dropped, and sync leaves the peer alone for a while.
	ErrConflictingFinality = errors.New("blocks of a branch that conflicts with our finalized checkpoint")
)

// Penalty points of sync offences (PROTOCOL.md §10), out of p2p.BanPoints: within a few minutes, two invalid
// answers or four claims not delivered ban a peer; the points halve every ten minutes. A request left to expire
// costs nothing: a peer that is paused, partitioned or slow looks exactly like that, and banning it for ten
// minutes would keep it from catching up once it is back (the docker e2e's pause and disconnect showed it).
// A peer that claims a better head and then never answers only costs the time of its requests: sync moves on
// to other peers, and a stalled sync holds proposing back for at most a slot.
const (
	PenaltyInvalid     = 60 // an answer that does not decode, does not match the request, or holds invalid blocks
	PenaltyUndelivered = 30 // a better head claimed and not delivered
)

// Penalty returns the penalty points a sync failure err costs the peer that answered (PROTOCOL.md §10): 0 for
// failures that are not the peer's fault (our own request limits, our store, a closing connection, an expired
// request, a pruned answer, a block from a slot our clock has not reached, a branch off our finalized checkpoint);
// PenaltyInvalid for an answer that does not decode or match its request (ErrBadMessage, ErrBadRange), a chain
// that does not join ours (ErrForeignChain), a bad anchor or backfill (chain.ErrBadAnchor, chain.ErrBadBackfill)
// or a block proved invalid; PenaltyUndelivered for ErrUndelivered.
func Penalty(err error) int {
	switch {
	case errors.Is(err, p2p.ErrRateLimited), errors.Is(err, chain.ErrFutureSlot), errors.Is(err, ErrConflictingFinality):
		return 0
	case errors.Is(err, ErrBadMessage), errors.Is(err, ErrBadRange), errors.Is(err, ErrForeignChain),
		errors.Is(err, chain.ErrBadAnchor), errors.Is(err, chain.ErrBadBackfill), invalidBlock(err):
		return PenaltyInvalid
	case errors.Is(err, ErrUndelivered):
		return PenaltyUndelivered
	default: // an expired request among them (see the penalties' comment)
		return 0
	}
}

// blockFaults are the chain errors that prove a block invalid, whoever looks at it (PROTOCOL.md §4, §7, §8, §8a,
// §8b). A block off the finalized checkpoint counts: no honest node serves one.
var blockFaults = []error{chain.ErrMalformed, chain.ErrBadVersion, chain.ErrTooManyTxs, chain.ErrInvalidTx,
	chain.ErrInvalidBlock, chain.ErrBadTxRoot, chain.ErrDuplicateTx, chain.ErrBadSignature, chain.ErrBadNonce,
	chain.ErrFeeTooLow, chain.ErrInsufficientBalance, chain.ErrInsufficientStake, chain.ErrUnknownAccount,
	chain.ErrOverflow, chain.ErrWrongParent, chain.ErrBadHeight, chain.ErrSlotNotAfterParent,
	chain.ErrWrongProposer, chain.ErrBadStateRoot, chain.ErrBadVRFProof, chain.ErrBadMix, chain.ErrInvalidVote,
	chain.ErrInvalidEvidence, chain.ErrVoteTarget, chain.ErrVoteNotValidator, chain.ErrDuplicateVote,
	chain.ErrAlreadySlashed, chain.ErrNothingToSlash, chain.ErrSlashed,
	chain.ErrConflictsFinalized, chain.ErrConflictsCheckpoint}

// invalidBlock reports whether err proves a block invalid.
func invalidBlock(err error) bool {
	for _, f := range blockFaults {
		if errors.Is(err, f) {
			return true
		}
	}
	return false
}
