package p2p

import (
	"context"
	"math"
	"strconv"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
	"go.uber.org/zap"
)

// Peer penalties (PROTOCOL.md §10). The node reports what a peer did wrong with Penalize; the points decay with
// a half-life, count against the peer in gossipsub's score (P5, application-specific), and at BanPoints the
// peer is disconnected and refused for Config.BanFor. Gossipsub's own score, where Reject verdicts count (P4),
// bans a peer the same way when it falls to banScore.
const (
	// BanPoints is the penalty total at which a peer is banned.
	BanPoints = 100
	// penaltyHalfLife is how fast penalty points fade: an honest peer's rare slip is forgotten, a liar's
	// repeated ones add up.
	penaltyHalfLife = 10 * time.Minute
	// penaltyForget is how long a peer's points are kept after its last offence (they are near zero by then).
	penaltyForget = 2 * time.Hour
	// defaultBanFor is how long a banned peer is refused when Config.BanFor is zero.
	defaultBanFor = 10 * time.Minute
	// banScore is the gossipsub score at or below which a peer is graylisted and banned: ten rejected
	// messages, or BanPoints of the node's own penalties.
	banScore = -BanPoints
	// scoreInspectEvery is how often gossipsub hands over its peer scores.
	scoreInspectEvery = time.Second
)

// penalties holds the decaying penalty points of peers; safe for concurrent use, because gossipsub reads it from
// its own goroutines (AppSpecificScore).
type penalties struct {
	mu    sync.Mutex
	peers map[peer.ID]penalty
	now   func() time.Time
}

type penalty struct {
	points float64   // at time at
	at     time.Time // of the last offence
}

func newPenalties() *penalties {
	return &penalties{peers: make(map[peer.ID]penalty), now: time.Now}
}

// decayed returns the points of pen at time now.
func (pen penalty) decayed(now time.Time) float64 {
	return pen.points * math.Exp2(-float64(now.Sub(pen.at))/float64(penaltyHalfLife))
}

// add adds points to p's total and returns the new total.
func (ps *penalties) add(p peer.ID, points float64) float64 {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	now := ps.now()
	total := ps.peers[p].decayed(now) + points
	ps.peers[p] = penalty{points: total, at: now}
	ps.forgetOld(now)
	return total
}

// points returns p's current total.
func (ps *penalties) points(p peer.ID) float64 {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	pen, ok := ps.peers[p]
	if !ok {
		return 0
	}
	return pen.decayed(ps.now())
}

// forgetOld drops peers whose last offence is older than penaltyForget; called with mu held.
func (ps *penalties) forgetOld(now time.Time) {
	for p, pen := range ps.peers {
		if now.Sub(pen.at) > penaltyForget {
			delete(ps.peers, p)
		}
	}
}

// appScore is gossipsub's application-specific score of p (weight 1): minus its penalty points.
func (ps *penalties) appScore(p peer.ID) float64 { return -ps.points(p) }

// Penalize charges peer points for an offence (reason, for the log) and bans it once its total reaches
// BanPoints. The node's weights: PROTOCOL.md §10. It reports whether the peer is now banned.
func (h *Host) Penalize(peerID string, points int, reason string) (bool, error) {
	p, err := parsePeer(peerID)
	if err != nil {
		return false, err
	}
	return h.penalize(p, float64(points), reason), nil
}

func (h *Host) penalize(p peer.ID, points float64, reason string) bool {
	total := h.penalties.add(p, points)
	h.log.Info("peer penalised", zap.String("peer", p.String()), zap.String("reason", reason),
		zap.Float64("points", points), zap.Float64("total", math.Round(total)))
	if total < BanPoints {
		return false
	}
	h.ban(p, reason)
	return true
}

// PenaltyPoints returns a peer's current (decayed) penalty points.
func (h *Host) PenaltyPoints(peerID string) float64 {
	p, err := parsePeer(peerID)
	if err != nil {
		return 0
	}
	return h.penalties.points(p)
}

// Banned reports whether a peer is refused now, by a ban or by Block.
func (h *Host) Banned(peerID string) bool {
	p, err := parsePeer(peerID)
	return err == nil && h.gater.blocked(p)
}

// ban refuses p for the host's ban time and closes its connections.
func (h *Host) ban(p peer.ID, reason string) {
	if p == h.host.ID() {
		return
	}
	if !h.gater.banUntil(p, time.Now().Add(h.banFor)) {
		return // already banned
	}
	h.log.Warn("peer banned", zap.String("peer", p.String()), zap.String("reason", reason),
		zap.Duration("for", h.banFor))
	if err := h.host.Network().ClosePeer(p); err != nil {
		h.log.Debug("close banned peer", zap.String("peer", p.String()), zap.Error(err))
	}
}

// scoreInspector returns gossipsub's score hook: it hands each snapshot to watchScores without blocking
// gossipsub, dropping it when the last one is still waiting.
func scoreInspector(out chan<- map[peer.ID]float64) func(map[peer.ID]float64) {
	return func(scores map[peer.ID]float64) {
		select {
		case out <- scores:
		default:
		}
	}
}

// watchScores bans every peer whose gossipsub score fell to banScore, until ctx ends.
func (h *Host) watchScores(ctx context.Context, in <-chan map[peer.ID]float64) {
	for {
		select {
		case <-ctx.Done():
			return
		case scores := <-in:
			for p, s := range scores {
				if s <= banScore && !h.gater.blocked(p) {
					h.ban(p, "gossip score "+formatScore(s))
				}
			}
		}
	}
}

func formatScore(s float64) string { return strconv.FormatFloat(s, 'f', 0, 64) }
