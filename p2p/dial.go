package p2p

import (
	"context"
	"math/rand/v2"
	"strings"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/p2p/discovery/mdns"
	"go.uber.org/zap"
)

// Redial timing for bootstrap peers.
const (
	redialCheck = 2 * time.Second // how often a connected bootstrap peer is checked
	backoffMin  = time.Second     // first wait after a failed dial
	backoffMax  = time.Minute     // longest wait between dials
	dialWorkers = 8               // parallel dials to known peers at start
)

// keepConnected dials the bootstrap peer ai whenever it is disconnected and not blocked, backing
// off exponentially (with jitter) while dials fail, until ctx ends. Each failed dial is logged at INFO with the
// addresses tried: a node that cannot reach its bootstrap peers has no other way in, and its operator must see it.
func (h *Host) keepConnected(ctx context.Context, ai peer.AddrInfo) {
	backoff := backoffMin
	failures := 0
	for {
		wait := redialCheck
		if h.needsDial(ai.ID) {
			if err := h.dial(ctx, ai); err != nil {
				if ctx.Err() != nil {
					return
				}
				wait = backoff + rand.N(backoff/2+1)
				backoff = min(2*backoff, backoffMax)
				failures++
				h.log.Info("bootstrap peer unreachable, retrying", zap.String("peer", ai.ID.String()),
					zap.Strings("addrs", addrStrings(ai.Addrs)), zap.Int("attempts", failures),
					zap.Duration("retry_in", wait), zap.Error(err))
			} else {
				failures = 0
				h.log.Info("connected to bootstrap peer", zap.String("peer", ai.ID.String()))
				backoff = backoffMin
			}
		}
		if !sleep(ctx, wait) {
			return
		}
	}
}

// needsDial reports whether p is neither connected nor blocked.
func (h *Host) needsDial(p peer.ID) bool {
	return h.host.Network().Connectedness(p) != network.Connected && !h.gater.blocked(p)
}

// dialAll dials each of infos once, a few at a time, and returns when all dials are done or ctx ends.
func (h *Host) dialAll(ctx context.Context, infos []peer.AddrInfo) {
	var wg sync.WaitGroup
	defer wg.Wait()
	slots := make(chan struct{}, dialWorkers)
	for _, ai := range infos {
		if ai.ID == h.host.ID() || !h.needsDial(ai.ID) {
			continue
		}
		select {
		case slots <- struct{}{}:
		case <-ctx.Done():
			return
		}
		wg.Go(func() {
			defer func() { <-slots }()
			if err := h.dial(ctx, ai); err != nil {
				h.log.Debug("known peer dial failed", zap.String("peer", ai.ID.String()), zap.Error(err))
			}
		})
	}
}

// sleep waits for d or until ctx ends; it reports whether ctx is still live.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// mdnsNotifee hands discovered peers to the host without ever blocking mDNS.
type mdnsNotifee chan peer.AddrInfo

// HandlePeerFound queues ai for dialling, dropping it if the queue is full.
func (n mdnsNotifee) HandlePeerFound(ai peer.AddrInfo) {
	select {
	case n <- ai:
	default:
	}
}

// startMDNS advertises the host on the local network and dials the peers it finds there.
func (h *Host) startMDNS(ctx context.Context, ns string) error {
	found := make(mdnsNotifee, 16)
	svc := mdns.NewMdnsService(h.host, mdnsService(ns), found)
	if err := svc.Start(); err != nil {
		_ = svc.Close()
		return err
	}
	if !h.spawn(func() { h.dialFound(ctx, found, svc) }) {
		_ = svc.Close()
	}
	return nil
}

// dialFound dials peers found by mDNS until ctx ends, then stops the service.
func (h *Host) dialFound(ctx context.Context, found <-chan peer.AddrInfo, svc mdns.Service) {
	defer svc.Close()
	for {
		select {
		case <-ctx.Done():
			return
		case ai := <-found:
			if !h.needsDial(ai.ID) {
				continue
			}
			if err := h.dial(ctx, ai); err != nil {
				h.log.Debug("mdns dial failed", zap.String("peer", ai.ID.String()), zap.Error(err))
			}
		}
	}
}

// mdnsService is the DNS-SD service name of network ns: "_pn" and up to 12 characters of ns
// (service names are at most 15 characters), so different networks do not find each other.
func mdnsService(ns string) string {
	ns = strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			return r
		}
		return '-'
	}, strings.ToLower(ns))
	if len(ns) > 12 {
		ns = ns[:12]
	}
	return "_pn" + ns + "._udp"
}
