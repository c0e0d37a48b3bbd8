package p2p

import (
	"context"
	"errors"
	"fmt"
	"syscall"

	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/transport"
	ma "github.com/multiformats/go-multiaddr"
	manet "github.com/multiformats/go-multiaddr/net"
)

// Errors of listening and probing addresses.
var (
	// ErrAddrInUse: a listen address is held by another process (or another posnode).
	ErrAddrInUse = errors.New("address already in use")
	// ErrDeadAddr: an address given for a peer that is already connected does not answer as that peer.
	ErrDeadAddr = errors.New("address does not answer")
)

// checkListen binds and releases each TCP listen address, so that one held by another process fails the start
// with one line before libp2p starts (libp2p logs such a failure at length). The check binds without
// SO_REUSEPORT, so a port that another posnode shares through libp2p's port reuse counts as taken.
func checkListen(addrs []ma.Multiaddr) error {
	for _, a := range addrs {
		if _, err := a.ValueForProtocol(ma.P_TCP); err != nil {
			continue
		}
		ln, err := manet.Listen(a)
		if errors.Is(err, syscall.EADDRINUSE) {
			return fmt.Errorf("%w: %s", ErrAddrInUse, a)
		}
		if err == nil {
			ln.Close()
		}
	}
	return nil
}

// probe dials each of ai's addresses through its transport, outside the swarm, and returns nil as soon as one
// answers as ai.ID. libp2p itself returns the open connection of a peer already connected without dialling, so
// this is how a user who names a dead address of a connected peer hears that it is dead. The probing
// connection is closed at once.
func (h *Host) probe(ctx context.Context, ai peer.AddrInfo) error {
	sw, ok := h.host.Network().(interface {
		TransportForDialing(ma.Multiaddr) transport.Transport
	})
	if !ok {
		return nil
	}
	var errs []error
	for _, a := range ai.Addrs {
		t := sw.TransportForDialing(a)
		if t == nil {
			errs = append(errs, fmt.Errorf("%s: no transport dials it", a))
			continue
		}
		c, err := t.Dial(ctx, a, ai.ID)
		if err == nil {
			c.Close()
			return nil
		}
		errs = append(errs, fmt.Errorf("%s: %w", a, err))
	}
	if len(errs) == 0 {
		return nil
	}
	return fmt.Errorf("%w: %s is connected, but %w", ErrDeadAddr, ai.ID, errors.Join(errs...))
}
