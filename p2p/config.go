package p2p

import (
	"crypto/ed25519"
	"fmt"
	"strings"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"
	ma "github.com/multiformats/go-multiaddr"
	"go.uber.org/zap"
)

// Size limits. Gossip messages stay well under gossipsub's 1 MiB RPC limit, because a message near
// that limit is silently dropped by the router.
const (
	// MaxMessageSize is the largest payload Topic.Publish accepts.
	MaxMessageSize = 1<<20 - 16<<10
	// MaxRequestSize is the largest request Host.Request sends or a handler receives.
	MaxRequestSize = 64 << 10
	// MaxResponseSize is the largest response a handler may return, and the most a requester reads.
	MaxResponseSize = 4 << 20
)

// Timing.
const (
	// streamTimeout bounds one request/response exchange, handler included.
	streamTimeout = 10 * time.Second
	// dialTimeout bounds one attempt to connect to a peer.
	dialTimeout = 10 * time.Second
	// validateTimeout bounds one call of a topic Validator; a late verdict counts as Ignore.
	validateTimeout = 5 * time.Second
)

// Config configures a Host.
type Config struct {
	// Key is the node identity; the same key signs blocks, so the peer ID is the text form of
	// chain.AddressOf(Key.Public()).
	Key ed25519.PrivateKey
	// Listen holds multiaddrs to listen on, e.g. /ip4/0.0.0.0/tcp/4001 or
	// /ip4/0.0.0.0/udp/4001/quic-v1. Empty listens on /ip4/0.0.0.0/tcp/0.
	Listen []string
	// Bootstrap holds full multiaddrs ending in /p2p/<id> (/dns4/<name>/… allowed), dialled at
	// start and redialled with backoff whenever disconnected.
	Bootstrap []string
	// MDNS enables discovery of peers on the local network.
	MDNS bool
	// NoPeerExchange stops the host from asking its peers for more peers (PROTOCOL.md §10), so that it connects
	// only to the peers it is given; it still answers such requests.
	NoPeerExchange bool
	// PeersFile is where known peers are kept (JSON) and redialled from at start; "" disables.
	PeersFile string
	// Namespace is the network name (the hex genesis hash); it prefixes every topic and protocol.
	Namespace string
	// Logger receives the host's logs and gossipsub's; nil discards them.
	Logger *zap.Logger
	// Reachability fixes whether the host is reachable by direct dials (PROTOCOL.md §10); ReachabilityUnknown,
	// the default, lets AutoNAT decide, which it does only for public IP addresses. A private host keeps
	// reservations with relays among its peers and advertises their circuit addresses.
	Reachability Reachability
	// RelayService runs the circuit relay v2 service for private peers, with the limits of relayResources, and
	// makes the host count itself public; it is for hosts that peers can dial directly.
	RelayService bool
	// BanFor is how long a peer banned for its penalties (Host.Penalize) or its gossip score is refused;
	// zero means 10 minutes.
	BanFor time.Duration

	// limitLoopback applies the per-address connection limits to loopback addresses too, which libp2p leaves
	// out of them; tests set it to see the limits at work on one machine.
	limitLoopback bool
}

// topicName returns the gossipsub topic of name in the network ns (PROTOCOL.md §10).
func topicName(ns, name string) string { return "/posnode/" + ns + "/" + name }

// protocolID returns the stream protocol of name in the network ns (PROTOCOL.md §10).
func protocolID(ns, name string) protocol.ID {
	return protocol.ID("/posnode/" + ns + "/" + name + "/1")
}

// checkName rejects names that would break the topic or protocol layout.
func checkName(name string) error {
	if name == "" || strings.ContainsAny(name, "/ \t\r\n") {
		return fmt.Errorf("%w: %q", ErrBadName, name)
	}
	return nil
}

// check validates the fields New cannot default.
func (c *Config) check() error {
	if len(c.Key) != ed25519.PrivateKeySize {
		return fmt.Errorf("%w: key has %d bytes, want %d", ErrBadConfig, len(c.Key), ed25519.PrivateKeySize)
	}
	if err := checkName(c.Namespace); err != nil {
		return fmt.Errorf("%w: namespace: %w", ErrBadConfig, err)
	}
	if c.Reachability < ReachabilityUnknown || c.Reachability > ReachabilityPrivate {
		return fmt.Errorf("%w: reachability %d", ErrBadConfig, c.Reachability)
	}
	if c.RelayService && c.Reachability == ReachabilityPrivate {
		return fmt.Errorf("%w: a relay service must be reachable, but reachability is private", ErrBadConfig)
	}
	return nil
}

// parse checks the config and parses its listen and bootstrap addresses.
func (c *Config) parse() ([]ma.Multiaddr, []peer.AddrInfo, error) {
	if err := c.check(); err != nil {
		return nil, nil, err
	}
	listen, err := c.listenAddrs()
	if err != nil {
		return nil, nil, err
	}
	boot, err := parseBootstrap(c.Bootstrap)
	if err != nil {
		return nil, nil, err
	}
	return listen, boot, nil
}

// listenAddrs parses the listen multiaddrs, defaulting to an ephemeral TCP port on all interfaces.
func (c *Config) listenAddrs() ([]ma.Multiaddr, error) {
	if len(c.Listen) == 0 {
		return []ma.Multiaddr{ma.StringCast("/ip4/0.0.0.0/tcp/0")}, nil
	}
	out := make([]ma.Multiaddr, 0, len(c.Listen))
	for _, s := range c.Listen {
		a, err := ma.NewMultiaddr(s)
		if err != nil {
			return nil, fmt.Errorf("%w: listen address %q: %w", ErrBadConfig, s, err)
		}
		out = append(out, a)
	}
	return out, nil
}

// parsePeerAddr parses a multiaddr ending in /p2p/<id>.
func parsePeerAddr(s string) (peer.AddrInfo, error) {
	a, err := ma.NewMultiaddr(s)
	if err != nil {
		return peer.AddrInfo{}, fmt.Errorf("%w: %q: %w", ErrBadAddr, s, err)
	}
	ai, err := peer.AddrInfoFromP2pAddr(a)
	if err != nil {
		return peer.AddrInfo{}, fmt.Errorf("%w: %q: %w", ErrBadAddr, s, err)
	}
	return *ai, nil
}

// parseBootstrap parses the bootstrap addresses, merging several addresses of one peer.
func parseBootstrap(addrs []string) ([]peer.AddrInfo, error) {
	var out []peer.AddrInfo
	index := make(map[peer.ID]int)
	for _, s := range addrs {
		ai, err := parsePeerAddr(s)
		if err != nil {
			return nil, err
		}
		if i, ok := index[ai.ID]; ok {
			out[i].Addrs = append(out[i].Addrs, ai.Addrs...)
			continue
		}
		index[ai.ID] = len(out)
		out = append(out, ai)
	}
	return out, nil
}

// parsePeer decodes a peer ID string.
func parsePeer(s string) (peer.ID, error) {
	id, err := peer.Decode(s)
	if err != nil {
		return "", fmt.Errorf("%w: %q: %w", ErrBadPeer, s, err)
	}
	return id, nil
}
