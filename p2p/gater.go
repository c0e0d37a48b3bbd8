package p2p

import (
	"sync"

	"github.com/libp2p/go-libp2p/core/connmgr"
	"github.com/libp2p/go-libp2p/core/control"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"
)

// gater is a libp2p connection gater holding the deny-list: a blocked peer is refused before
// dialling and, inbound, as soon as the security handshake reveals its ID.
type gater struct {
	mu   sync.RWMutex
	deny map[peer.ID]struct{}
}

var _ connmgr.ConnectionGater = (*gater)(nil)

func newGater() *gater { return &gater{deny: make(map[peer.ID]struct{})} }

func (g *gater) block(p peer.ID) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.deny[p] = struct{}{}
}

func (g *gater) unblock(p peer.ID) {
	g.mu.Lock()
	defer g.mu.Unlock()
	delete(g.deny, p)
}

func (g *gater) blocked(p peer.ID) bool {
	g.mu.RLock()
	defer g.mu.RUnlock()
	_, ok := g.deny[p]
	return ok
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
