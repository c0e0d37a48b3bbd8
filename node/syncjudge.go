package node

import (
	"errors"

	"go.uber.org/zap"

	"github.com/posnode/posnode/chain"
	"github.com/posnode/posnode/node/blocksync"
)

// judgeSync logs a failed sync with peer and charges the peer what the failure deserves (blocksync.Penalty); failures that are not
// the peer's fault (our own request limits, our store, a closing connection, a block from a slot our clock has
// not reached) cost nothing.
func (n *Node) judgeSync(peer string, err error) {
	points := blocksync.Penalty(err) // PROTOCOL.md §10
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

// shortPeer abbreviates a peer ID for the prompt.
func shortPeer(id string) string {
	if len(id) > 12 {
		return "…" + id[len(id)-8:]
	}
	return id
}
