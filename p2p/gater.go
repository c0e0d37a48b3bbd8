package p2p

import (
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/connmgr"
	"github.com/libp2p/go-libp2p/core/control"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"
)

// gater is a libp2p connection gater holding the deny-list (Block, until Unblock) and the bans (Penalize, until
// they expire): a refused peer is refused before dialling and, inbound, as soon as the security handshake
// reveals its ID.
type gater struct {
	mu   sync.Mutex
	deny map[peer.ID]struct{}
	bans map[peer.ID]time.Time // until when
	now  func() time.Time
}

var _ connmgr.ConnectionGater = (*gater)(nil)

func newGater() *gater {
	return &gater{deny: make(map[peer.ID]struct{}), bans: make(map[peer.ID]time.Time), now: time.Now}
}

func (g *gater) block(p peer.ID) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.deny[p] = struct{}{}
}

// unblock lifts both a Block and a ban.
func (g *gater) unblock(p peer.ID) {
	g.mu.Lock()
	defer g.mu.Unlock()
	delete(g.deny, p)
	delete(g.bans, p)
}

// banUntil refuses p until t; it reports false, changing nothing, when p is already banned.
func (g *gater) banUntil(p peer.ID, t time.Time) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	now := g.now()
	if until, ok := g.bans[p]; ok && now.Before(until) {
		return false
	}
	for q, until := range g.bans { // keep the map to the bans in force
		if !now.Before(until) {
			delete(g.bans, q)
		}
	}
	g.bans[p] = t
	return true
}

func (g *gater) blocked(p peer.ID) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if _, ok := g.deny[p]; ok {
		return true
	}
	until, ok := g.bans[p]
	return ok && g.now().Before(until)
}

// InterceptPeerDial refuses to dial a blocked peer.
func (g *gater) InterceptPeerDial(p peer.ID) bool { return !g.blocked(p) }

// InterceptAddrDial refuses to dial any address of a blocked peer.
func (g *gater) InterceptAddrDial(p peer.ID, _ ma.Multiaddr) bool { return !g.blocked(p) }

// InterceptAccept admits every inbound connection: its peer is unknown until the handshake.
func (g *gater) InterceptAccept(network.ConnMultiaddrs) bool { return true }

// InterceptSecured refuses a blocked peer once its identity is authenticated.
func (g *gater) InterceptSecured(_ network.Direction, p peer.ID, _ network.ConnMultiaddrs) bool {
	return !g.blocked(p)
}

// InterceptUpgraded refuses a blocked peer that was blocked during the upgrade.
func (g *gater) InterceptUpgraded(c network.Conn) (bool, control.DisconnectReason) {
	return !g.blocked(c.RemotePeer()), 0
}
