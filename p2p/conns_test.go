package p2p

import (
	"context"
	"fmt"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	manet "github.com/multiformats/go-multiaddr/net"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
)

// newBare starts a bare host on the loopback address ip and closes it at cleanup.
func newBare(t testing.TB, ip string) *Bare {
	t.Helper()
	b, err := NewBare("/ip4/" + ip + "/tcp/0")
	if err != nil {
		t.Fatalf("NewBare: %v", err)
	}
	t.Cleanup(func() { _ = b.Close() })
	return b
}

// flood dials target from n bare hosts spread over the loopback addresses ips, a few at a time, and returns the
// hosts whose connection was accepted.
func flood(t testing.TB, target string, n int, ips []string) []*Bare {
	t.Helper()
	var (
		mu       sync.Mutex
		accepted []*Bare
		wg       sync.WaitGroup
	)
	slots := make(chan struct{}, 8) // below the resource manager's limit of handshakes in progress
	for i := range n {
		b := newBare(t, ips[i%len(ips)])
		slots <- struct{}{}
		wg.Go(func() {
			defer func() { <-slots }()
			if b.Connect(context.Background(), target) == nil {
				mu.Lock()
				accepted = append(accepted, b)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return accepted
}

// loopbacks returns the n addresses 127.0.<subnet>.2 … 127.0.<subnet>.(n+1).
func loopbacks(subnet, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("127.0.%d.%d", subnet, 2+i)
	}
	return out
}

// A connection that never speaks posnode is not a peer: it is not listed, not announced, not handed out by peer
// exchange, and ConnStats counts it as silent; a host that speaks posnode is all of these (PROTOCOL.md §10).
func TestSilentConnectionIsNoPeer(t *testing.T) {
	node := newHost(t, Config{})
	honest := newHost(t, Config{})
	silent := newBare(t, "127.0.0.2")
	if err := silent.Connect(testCtx(t), node.Addrs()[0]); err != nil {
		t.Fatal(err)
	}
	connect(t, honest, node)
	waitFor(t, "the honest host listed by the node", func() bool { return listed(node, honest) })
	select {
	case id := <-node.PeerEvents():
		if id != honest.ID() {
			t.Errorf("peer event for %s, want only the honest host %s", id, honest.ID())
		}
	case <-time.After(waitTimeout):
		t.Fatal("no peer event for the honest host")
	}
	silentID := silent.h.ID()
	if node.host.Network().Connectedness(silentID) != network.Connected {
		t.Fatal("the silent connection did not arrive")
	}
	if got := node.Peers(); len(got) != 1 || got[0].ID != honest.ID() {
		t.Errorf("Peers: got %+v, want only the honest host", got)
	}
	st := node.ConnStats()
	if st.Silent != 1 || st.Open != 2 || st.Inbound != 2 {
		t.Errorf("ConnStats: got %+v, want 2 open, 1 silent, 2 inbound", st)
	}
	waitFor(t, "the silent host's signed record", func() bool { return node.records.get(silentID) != nil })
	resp, err := node.servePeers(context.Background(), "", nil)
	if err != nil {
		t.Fatal(err)
	}
	infos, err := decodePeerRecords(resp)
	if err != nil {
		t.Fatal(err)
	}
	if slices.ContainsFunc(infos, func(ai peer.AddrInfo) bool { return ai.ID == silentID }) {
		t.Error("peer exchange hands out a connection that never spoke posnode")
	}
	select {
	case id := <-node.PeerEvents():
		t.Errorf("peer event for %s: only the honest host speaks posnode", id)
	default:
	}
}

// The per-address limits hold when loopback counts like any address: 12 bare hosts on one address get 8
// connections; 78 on 13 addresses of one /24 (the flood of issue 18) get 64 in all, and then a 14th address of
// that /24 gets none.
func TestConnectionsPerAddressAndSubnetAreLimited(t *testing.T) {
	node := newHost(t, Config{limitLoopback: true, NoPeerExchange: true})
	target := node.Addrs()[0]
	if got := len(flood(t, target, 12, loopbacks(1, 1))); got != maxConnsPerIP {
		t.Errorf("one address holds %d connections, want its limit %d", got, maxConnsPerIP)
	}
	const ips, each = 13, 6
	accepted := flood(t, target, ips*each, loopbacks(2, ips))
	perIP := map[string]int{}
	for _, c := range node.host.Network().Conns() {
		ip, err := manet.ToIP(c.RemoteMultiaddr())
		if err != nil {
			t.Fatal(err)
		}
		perIP[ip.String()]++
	}
	t.Logf("%d of %d connections from %d addresses of one /24 accepted; per address: %v", len(accepted), ips*each, ips, perIP)
	if len(perIP) < ips+1 {
		t.Fatalf("connections arrived from %d addresses, want %d (do dials leave from the bound address?)", len(perIP), ips+1)
	}
	for ip, n := range perIP {
		if n > maxConnsPerIP {
			t.Errorf("%s holds %d connections, limit %d", ip, n, maxConnsPerIP)
		}
	}
	if len(accepted) != maxConnsPerSubnet {
		t.Errorf("the /24 holds %d connections, want its limit %d", len(accepted), maxConnsPerSubnet)
	}
	late := newBare(t, "127.0.2.200")
	if err := late.Connect(testCtx(t), target); err == nil {
		t.Error("a new address of a full /24 was accepted")
	}
}

// A host that cannot reach its bootstrap peer says so at INFO, naming the address it tried, and keeps trying.
func TestUnreachableBootstrapIsLoggedAndRetried(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close() // nobody listens there now
	sk, err := crypto.UnmarshalEd25519PrivateKey(newKey(t))
	if err != nil {
		t.Fatal(err)
	}
	other, err := peer.IDFromPrivateKey(sk)
	if err != nil {
		t.Fatal(err)
	}
	addr := fmt.Sprintf("/ip4/127.0.0.1/tcp/%d", port)
	core, logs := observer.New(zapcore.InfoLevel)
	newHost(t, Config{Bootstrap: []string{addr + "/p2p/" + other.String()}, Logger: zap.New(core)})
	unreachable := func() []observer.LoggedEntry {
		return logs.FilterMessage("bootstrap peer unreachable, retrying").All()
	}
	waitFor(t, "two failed attempts logged", func() bool { return len(unreachable()) >= 2 })
	for i, e := range unreachable()[:2] {
		f := e.ContextMap()
		addrs, _ := f["addrs"].([]any)
		if e.Level != zapcore.InfoLevel || f["peer"] != other.String() || len(addrs) != 1 || addrs[0] != addr {
			t.Errorf("entry %d: level %s, fields %v; want INFO naming peer %s at %s", i, e.Level, f, other, addr)
		}
		if got := f["attempts"]; got != int64(i+1) {
			t.Errorf("entry %d: attempts %v, want %d", i, got, i+1)
		}
		if !strings.Contains(fmt.Sprint(f["error"]), other.String()) {
			t.Errorf("entry %d: error %v does not say what failed", i, f["error"])
		}
	}
}
