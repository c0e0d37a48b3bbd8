package p2p

import (
	"context"
	"crypto/ed25519"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/posnode/posnode/chain"
)

func TestPeerIDIsChainAddress(t *testing.T) {
	seeds := [][]byte{make([]byte, ed25519.SeedSize), []byte("0123456789abcdef0123456789abcdef")}
	for _, seed := range seeds {
		key := ed25519.NewKeyFromSeed(seed)
		h := newHost(t, Config{Key: key})
		want := chain.AddressOf(key.Public().(ed25519.PublicKey)).String()
		if got := h.ID(); got != want {
			t.Errorf("peer ID: got %s, want %s", got, want)
		}
	}
}

func TestAddrs(t *testing.T) {
	tests := []struct {
		name   string
		listen []string
	}{
		{"loopback tcp", []string{"/ip4/127.0.0.1/tcp/0"}},
		{"wildcard tcp", []string{"/ip4/0.0.0.0/tcp/0"}},
		{"wildcard tcp and quic", []string{"/ip4/0.0.0.0/tcp/0", "/ip4/0.0.0.0/udp/0/quic-v1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHost(t, Config{Listen: tt.listen})
			addrs := h.Addrs()
			if len(addrs) == 0 {
				t.Fatal("got no addresses")
			}
			for _, a := range addrs {
				if !strings.HasSuffix(a, "/p2p/"+h.ID()) {
					t.Errorf("address %s: want suffix /p2p/%s", a, h.ID())
				}
				if strings.Contains(a, "/0.0.0.0/") {
					t.Errorf("address %s: wildcard not expanded", a)
				}
				if _, err := parsePeerAddr(a); err != nil {
					t.Errorf("address %s does not parse: %v", a, err)
				}
			}
		})
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	key := newKey(t)
	tests := []struct {
		name string
		cfg  Config
		want error
	}{
		{"no key", Config{Namespace: testNS}, ErrBadConfig},
		{"short key", Config{Key: key[:32], Namespace: testNS}, ErrBadConfig},
		{"no namespace", Config{Key: key}, ErrBadConfig},
		{"namespace with slash", Config{Key: key, Namespace: "a/b"}, ErrBadConfig},
		{"bad listen", Config{Key: key, Namespace: testNS, Listen: []string{"tcp:4001"}}, ErrBadConfig},
		{"bootstrap without id", Config{Key: key, Namespace: testNS, Bootstrap: []string{"/ip4/127.0.0.1/tcp/1"}}, ErrBadAddr},
		{"bootstrap garbage", Config{Key: key, Namespace: testNS, Bootstrap: []string{"nonsense"}}, ErrBadAddr},
		{"private relay", Config{Key: key, Namespace: testNS, RelayService: true, Reachability: ReachabilityPrivate}, ErrBadConfig},
		{"reachability out of range", Config{Key: key, Namespace: testNS, Reachability: 3}, ErrBadConfig},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, err := New(context.Background(), tt.cfg)
			if err == nil {
				h.Close()
			}
			if !errors.Is(err, tt.want) {
				t.Errorf("got %v, want %v", err, tt.want)
			}
		})
	}
}

func TestQUIC(t *testing.T) {
	quic := []string{"/ip4/127.0.0.1/udp/0/quic-v1"}
	a := newHost(t, Config{Listen: quic})
	b := newHost(t, Config{Listen: quic})
	if err := b.Handle("echo", echo); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.Addrs()[0], "/quic-v1/") {
		t.Fatalf("address %s: want quic-v1", b.Addrs()[0])
	}
	connect(t, a, b)
	got, err := a.Request(testCtx(t), b.ID(), "echo", []byte("over quic"))
	if err != nil || string(got) != "over quic" {
		t.Errorf("got %q, %v; want %q, nil", got, err, "over quic")
	}
}

func TestConnectErrors(t *testing.T) {
	h := newHost(t, Config{})
	tests := []struct {
		name string
		addr string
		want error
	}{
		{"garbage", "not an address", ErrBadAddr},
		{"no peer id", "/ip4/127.0.0.1/tcp/1", ErrBadAddr},
		{"self", h.Addrs()[0], ErrBadAddr},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := h.Connect(testCtx(t), tt.addr); !errors.Is(err, tt.want) {
				t.Errorf("got %v, want %v", err, tt.want)
			}
		})
	}
}

