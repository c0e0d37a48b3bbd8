package p2p

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/p2p/net/connmgr"
	ma "github.com/multiformats/go-multiaddr"
	"go.uber.org/zap"
)

// The connection budget (PROTOCOL.md §10). A connection's peer "speaks posnode" once it has opened a stream of a
// posnode protocol that this host served, answered one of this host's requests, or subscribed to a posnode topic
// this host joined; the host then tags it in libp2p's connection manager. Whenever the host holds connHigh
// connections or more, the connection manager closes connections down to connLow, lowest value first: the peers
// that never spoke posnode (value 0) go before any that did, and peers in their first silentGrace are spared.
// The resource manager refuses inbound connections past maxInbound, far enough above connLow that a newcomer
// finds room however many silent connections were open before the last trim.
const (
	// connLow is how many connections a trim leaves.
	connLow = 128
	// connHigh is how many connections start a trim.
	connHigh = 160
	// silentGrace is how long a new peer has to speak posnode before its connections may be trimmed.
	silentGrace = 10 * time.Second
	// trimEvery is how often the connection manager checks whether to trim.
	trimEvery = 2 * time.Second
	// posnodeTag is the connection-manager tag of peers that speak posnode, worth posnodeValue; gossipsub adds
	// its own tags to its mesh peers.
	posnodeTag   = "posnode"
	posnodeValue = 100
)

// newConnManager returns the connection manager that trims silent peers first (PROTOCOL.md §10).
func newConnManager() (*connmgr.BasicConnMgr, error) {
	cm, err := connmgr.NewConnManager(connLow, connHigh, connmgr.WithGracePeriod(silentGrace),
		connmgr.WithSilencePeriod(trimEvery))
	if err != nil {
		return nil, fmt.Errorf("connection manager: %w", err)
	}
	return cm, nil
}

// markPosnode records that p speaks posnode: its connections are tagged so that trims spare them before silent
// ones, it counts in Peers from now on, and PeerEvents announces it the first time during its connection.
func (h *Host) markPosnode(p peer.ID) {
	if p == h.host.ID() {
		return
	}
	fresh := false
	h.host.ConnManager().UpsertTag(p, posnodeTag, func(old int) int {
		fresh = old == 0
		return posnodeValue
	})
	if !fresh || h.host.Network().Connectedness(p) != network.Connected || h.gater.blocked(p) {
		return
	}
	h.log.Debug("peer speaks posnode", zap.String("peer", p.String()))
	select {
	case h.events <- p.String():
	default:
	}
}

// speaksPosnode reports whether p has spoken posnode since it connected.
func (h *Host) speaksPosnode(p peer.ID) bool {
	info := h.host.ConnManager().GetTagInfo(p)
	return info != nil && info.Tags[posnodeTag] > 0
}

// posnodePeers returns the connected peers that speak posnode.
func (h *Host) posnodePeers() []peer.ID {
	var out []peer.ID
	for _, p := range h.host.Network().Peers() {
		if h.speaksPosnode(p) {
			out = append(out, p)
		}
	}
	return out
}

// watchTopicPeers marks the peers subscribed to t as speaking posnode, until ctx ends.
func (h *Host) watchTopicPeers(ctx context.Context, t *pubsub.Topic) {
	eh, err := t.EventHandler()
	if err != nil {
		return // the topic is closed: the host is closing
	}
	defer eh.Cancel()
	for {
		ev, err := eh.NextPeerEvent(ctx)
		if err != nil {
			return
		}
		if ev.Type == pubsub.PeerJoin {
			h.markPosnode(ev.Peer)
		}
	}
}

// ConnStats counts a host's connections (PROTOCOL.md §10).
type ConnStats struct {
	Open     int    // connections open now
	Silent   int    // of which to peers that have not spoken posnode
	Inbound  uint64 // inbound connections accepted since the host started
	Outbound uint64 // outbound connections made since the host started
}

// connCounter counts the connections the swarm opens; libp2p calls it from its own goroutines.
type connCounter struct {
	inbound, outbound atomic.Uint64
}

func (c *connCounter) notifiee() network.Notifiee {
	return &network.NotifyBundle{ConnectedF: func(_ network.Network, conn network.Conn) {
		if conn.Stat().Direction == network.DirInbound {
			c.inbound.Add(1)
		} else {
			c.outbound.Add(1)
		}
	}}
}

// ConnStats returns the host's connection counts.
func (h *Host) ConnStats() ConnStats {
	st := ConnStats{Inbound: h.conns.inbound.Load(), Outbound: h.conns.outbound.Load()}
	for _, c := range h.host.Network().Conns() {
		st.Open++
		if !h.speaksPosnode(c.RemotePeer()) {
			st.Silent++
		}
	}
	return st
}

// addrStrings returns the text forms of addrs.
func addrStrings(addrs []ma.Multiaddr) []string {
	out := make([]string, len(addrs))
	for i, a := range addrs {
		out[i] = a.String()
	}
	return out
}
