package p2p

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"fmt"
	"time"

	"github.com/libp2p/go-libp2p"
	pubsub "github.com/libp2p/go-libp2p-pubsub"
	pb "github.com/libp2p/go-libp2p-pubsub/pb"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	rcmgr "github.com/libp2p/go-libp2p/p2p/host/resource-manager"
	quic "github.com/libp2p/go-libp2p/p2p/transport/quic"
	"github.com/libp2p/go-libp2p/p2p/transport/tcp"
	ma "github.com/multiformats/go-multiaddr"
	"go.uber.org/zap"
)

// Resource budget of the libp2p resource manager. Fixed rather than scaled from the machine's
// RAM, which inside a container is the host's, not the container's limit.
const (
	rcmgrMemory = 512 << 20
	rcmgrFDs    = 1024
)

// Connection limits of the resource manager (PROTOCOL.md §10): hard caps, above the connection manager's
// watermarks (conns.go) so that a trim, not a refusal, is what meets a crowd of connections.
const (
	// maxInbound is how many inbound connections the host holds at once.
	maxInbound = 256
	// maxConns is how many connections, either way, the host holds at once.
	maxConns = 384
	// maxConnsPerIP is how many connections one IPv4 address, or one IPv6 /56, may hold.
	maxConnsPerIP = 8
	// maxConnsPerSubnet is how many connections one IPv4 /24, or one IPv6 /48, may hold.
	maxConnsPerSubnet = 64
)

// connLimits are the per-address limits; libp2p leaves loopback addresses out of them unless limitLoopback.
func connLimits(limitLoopback bool) []rcmgr.Option {
	opts := []rcmgr.Option{rcmgr.WithLimitPerSubnet(
		[]rcmgr.ConnLimitPerSubnet{{PrefixLength: 32, ConnCount: maxConnsPerIP}, {PrefixLength: 24, ConnCount: maxConnsPerSubnet}},
		[]rcmgr.ConnLimitPerSubnet{{PrefixLength: 56, ConnCount: maxConnsPerIP}, {PrefixLength: 48, ConnCount: maxConnsPerSubnet}},
	)}
	if limitLoopback {
		opts = append(opts, rcmgr.WithNetworkPrefixLimit([]rcmgr.NetworkPrefixLimit{}, []rcmgr.NetworkPrefixLimit{}))
	}
	return opts
}

// newLibp2pHost builds the libp2p host: TCP and QUIC transports, the deny-list gater, a bounded
// resource manager, what a host behind a NAT needs (natOptions, with AutoRelay fed by src); no metrics (the
// node counts what it needs).
func newLibp2pHost(key ed25519.PrivateKey, listen []ma.Multiaddr, g *gater, nat natConfig, src *relaySource, rc *reservationCounter,
	limitLoopback bool) (host.Host, error) {
	sk, err := crypto.UnmarshalEd25519PrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("%w: key: %w", ErrBadConfig, err)
	}
	rm, err := newResourceManager(limitLoopback)
	if err != nil {
		return nil, err
	}
	cm, err := newConnManager()
	if err != nil {
		_ = rm.Close()
		return nil, err
	}
	opts := append([]libp2p.Option{
		libp2p.Identity(sk),
		libp2p.ListenAddrs(listen...),
		libp2p.Transport(tcp.NewTCPTransport),
		libp2p.Transport(quic.NewTransport),
		libp2p.ConnectionGater(g),
		libp2p.ResourceManager(rm),
		libp2p.ConnectionManager(cm),
		libp2p.DisableMetrics(),
		libp2p.UserAgent("posnode"),
	}, natOptions(nat, src, rc)...)
	h, err := libp2p.New(opts...)
	if err != nil {
		_ = rm.Close()
		_ = cm.Close()
		return nil, fmt.Errorf("start libp2p host: %w", err)
	}
	src.set(h)
	return h, nil
}

// newResourceManager scales libp2p's default limits to the fixed budget, with the host's own connection limits.
func newResourceManager(limitLoopback bool) (network.ResourceManager, error) {
	limits := rcmgr.DefaultLimits
	libp2p.SetDefaultServiceLimits(&limits)
	own := rcmgr.PartialLimitConfig{System: rcmgr.ResourceLimits{ConnsInbound: maxInbound, Conns: maxConns}}
	rm, err := rcmgr.NewResourceManager(rcmgr.NewFixedLimiter(own.Build(limits.Scale(rcmgrMemory, rcmgrFDs))),
		connLimits(limitLoopback)...)
	if err != nil {
		return nil, fmt.Errorf("resource manager: %w", err)
	}
	return rm, nil
}

