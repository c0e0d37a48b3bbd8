package p2p

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/libp2p/go-libp2p/core/event"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/p2p/host/eventbus"
	ma "github.com/multiformats/go-multiaddr"
	"go.uber.org/zap"
)

// peersFlushInterval throttles writes of the peers file; the last state is written on Close.
const peersFlushInterval = 10 * time.Second

// subscribeEvents subscribes to connection, identification and reachability events.
func (h *Host) subscribeEvents() (event.Subscription, error) {
	sub, err := h.host.EventBus().Subscribe([]any{
		new(event.EvtPeerConnectednessChanged),
		new(event.EvtPeerIdentificationCompleted),
		new(event.EvtLocalReachabilityChanged),
	}, eventbus.BufSize(256), eventbus.Name("posnode-p2p"))
	if err != nil {
		return nil, fmt.Errorf("subscribe to peer events: %w", err)
	}
	return sub, nil
}

// watchPeers owns book: it records connected peers, announces them on PeerEvents and writes the
// peers file at most every peersFlushInterval, and once more when ctx ends.
func (h *Host) watchPeers(ctx context.Context, sub event.Subscription, book *peerBook) {
	defer sub.Close()
	defer book.flush()
	tick := time.NewTicker(peersFlushInterval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			h.forgetBlocked(book)
			return
		case e, ok := <-sub.Out():
			if !ok {
				return
			}
			h.onPeerEvent(e, book)
		case <-tick.C:
			h.forgetBlocked(book)
			book.flush()
		}
	}
}

// onPeerEvent handles one event from the bus.
func (h *Host) onPeerEvent(e any, book *peerBook) {
	switch e := e.(type) {
	case event.EvtPeerConnectednessChanged:
		if e.Connectedness == network.NotConnected {
			h.records.drop(e.Peer)
		}
		if e.Connectedness != network.Connected || h.gater.blocked(e.Peer) {
			return
		}
		h.log.Debug("peer connected", zap.String("peer", e.Peer.String()))
		book.seen(e.Peer, h.outboundAddrs(e.Peer))
	case event.EvtPeerIdentificationCompleted:
		if h.gater.blocked(e.Peer) {
			return
		}
		book.seen(e.Peer, e.ListenAddrs)
		h.onIdentified(e)
	case event.EvtLocalReachabilityChanged:
		h.log.Info("reachability changed", zap.Stringer("reachability", h.Reachability()))
	}
}

// onIdentified keeps the peer's signed record for peer exchange and, if the peer speaks it, queues it to be asked
// for its peers (dropped when the queue is full).
func (h *Host) onIdentified(e event.EvtPeerIdentificationCompleted) {
	if e.SignedPeerRecord != nil {
		h.records.set(e.Peer, e.SignedPeerRecord)
	}
	if !slices.Contains(e.Protocols, protocolID(h.ns, protoPeers)) {
		return
	}
	select {
	case h.identified <- e.Peer:
	default:
	}
}

// outboundAddrs returns the remote addresses of the connections this host dialled to p, which are
// known to work (an inbound connection's remote port is usually not a listening one).
func (h *Host) outboundAddrs(p peer.ID) []ma.Multiaddr {
	var out []ma.Multiaddr
	for _, c := range h.host.Network().ConnsToPeer(p) {
		if c.Stat().Direction == network.DirOutbound {
			out = append(out, c.RemoteMultiaddr())
		}
	}
	return out
}

// forgetBlocked drops deny-listed peers from book before it is written.
func (h *Host) forgetBlocked(book *peerBook) {
	for _, ai := range book.addrInfos() {
		if h.gater.blocked(ai.ID) {
			book.forget(ai.ID)
		}
	}
}
