package p2p

import (
	"context"
	"fmt"
	"slices"
	"sync/atomic"
	"time"

	"github.com/libp2p/go-libp2p"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/p2p/host/autorelay"
	circuit "github.com/libp2p/go-libp2p/p2p/protocol/circuitv2/proto"
	relayv2 "github.com/libp2p/go-libp2p/p2p/protocol/circuitv2/relay"
	ma "github.com/multiformats/go-multiaddr"
	"github.com/prometheus/client_golang/prometheus"
)

// Reachability is whether other peers can dial this host directly (PROTOCOL.md §10). The values are libp2p's
// and the posnode_reachability metric's: 0 unknown, 1 public, 2 private.
type Reachability int

const (
	// ReachabilityUnknown: AutoNAT has no verdict yet. As a Config value it means "let AutoNAT decide".
	ReachabilityUnknown Reachability = iota
	// ReachabilityPublic: peers can dial the host's own addresses.
	ReachabilityPublic
	// ReachabilityPrivate: the host is behind a NAT or firewall; peers reach it through a relay.
	ReachabilityPrivate
)

// String returns "unknown", "public" or "private".
func (r Reachability) String() string {
	switch r {
	case ReachabilityPublic:
		return "public"
	case ReachabilityPrivate:
		return "private"
	default:
		return "unknown"
	}
}

// ParseReachability reads a Config.Reachability: "auto" (or "") lets AutoNAT decide, "public" and "private" fix it.
func ParseReachability(s string) (Reachability, error) {
	switch s {
	case "", "auto":
		return ReachabilityUnknown, nil
	case "public":
		return ReachabilityPublic, nil
	case "private":
		return ReachabilityPrivate, nil
	}
	return 0, fmt.Errorf("%w: reachability %q: want auto, public or private", ErrBadConfig, s)
}

// Relay service limits (Config.RelayService, PROTOCOL.md §10). Circuits carry no data or time limit, so gossip and
// sync run over them as over a direct connection (a limited circuit, libp2p's default of 128 KiB or 2 minutes,
// would be refused by gossipsub and cut sync); what bounds a relay's cost is how many peers and circuits it serves.
// The resource manager bounds the relay's streams on top: 384 in all at this node's budget, 64 per peer.
const (
	relayMaxReservations = 64              // peers holding a reservation at once
	relayMaxPerIP        = 8               // reservations from one IP address
	relayMaxPerASN       = 32              // reservations from one autonomous system
	relayMaxCircuits     = 16              // open circuits per peer, as source or as destination
	relayBufferSize      = 4 << 10         // copy buffer per circuit direction, bytes
	relayReservationTTL  = time.Hour       // a reservation lasts this long unless refreshed (AutoRelay refreshes it)
	relayPollEvery       = 2 * time.Second // how often relayCandidates looks for connected relays while it has none
	relayBackoff         = time.Minute     // how long AutoRelay leaves a relay that refused a reservation
	relaysWanted         = 2               // reservations a private host keeps
)

// relayResources are the limits of the relay service.
func relayResources() relayv2.Resources {
	return relayv2.Resources{
		Limit:                 nil, // unlimited circuits: see the constants above
		ReservationTTL:        relayReservationTTL,
		MaxReservations:       relayMaxReservations,
		MaxCircuits:           relayMaxCircuits,
		BufferSize:            relayBufferSize,
		MaxReservationsPerIP:  relayMaxPerIP,
		MaxReservationsPerASN: relayMaxPerASN,
	}
}

// natOptions are the libp2p options for hosts behind a NAT and the relays that serve them: the circuit relay v2
// transport, AutoNAT v1 (client and a rate-limited service, which set the host's reachability) and v2 (per
// address), hole punching (DCUtR), AutoRelay fed by src, and, when asked, the relay service. A relay service
// asserts that the host is reachable, so it forces reachability public: AutoNAT only judges public IP addresses
// and would leave a relay on a private or test network switched off.
func natOptions(cfg natConfig, src *relaySource, rc *reservationCounter) []libp2p.Option {
	opts := []libp2p.Option{
		libp2p.EnableRelay(),
		libp2p.EnableNATService(),
		libp2p.EnableAutoNATv2(),
		libp2p.EnableHolePunching(),
		libp2p.EnableAutoRelayWithPeerSource(src.candidates,
			autorelay.WithMinCandidates(1), // a relay among the peers is enough: do not wait for four
			autorelay.WithNumRelays(relaysWanted),
			autorelay.WithBackoff(relayBackoff),
			autorelay.WithMetricsTracer(rc)),
	}
	reach := cfg.reachability
	if cfg.relayService {
		opts = append(opts, libp2p.EnableRelayService(relayv2.WithResources(relayResources())))
		reach = ReachabilityPublic
	}
	switch reach {
	case ReachabilityPublic:
		opts = append(opts, libp2p.ForceReachabilityPublic())
	case ReachabilityPrivate:
		opts = append(opts, libp2p.ForceReachabilityPrivate())
	}
	return opts
}