// gossipQueueSize bounds gossipsub's validation queue and each peer's outbound queue (messages, not bytes).
const gossipQueueSize = 4096

// newPubSub starts the gossipsub router: no router signatures and no author (messages carry
// their own), content-addressed IDs, flood publishing, and a scoring that punishes invalid
// messages and the node's own penalties, with snapshots sent to scores (PROTOCOL.md §10).
// Gossipsub's peer exchange on PRUNE is off: the host's own exchange finds peers up to
// exchangeTarget, and PX connected nearly every node to every other once meshes pruned.
func newPubSub(ctx context.Context, h host.Host, log *zap.Logger, pen *penalties, scores chan<- map[peer.ID]float64) (*pubsub.PubSub, error) {
	ps, err := pubsub.NewGossipSub(ctx, h,
		pubsub.WithLogger(libraryLogger(log, pubsubLogger)), // first: later options capture the logger
		pubsub.WithMessageSignaturePolicy(pubsub.StrictNoSign),
		pubsub.WithNoAuthor(),
		pubsub.WithMessageIdFn(messageID),
		pubsub.WithFloodPublish(true),
		pubsub.WithPeerExchange(false),
		pubsub.WithPeerScore(peerScoreParams(pen), peerScoreThresholds()),
		pubsub.WithPeerScoreInspect(pubsub.PeerScoreInspectFn(scoreInspector(scores)), scoreInspectEvery),
		pubsub.WithMaxMessageSize(1<<20),
		// Deeper queues than the default 32: under a load of thousands of transactions a second the defaults
		// dropped a few percent of them silently, and one lost transaction holds back its sender's later ones.
		pubsub.WithValidateQueueSize(gossipQueueSize),
		pubsub.WithPeerOutboundQueueSize(gossipQueueSize),
	)
	if err != nil {
		return nil, fmt.Errorf("start gossipsub: %w", err)
	}
	return ps, nil
}

// messageID is SHA-256(topic ‖ data), so identical payloads dedupe whoever forwards them.
func messageID(m *pb.Message) string {
	h := sha256.New()
	h.Write([]byte(m.GetTopic()))
	h.Write(m.Data)
	return string(h.Sum(nil))
}

// Peer scoring: P4 (invalid messages, i.e. Reject verdicts) and P5 (the node's own penalties,
// Host.Penalize, minus one per point) count. P4 grows with the square of the decayed count: 4
// rejects in a row stop gossip to the peer, 8 stop publishing to it, and 10 graylist it (its
// messages are ignored) and ban it (banScore); the count decays to zero over an hour.
const (
	invalidWeight     = -1.0
	invalidDecayTime  = time.Hour
	gossipThreshold   = -10
	publishThreshold  = -50
	graylistThreshold = banScore
)

func peerScoreParams(pen *penalties) *pubsub.PeerScoreParams {
	return &pubsub.PeerScoreParams{
		SkipAtomicValidation: true,
		Topics:               make(map[string]*pubsub.TopicScoreParams),
		AppSpecificScore:     pen.appScore,
		AppSpecificWeight:    1,
		DecayInterval:        pubsub.DefaultDecayInterval,
		DecayToZero:          pubsub.DefaultDecayToZero,
		RetainScore:          time.Hour, // a peer cannot shed its penalty by reconnecting
	}
}

func peerScoreThresholds() *pubsub.PeerScoreThresholds {
	return &pubsub.PeerScoreThresholds{
		GossipThreshold:   gossipThreshold,
		PublishThreshold:  publishThreshold,
		GraylistThreshold: graylistThreshold,
	}
}

func topicScoreParams() *pubsub.TopicScoreParams {
	return &pubsub.TopicScoreParams{
		SkipAtomicValidation:           true,
		TopicWeight:                    1,
		TimeInMeshQuantum:              time.Second, // unused (weight 0) but must not be zero
		InvalidMessageDeliveriesWeight: invalidWeight,
		InvalidMessageDeliveriesDecay:  pubsub.ScoreParameterDecay(invalidDecayTime),
	}
}