func TestBlock(t *testing.T) {
	a := newHost(t, Config{})
	b := newHost(t, Config{})
	connect(t, a, b)

	if err := a.Block(b.ID()); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "both sides disconnected", func() bool { return !connected(a, b) && !connected(b, a) })
	if err := a.Connect(testCtx(t), b.Addrs()[0]); !errors.Is(err, ErrBlocked) {
		t.Errorf("a dials blocked b: got %v, want %v", err, ErrBlocked)
	}
	if _, err := a.Request(testCtx(t), b.ID(), "echo", nil); !errors.Is(err, ErrBlocked) {
		t.Errorf("a requests from blocked b: got %v, want %v", err, ErrBlocked)
	}
	// b's dial may look successful to b (its handshake completes before a's gater sees b's
	// identity), but a drops the connection before adding it.
	_ = b.Connect(testCtx(t), a.Addrs()[0])
	if connected(a, b) {
		t.Error("a accepted a connection from blocked b")
	}
	waitFor(t, "b to see a refuse it", func() bool { return !connected(b, a) })

	if err := a.Unblock(b.ID()); err != nil {
		t.Fatal(err)
	}
	connect(t, a, b)
}

func TestBlockedBootstrapRedialledAfterUnblock(t *testing.T) {
	b := newHost(t, Config{})
	a := newHost(t, Config{Bootstrap: b.Addrs()})
	waitFor(t, "bootstrap connection", func() bool { return connected(a, b) && connected(b, a) })

	if err := a.Block(b.ID()); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "both sides disconnected", func() bool { return !connected(a, b) && !connected(b, a) })
	if err := a.Unblock(b.ID()); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "bootstrap redial after unblock", func() bool { return connected(a, b) })
}

func TestBadPeerID(t *testing.T) {
	h := newHost(t, Config{})
	if err := h.Block("nobody"); !errors.Is(err, ErrBadPeer) {
		t.Errorf("Block: got %v, want %v", err, ErrBadPeer)
	}
	if _, err := h.Request(testCtx(t), "nobody", "echo", nil); !errors.Is(err, ErrBadPeer) {
		t.Errorf("Request: got %v, want %v", err, ErrBadPeer)
	}
}

func TestPeerEvents(t *testing.T) {
	a := newHost(t, Config{})
	b := newHost(t, Config{})
	connect(t, a, b)
	for _, h := range []struct{ self, other *Host }{{a, b}, {b, a}} {
		select {
		case id := <-h.self.PeerEvents():
			if id != h.other.ID() {
				t.Errorf("peer event: got %s, want %s", id, h.other.ID())
			}
		case <-time.After(waitTimeout):
			t.Errorf("no peer event on %s although connected", h.self.ID())
		}
	}
	if p := a.Peers(); len(p) != 1 || p[0].Direction != "outbound" {
		t.Errorf("a.Peers(): got %+v, want one outbound peer", p)
	}
	if p := b.Peers(); len(p) != 1 || p[0].Direction != "inbound" {
		t.Errorf("b.Peers(): got %+v, want one inbound peer", p)
	}
}

func TestClosedHost(t *testing.T) {
	h := newHost(t, Config{})
	tp, err := h.Join("blocks", nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := h.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case _, ok := <-tp.Messages():
		if ok {
			t.Error("Messages: got a message, want a closed channel")
		}
	case <-time.After(waitTimeout):
		t.Error("Messages not closed by Close")
	}
	if err := tp.Publish(testCtx(t), []byte("x")); !errors.Is(err, ErrClosed) {
		t.Errorf("Publish: got %v, want %v", err, ErrClosed)
	}
	if _, err := h.Join("txs", nil); !errors.Is(err, ErrClosed) {
		t.Errorf("Join: got %v, want %v", err, ErrClosed)
	}
	if err := h.Connect(testCtx(t), "/ip4/127.0.0.1/tcp/1"); !errors.Is(err, ErrClosed) {
		t.Errorf("Connect: got %v, want %v", err, ErrClosed)
	}
	if err := h.Close(); err != nil {
		t.Errorf("second Close: got %v, want nil", err)
	}
}

// TestMDNS needs multicast on the loopback or a shared interface.
func TestMDNS(t *testing.T) {
	wild := []string{"/ip4/0.0.0.0/tcp/0"}
	a := newHost(t, Config{MDNS: true, Listen: wild})
	b := newHost(t, Config{MDNS: true, Listen: wild})
	waitFor(t, "mdns discovery", func() bool { return connected(a, b) || connected(b, a) })
}

func TestMDNSServiceName(t *testing.T) {
	tests := []struct{ ns, want string }{
		{"0123456789abcdef0123", "_pn0123456789ab._udp"},
		{"Test_Net", "_pntest-net._udp"},
	}
	for _, tt := range tests {
		if got := mdnsService(tt.ns); got != tt.want {
			t.Errorf("mdnsService(%q): got %q, want %q", tt.ns, got, tt.want)
		}
	}
}
