package p2p

import (
	"errors"
	"strings"
	"testing"

	"github.com/libp2p/go-libp2p/p2p/net/swarm"
	ma "github.com/multiformats/go-multiaddr"
)

// natNet is a relay, a private host behind a simulated NAT that holds a reservation with the relay, and a
// dialer that reached the private host through the relay circuit.
type natNet struct {
	relay, private, dialer *Host
	direct                 string // the private host's direct address, closed by the NAT
}

// newNATNet starts the three hosts. The NAT is simulated by closing the private host's listeners once it has
// dialled the relay: its outbound connection stays up, and nothing can dial it directly any more.
func newNATNet(t *testing.T) *natNet {
	t.Helper()
	n := &natNet{relay: newHost(t, Config{RelayService: true, NoPeerExchange: true})}
	n.private = newHost(t, Config{Reachability: ReachabilityPrivate, Bootstrap: n.relay.Addrs(), NoPeerExchange: true})
	n.direct = n.private.Addrs()[0]
	waitFor(t, "the private host to connect to the relay", func() bool { return connected(n.private, n.relay) })
	closeListeners(t, n.private)
	waitFor(t, "a reservation with the relay", func() bool { return n.private.RelayReservations() == 1 })
	n.dialer = newHost(t, Config{NoPeerExchange: true})
	if err := n.dialer.Connect(testCtx(t), n.direct); err == nil {
		t.Fatalf("a direct dial to %s succeeded; the NAT should refuse it", n.direct)
	}
	if err := n.dialer.Connect(testCtx(t), n.circuit()); err != nil {
		t.Fatalf("dial through the relay: %v", err)
	}
	waitFor(t, "the relayed connection seen by both", func() bool {
		return connected(n.dialer, n.private) && connected(n.private, n.dialer)
	})
	return n
}

// closeListeners stops h accepting connections, as a NAT without port forwarding does.
func closeListeners(t *testing.T, h *Host) {
	t.Helper()
	sw, ok := h.host.Network().(*swarm.Swarm)
	if !ok {
		t.Fatalf("network is a %T, not a swarm", h.host.Network())
	}
	var direct []ma.Multiaddr
	for _, a := range sw.ListenAddresses() {
		if !isRelayed(a) {
			direct = append(direct, a)
		}
	}
	sw.ListenClose(direct...)
}

// circuit returns the private host's address through the relay. AutoRelay advertises such addresses only for
// relays with public IP addresses, so on loopback the test spells it out, as a peer told the relay would.
func (n *natNet) circuit() string {
	return n.relay.Addrs()[0] + "/p2p-circuit/p2p/" + n.private.ID()
}

// peerAddr returns the remote address of a's connection to b.
func peerAddr(a, b *Host) string {
	for _, c := range a.host.Network().ConnsToPeer(b.host.ID()) {
		return c.RemoteMultiaddr().String()
	}
	return ""
}

func TestRelayedConnectionCarriesGossipAndRequests(t *testing.T) {
	n := newNATNet(t)
	if got := peerAddr(n.dialer, n.private); !strings.Contains(got, "/p2p/"+n.relay.ID()+"/p2p-circuit") {
		t.Fatalf("dialer's connection to the private host is at %q, want a circuit through the relay", got)
	}
	if got, want := n.private.Reachability(), ReachabilityPrivate; got != want {
		t.Errorf("private host's reachability: got %s, want %s", got, want)
	}
	if got, want := n.relay.Reachability(), ReachabilityPublic; got != want {
		t.Errorf("relay's reachability: got %s, want %s", got, want)
	}
	if got := n.relay.RelayReservations(); got != 0 {
		t.Errorf("relay holds %d reservations, want none", got)
	}

	// The relay joins no topic, so gossip between the two can only travel on the circuit.
	pt, err := n.private.Join("blocks", nil)
	if err != nil {
		t.Fatal(err)
	}
	dt, err := n.dialer.Join("blocks", nil)
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "topic peers over the circuit", func() bool { return pt.Peers() == 1 && dt.Peers() == 1 })
	if m := publishUntil(t, pt, "from-private", dt); !strings.HasPrefix(string(m.Data), "from-private") || m.From != n.private.ID() {
		t.Errorf("dialer got %q from %s, want from-private-… from %s", m.Data, m.From, n.private.ID())
	}
	if m := publishUntil(t, dt, "from-dialer", pt); !strings.HasPrefix(string(m.Data), "from-dialer") || m.From != n.dialer.ID() {
		t.Errorf("private host got %q from %s, want from-dialer-… from %s", m.Data, m.From, n.dialer.ID())
	}

	for _, pair := range [][2]*Host{{n.dialer, n.private}, {n.private, n.dialer}} {
		from, to := pair[0], pair[1]
		if err := to.Handle("echo", echo); err != nil {
			t.Fatal(err)
		}
		req := []byte("range request from " + from.ID())
		resp, err := from.Request(testCtx(t), to.ID(), "echo", req)
		if err != nil || string(resp) != string(req) {
			t.Errorf("request %s → %s over the circuit: got %q, %v; want %q", from.ID(), to.ID(), resp, err, req)
		}
	}
}

func TestBanOverRelaySparesTheRelay(t *testing.T) {
	n := newNATNet(t)
	if banned, err := n.private.Penalize(n.dialer.ID(), BanPoints, "test"); err != nil || !banned {
		t.Fatalf("Penalize: banned %v, %v; want a ban", banned, err)
	}
	waitFor(t, "the banned dialer's circuit to close", func() bool {
		return !connected(n.private, n.dialer) && !connected(n.dialer, n.private)
	})
	// The dialer's redial may look successful to it (its handshake completes before the private host's gater
	// sees its identity), but the private host drops the circuit before adding it.
	_ = n.dialer.Connect(testCtx(t), n.circuit())
	if connected(n.private, n.dialer) {
		t.Error("the private host accepted a circuit from the peer it banned")
	}
	waitFor(t, "the dialer to see the private host refuse it", func() bool { return !connected(n.dialer, n.private) })
	if n.private.Banned(n.relay.ID()) || !connected(n.private, n.relay) {
		t.Errorf("relay banned %v, connected %v; want the relay untouched by a ban of a peer it carried",
			n.private.Banned(n.relay.ID()), connected(n.private, n.relay))
	}
	if got := n.private.RelayReservations(); got != 1 {
		t.Errorf("reservations after the ban: got %d, want 1", got)
	}
	// Another peer still reaches the private host through the same relay.
	other := newHost(t, Config{NoPeerExchange: true})
	if err := other.Connect(testCtx(t), n.circuit()); err != nil {
		t.Fatalf("a second peer's dial through the relay: %v", err)
	}
	waitFor(t, "the second peer's circuit", func() bool { return connected(n.private, other) && connected(other, n.private) })
}

func TestParseReachability(t *testing.T) {
	tests := []struct {
		in   string
		want Reachability
		err  error
	}{
		{"", ReachabilityUnknown, nil},
		{"auto", ReachabilityUnknown, nil},
		{"public", ReachabilityPublic, nil},
		{"private", ReachabilityPrivate, nil},
		{"Public", 0, ErrBadConfig},
		{"nat", 0, ErrBadConfig},
	}
	for _, tt := range tests {
		got, err := ParseReachability(tt.in)
		if got != tt.want || !errors.Is(err, tt.err) {
			t.Errorf("ParseReachability(%q): got %s, %v; want %s, %v", tt.in, got, err, tt.want, tt.err)
		}
	}
}
