package node

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/posnode/posnode/p2p"
)

// Issue 18, scenario 6: 160 connections from 13 addresses that never speak posnode hold a bootstrap node's inbound
// connections; a new node bootstrapped to it must still get in and sync. The silent connections are no peers of
// the bootstrap node, and once past their grace the connection manager trims them before the newcomer
// (PROTOCOL.md §10). Loopback addresses are outside the per-address limits, so the whole flood arrives.
func TestSilentFloodLeavesRoomForNewcomer(t *testing.T) {
	const silent, ips = 160, 13
	c := newCluster(t, []uint64{10, 0}, 250*time.Millisecond, time.Second)
	boot := c.start(0)
	waitFor(t, 30*time.Second, "height 8 on the bootstrap node", func() bool { return c.status(0).Height >= 8 })

	before := boot.host.ConnStats()
	held := floodSilent(t, boot.Addrs()[0], silent, ips)
	after := boot.host.ConnStats()
	seen := after.Inbound - before.Inbound
	t.Logf("silent flood: %d dialled from %d addresses, %d accepted; the bootstrap node saw %d inbound, holds %d silent",
		silent, ips, len(held), seen, after.Silent)
	if len(held) < 96 || seen < uint64(len(held)) || after.Silent < len(held) {
		t.Fatalf("the flood did not arrive: %d accepted, %d seen, %d silent held; want at least 96, every inbound slot of the old limits",
			len(held), seen, after.Silent)
	}
	if st := c.status(0); st.Peers != 0 {
		t.Errorf("the bootstrap node counts %d peers with only silent connections open, want 0", st.Peers)
	}

	target := c.status(0).Height
	start := time.Now()
	newcomer := c.start(1, 0)
	waitFor(t, 30*time.Second, "the newcomer to sync", func() bool {
		st := c.status(1)
		return st.Synced && st.Height >= target
	})
	took := time.Since(start)
	t.Logf("newcomer synced to height ≥ %d in %s (target 10 s) under %d silent connections", target, took.Round(time.Millisecond), len(held))
	if st := c.status(0); st.Peers != 1 {
		t.Errorf("the bootstrap node counts %d peers, want 1 (the newcomer; silent connections are no peers)", st.Peers)
	}

	if len(held) != silent {
		t.Fatalf("only %d of %d silent connections were accepted: too few to make the connection manager trim", len(held), silent)
	}
	waitFor(t, 60*time.Second, "silent connections trimmed", func() bool { return boot.host.ConnStats().Silent < len(held) })
	waitFor(t, 10*time.Second, "the trim to reach the silent hosts", func() bool { return open(held) == boot.host.ConnStats().Silent })
	kept := open(held)
	if len(boot.Peers()) != 1 || len(newcomer.Peers()) != 1 {
		t.Errorf("after the trim: bootstrap node peers %v, newcomer peers %v; want each other", boot.Peers(), newcomer.Peers())
	}
	t.Logf("after the trim: %d silent connections held, %d trimmed, the newcomer still a peer; bootstrap node %+v",
		kept, len(held)-kept, boot.host.ConnStats())
}

// floodSilent dials addr from n bare libp2p hosts spread over the loopback addresses 127.0.0.1 … 127.0.0.ips, a few
// at a time, and returns those whose connection was accepted; the hosts close at cleanup.
func floodSilent(t *testing.T, addr string, n, ips int) []*p2p.Bare {
	t.Helper()
	var (
		mu   sync.Mutex
		held []*p2p.Bare
		wg   sync.WaitGroup
	)
	slots := make(chan struct{}, 8)
	for i := range n {
		b, err := p2p.NewBare(fmt.Sprintf("/ip4/127.0.0.%d/tcp/0", 1+i%ips))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = b.Close() })
		slots <- struct{}{}
		wg.Go(func() {
			defer func() { <-slots }()
			if b.Connect(context.Background(), addr) == nil {
				mu.Lock()
				held = append(held, b)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return held
}

// open counts the bare hosts that still hold a connection.
func open(hosts []*p2p.Bare) int {
	n := 0
	for _, b := range hosts {
		if b.Conns() > 0 {
			n++
		}
	}
	return n
}