// natConfig is the part of Config that natOptions reads.
type natConfig struct {
	reachability Reachability
	relayService bool
}

// relaySource is AutoRelay's peer source: the connected peers that offer the relay service (identify lists the
// circuit v2 hop protocol), whether they came from the bootstrap list, peer exchange or mDNS. It is made before
// the libp2p host, which may ask it for candidates while it is being built, and set once the host exists.
type relaySource struct {
	ready chan struct{} // closed by set
	host  host.Host
}

func newRelaySource() *relaySource { return &relaySource{ready: make(chan struct{})} }

// set hands the built host to the source; called once.
func (rs *relaySource) set(h host.Host) {
	rs.host = h
	close(rs.ready)
}

// candidates implements autorelay.PeerSource: it sends up to num connected relays and closes the channel,
// waiting (polling every relayPollEvery) until there is at least one. AutoRelay does not ask again before the
// channel is closed, and cancels ctx when it has enough relays or stops, which ends the goroutine.
func (rs *relaySource) candidates(ctx context.Context, num int) <-chan peer.AddrInfo {
	out := make(chan peer.AddrInfo, max(num, 0))
	go func() {
		defer close(out)
		select {
		case <-rs.ready:
		case <-ctx.Done():
			return
		}
		for {
			if found := rs.connectedRelays(num); len(found) > 0 {
				for _, ai := range found {
					out <- ai // buffered for num
				}
				return
			}
			if !sleep(ctx, relayPollEvery) {
				return
			}
		}
	}()
	return out
}

// connectedRelays returns up to num peers connected directly that speak the circuit v2 hop protocol.
func (rs *relaySource) connectedRelays(num int) []peer.AddrInfo {
	var out []peer.AddrInfo
	for _, p := range rs.host.Network().Peers() {
		if len(out) >= num {
			break
		}
		if protos, err := rs.host.Peerstore().SupportsProtocols(p, circuit.ProtoIDv2Hop); err != nil || len(protos) == 0 {
			continue
		}
		if !slices.ContainsFunc(rs.host.Network().ConnsToPeer(p), isDirect) {
			continue // a relay reached through a relay cannot relay for us
		}
		out = append(out, rs.host.Peerstore().PeerInfo(p))
	}
	return out
}

// isDirect reports whether c is not a relayed connection.
func isDirect(c network.Conn) bool { return !isRelayed(c.RemoteMultiaddr()) }

// isRelayed reports whether a is a circuit address.
func isRelayed(a ma.Multiaddr) bool {
	_, err := a.ValueForProtocol(ma.P_CIRCUIT)
	return err == nil
}

// reservationCounter counts the relay reservations AutoRelay holds, from the callbacks it makes to its metrics
// tracer (AutoRelay has no other way to ask): a new reservation ends a request that is not a refresh without
// error; ReservationOpened and ReservationEnded carry the reservations kept or lost when the relay finder starts
// or stops, and each one lost. The embedded tracer is the library's own, on a registry nobody reads, for the
// callbacks not counted here. Its circuit addresses are no measure: AutoRelay advertises circuits only through
// relays with public IP addresses.
type reservationCounter struct {
	autorelay.MetricsTracer
	n atomic.Int64
}

func newReservationCounter() *reservationCounter {
	return &reservationCounter{MetricsTracer: autorelay.NewMetricsTracer(autorelay.WithRegisterer(prometheus.NewRegistry()))}
}

func (c *reservationCounter) ReservationOpened(cnt int) {
	c.n.Add(int64(cnt))
	c.MetricsTracer.ReservationOpened(cnt)
}

func (c *reservationCounter) ReservationEnded(cnt int) {
	c.n.Add(-int64(cnt))
	c.MetricsTracer.ReservationEnded(cnt)
}

func (c *reservationCounter) ReservationRequestFinished(isRefresh bool, err error) {
	if !isRefresh && err == nil {
		c.n.Add(1)
	}
	c.MetricsTracer.ReservationRequestFinished(isRefresh, err)
}

// count returns the reservations held now.
func (c *reservationCounter) count() int { return int(max(c.n.Load(), 0)) }

// Reachability reports whether peers can dial this host directly, as AutoNAT (or Config.Reachability) says.
func (h *Host) Reachability() Reachability {
	r, ok := h.host.(interface{ Reachability() network.Reachability })
	if !ok {
		return ReachabilityUnknown
	}
	switch r.Reachability() {
	case network.ReachabilityPublic:
		return ReachabilityPublic
	case network.ReachabilityPrivate:
		return ReachabilityPrivate
	}
	return ReachabilityUnknown
}

// RelayReservations returns how many relays hold a reservation for this host: none unless the host is private
// (or of unknown reachability) and a connected peer runs the relay service.
func (h *Host) RelayReservations() int { return h.reservations.count() }
