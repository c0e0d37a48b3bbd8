package p2p

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/p2p/net/swarm"
	manet "github.com/multiformats/go-multiaddr/net"
	"go.uber.org/zap"
)

// Peer describes one connected peer.
type Peer struct {
	ID        string // peer ID
	Addr      string // remote multiaddr of the connection
	Direction string // "inbound" or "outbound"
}

// peerEventsBuffer is how many connect notifications wait for the reader before new ones are dropped.
const peerEventsBuffer = 64

// Host is a libp2p node with gossip, request/response and peer management.
// Its methods are safe for concurrent use.
type Host struct {
	host      host.Host
	ps        *pubsub.PubSub
	gater     *gater
	penalties *penalties
	banFor    time.Duration
	log       *zap.Logger
	ns        string
	events    chan string // peers that began to speak posnode; never closed, dropped when full
	conns     connCounter
	scores    chan map[peer.ID]float64 // gossipsub score snapshots for watchScores

	reservations *reservationCounter // relay reservations held by AutoRelay
	records      peerRecords         // signed peer records of connected peers, for peer exchange
	identified   chan peer.ID        // identified peers that speak peer exchange, to ask for theirs

	// life is the host's lifetime (New's ctx until Close), not a request context: stream handlers,
	// which libp2p calls without one, derive their contexts from it.
	life   context.Context
	cancel context.CancelFunc

	mu     sync.Mutex // guards closed and wg.Add against Close
	closed bool
	wg     sync.WaitGroup // every goroutine the host starts, and running stream handlers
}

// New starts a host: it listens, joins gossipsub, dials bootstrap and known peers and, if asked,
// starts mDNS. ctx bounds the host's background work; Close must still be called.
func New(ctx context.Context, cfg Config) (*Host, error) {
	listen, boot, err := cfg.parse()
	if err != nil {
		return nil, err
	}
	if err := checkListen(listen); err != nil {
		return nil, err
	}
	log := cfg.Logger
	if log == nil {
		log = zap.NewNop()
	}
	book := newPeerBook(cfg.PeersFile, log)
	g := newGater()
	rc := newReservationCounter()
	lh, err := newLibp2pHost(cfg.Key, listen, g, natConfig{reachability: cfg.Reachability, relayService: cfg.RelayService},
		newRelaySource(), rc, cfg.limitLoopback)
	if err != nil {
		return nil, err
	}
	life, cancel := context.WithCancel(ctx)
	pen, scores := newPenalties(), make(chan map[peer.ID]float64, 1)
	ps, err := newPubSub(life, lh, log, pen, scores)
	if err != nil {
		cancel()
		_ = lh.Close()
		return nil, err
	}
	h := &Host{host: lh, ps: ps, gater: g, reservations: rc, penalties: pen, banFor: cfg.BanFor, log: log, ns: cfg.Namespace,
		events: make(chan string, peerEventsBuffer), identified: make(chan peer.ID, exchangeQueue), scores: scores,
		life: life, cancel: cancel}
	if h.banFor <= 0 {
		h.banFor = defaultBanFor
	}
	lh.Network().Notify(h.conns.notifiee())
	if err := h.start(life, cfg, boot, book); err != nil {
		_ = h.Close()
		return nil, err
	}
	return h, nil
}

// start launches the host's goroutines.
func (h *Host) start(ctx context.Context, cfg Config, boot []peer.AddrInfo, book *peerBook) error {
	sub, err := h.subscribeEvents()
	if err != nil {
		return err
	}
	known := book.addrInfos() // read before the watcher takes ownership of book
	if err := h.Handle(protoPeers, h.servePeers, exchangeLimits...); err != nil {
		sub.Close()
		return err
	}
	h.spawn(func() { h.watchPeers(ctx, sub, book) })
	h.spawn(func() { h.watchScores(ctx, h.scores) })
	if !cfg.NoPeerExchange {
		h.spawn(func() { h.exchangePeers(ctx) })
	}
	for _, ai := range boot {
		if ai.ID == h.host.ID() {
			continue // a shared bootstrap list may name this host
		}
		h.host.ConnManager().Protect(ai.ID, "bootstrap")
		h.spawn(func() { h.keepConnected(ctx, ai) })
	}
	if len(known) > 0 {
		h.spawn(func() { h.dialAll(ctx, known) })
	}
	if cfg.MDNS {
		return h.startMDNS(ctx, cfg.Namespace)
	}
	return nil
}

// spawn runs fn in a goroutine that Close waits for; it does nothing once the host is closed.
func (h *Host) spawn(fn func()) bool {
	if !h.enter() {
		return false
	}
	go func() {
		defer h.wg.Done()
		fn()
	}()
	return true
}

// enter registers work that Close must wait for; the caller calls h.wg.Done when it ends.
func (h *Host) enter() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return false
	}
	h.wg.Add(1)
	return true
}

