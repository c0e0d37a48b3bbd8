package node

import (
	"errors"

	"go.uber.org/zap"

	"github.com/posnode/posnode/chain"
	"github.com/posnode/posnode/p2p"
)

// Sync failures a peer is to blame for.
var (
	// errUndelivered: the peer claimed a better head but delivered nothing new (an empty answer below the height
	// it claimed, or a whole sync without a new block).
	errUndelivered = errors.New("peer did not deliver the head it claimed")
	// errForeignChain: the peer's chain does not join ours, not even at genesis.
	errForeignChain = errors.New("peer's chain does not join ours")
)

// Penalty points of sync offences (PROTOCOL.md §10), out of p2p.BanPoints: within a few minutes, two invalid
// answers or four claims not delivered ban a peer; the points halve every ten minutes. A request left to expire
// costs nothing: a peer that is paused, partitioned or slow looks exactly like that, and banning it for ten
// minutes would keep it from catching up once it is back (the docker e2e's pause and disconnect showed it).
// A peer that claims a better head and then never answers only costs the time of its requests: sync moves on
// to other peers, and a stalled sync holds proposing back for at most a slot.
const (
	penaltyInvalid     = 60 // an answer that does not decode, does not match the request, or holds invalid blocks
	penaltyUndelivered = 30 // a better head claimed and not delivered
)

// judgeSync logs a failed sync with peer and charges the peer what the failure deserves; failures that are not
// the peer's fault (our own request limits, our store, a closing connection, a block from a slot our clock has
// not reached) cost nothing.
func (n *Node) judgeSync(peer string, err error) {
	points := syncPenalty(err)
	if points == 0 {
		n.log.Debug("sync failed", zap.String("peer", peer), zap.Error(err))
		return
	}
	if errors.Is(err, chain.ErrConflictsCheckpoint) { // PROTOCOL.md §12
		n.log.Warn("refused a peer's chain: it does not contain the trusted checkpoint", zap.String("peer", peer),
			zap.Int("points", points), zap.Error(err))
	} else {
		n.log.Info("sync peer misbehaved", zap.String("peer", peer), zap.Int("points", points), zap.Error(err))
	}
	n.metrics.syncPenalties.Inc()
	if banned, perr := n.net.Penalize(peer, points, "sync: "+err.Error()); perr == nil && banned {
		n.announce("peer %s banned for its sync answers: %v", shortPeer(peer), err)
	}
}

// syncPenalty returns the penalty points of a sync failure.
func syncPenalty(err error) int {
	switch {
	case errors.Is(err, p2p.ErrRateLimited), errors.Is(err, chain.ErrFutureSlot), errors.Is(err, errConflictingFinality):
		return 0
	case errors.Is(err, ErrBadSyncMessage), errors.Is(err, ErrBadRange), errors.Is(err, errForeignChain),
		errors.Is(err, chain.ErrBadAnchor), errors.Is(err, chain.ErrBadBackfill), invalidBlock(err):
		return penaltyInvalid
	case errors.Is(err, errUndelivered):
		return penaltyUndelivered
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

// shortPeer abbreviates a peer ID for the prompt.
func shortPeer(id string) string {
	if len(id) > 12 {
		return "…" + id[len(id)-8:]
	}
	return id
}
