package p2p

import (
	"context"
	"fmt"

	"github.com/libp2p/go-libp2p"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/p2p/transport/tcp"
	ma "github.com/multiformats/go-multiaddr"
)

// Bare is a libp2p host that speaks none of posnode's protocols: it dials peers and holds the connections, and
// does nothing else. It stands, in tests and adversary tools, for the peers that take a connection slot and never
// use it (PROTOCOL.md §10). Its identity is a fresh key.
type Bare struct {
	h host.Host
}

// NewBare starts a bare host on the TCP multiaddr listen (e.g. /ip4/127.0.0.5/tcp/0); its dials leave from that
// address. It fails with ErrBadConfig for a malformed address.
func NewBare(listen string) (*Bare, error) {
	a, err := ma.NewMultiaddr(listen)
	if err != nil {
		return nil, fmt.Errorf("%w: listen address %q: %w", ErrBadConfig, listen, err)
	}
	h, err := libp2p.New(
		libp2p.ListenAddrs(a),
		libp2p.Transport(tcp.NewTCPTransport),
		libp2p.ResourceManager(&network.NullResourceManager{}),
		libp2p.DisableRelay(),
		libp2p.DisableMetrics(),
	)
	if err != nil {
		return nil, fmt.Errorf("start bare libp2p host: %w", err)
	}
	return &Bare{h: h}, nil
}

// Connect dials the peer at addr, a multiaddr ending in /p2p/<id>, and keeps the connection open.
func (b *Bare) Connect(ctx context.Context, addr string) error {
	ai, err := parsePeerAddr(addr)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, dialTimeout)
	defer cancel()
	if err := b.h.Connect(ctx, ai); err != nil {
		return fmt.Errorf("connect to %s: %w", ai.ID, err)
	}
	return nil
}

// Conns returns how many connections the host has open.
func (b *Bare) Conns() int { return len(b.h.Network().Conns()) }

// Close closes the host and its connections.
func (b *Bare) Close() error { return b.h.Close() }