// isClosed reports whether Close has been called.
func (h *Host) isClosed() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.closed
}

// Close stops every goroutine the host started, waits for them (the peers file is written on the
// way out), then closes the libp2p host. Closing twice is harmless.
func (h *Host) Close() error {
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return nil
	}
	h.closed = true
	h.mu.Unlock()
	h.cancel()
	h.wg.Wait()
	if err := h.host.Close(); err != nil {
		return fmt.Errorf("close libp2p host: %w", err)
	}
	return nil
}

// ID returns the host's peer ID, which is also its chain.Address text.
func (h *Host) ID() string { return h.host.ID().String() }

// Addrs returns the host's dialable addresses, each ending in /p2p/<id>; a wildcard listen
// address is expanded to the interface addresses.
func (h *Host) Addrs() []string {
	addrs := h.host.Addrs()
	if resolved, err := manet.ResolveUnspecifiedAddresses(addrs, nil); err == nil {
		addrs = resolved
	}
	suffix := "/p2p/" + h.ID()
	out := make([]string, 0, len(addrs))
	for _, a := range addrs {
		if manet.IsIPUnspecified(a) {
			continue
		}
		out = append(out, a.String()+suffix)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// Connect dials the peer at addr, a multiaddr ending in /p2p/<id>. For a peer already connected, it dials addr
// once more outside the swarm and fails with ErrDeadAddr when addr does not answer as that peer.
func (h *Host) Connect(ctx context.Context, addr string) error {
	if h.isClosed() {
		return ErrClosed
	}
	ai, err := parsePeerAddr(addr)
	if err != nil {
		return err
	}
	if ai.ID == h.host.ID() {
		return fmt.Errorf("%w: %q is this host", ErrBadAddr, addr)
	}
	if h.host.Network().Connectedness(ai.ID) == network.Connected && len(ai.Addrs) > 0 {
		ctx, cancel := context.WithTimeout(ctx, dialTimeout)
		defer cancel()
		return h.probe(ctx, ai)
	}
	return h.dial(ctx, ai)
}

// dial connects to ai unless it is blocked, bypassing libp2p's own dial backoff (callers keep theirs). Circuit
// addresses are dialled too: a private peer is reached through its relay.
func (h *Host) dial(ctx context.Context, ai peer.AddrInfo) error {
	if h.gater.blocked(ai.ID) {
		return fmt.Errorf("%w: %s", ErrBlocked, ai.ID)
	}
	ctx, cancel := context.WithTimeout(ctx, dialTimeout)
	defer cancel()
	if sw, ok := h.host.Network().(interface{ Backoff() *swarm.DialBackoff }); ok {
		sw.Backoff().Clear(ai.ID) // network.WithForceDirectDial would skip backoff too, but also circuit addresses
	}
	if err := h.host.Connect(ctx, ai); err != nil {
		return fmt.Errorf("connect to %s: %w", ai.ID, err)
	}
	return nil
}

// Peers lists the connected peers that speak posnode (PROTOCOL.md §10), one entry per peer, sorted by ID; a
// connection whose peer has opened no posnode protocol and joined no posnode topic is not a peer.
func (h *Host) Peers() []Peer {
	var out []Peer
	seen := make(map[peer.ID]bool)
	for _, c := range h.host.Network().Conns() {
		p := c.RemotePeer()
		if seen[p] {
			continue
		}
		seen[p] = true
		if !h.speaksPosnode(p) {
			continue
		}
		out = append(out, Peer{
			ID:        p.String(),
			Addr:      c.RemoteMultiaddr().String(),
			Direction: strings.ToLower(c.Stat().Direction.String()),
		})
	}
	slices.SortFunc(out, func(a, b Peer) int { return strings.Compare(a.ID, b.ID) })
	return out
}

// PeerEvents delivers the IDs of connected peers as they begin to speak posnode, once per connection (see Peers).
// The channel is buffered and never closed; a notification that finds it full is dropped, so readers should also
// poll Peers.
func (h *Host) PeerEvents() <-chan string { return h.events }

// Block puts peer on the deny-list: its connections are closed and new ones, either way, refused.
func (h *Host) Block(peerID string) error {
	p, err := parsePeer(peerID)
	if err != nil {
		return err
	}
	h.gater.block(p)
	if err := h.host.Network().ClosePeer(p); err != nil {
		h.log.Debug("close blocked peer", zap.String("peer", peerID), zap.Error(err))
	}
	h.log.Info("peer blocked", zap.String("peer", peerID))
	return nil
}

// Unblock removes peer from the deny-list and lifts its ban, if any; bootstrap peers are redialled, others
// wait to be dialled.
func (h *Host) Unblock(peerID string) error {
	p, err := parsePeer(peerID)
	if err != nil {
		return err
	}
	h.gater.unblock(p)
	h.log.Info("peer unblocked", zap.String("peer", peerID))
	return nil
}
