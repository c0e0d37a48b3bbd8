package p2p

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"slices"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	ma "github.com/multiformats/go-multiaddr"
)

// testNS is the namespace of every test host.
const testNS = "test"

// waitTimeout bounds every wait for a network condition.
const waitTimeout = 20 * time.Second

func newKey(t testing.TB) ed25519.PrivateKey {
	t.Helper()
	_, k, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// newHost starts a host on loopback TCP, filling unset fields, and closes it at cleanup.
func newHost(t testing.TB, cfg Config) *Host {
	t.Helper()
	if cfg.Key == nil {
		cfg.Key = newKey(t)
	}
	if cfg.Listen == nil {
		cfg.Listen = []string{"/ip4/127.0.0.1/tcp/0"}
	}
	if cfg.Namespace == "" {
		cfg.Namespace = testNS
	}
	h, err := New(context.Background(), cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() {
		if err := h.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return h
}

func testCtx(t testing.TB) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	t.Cleanup(cancel)
	return ctx
}

// connect dials b from a and waits until both see the connection.
func connect(t testing.TB, a, b *Host) {
	t.Helper()
	if err := a.Connect(testCtx(t), b.Addrs()[0]); err != nil {
		t.Fatalf("connect %s → %s: %v", a.ID(), b.ID(), err)
	}
	waitFor(t, "connection seen by both", func() bool { return connected(a, b) && connected(b, a) })
}

// connected reports whether a holds a connection to b, whether or not b has spoken posnode yet.
func connected(a, b *Host) bool {
	return a.host.Network().Connectedness(b.host.ID()) == network.Connected
}

// listed reports whether a lists b among its peers (peers that speak posnode).
func listed(a, b *Host) bool {
	return slices.ContainsFunc(a.Peers(), func(p Peer) bool { return p.ID == b.ID() })
}

// waitFor polls cond until it holds, failing the test after waitTimeout.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// receive returns the next message on t's channel, failing after waitTimeout.
func receive(tb testing.TB, t *Topic) Message {
	tb.Helper()
	select {
	case m, ok := <-t.Messages():
		if !ok {
			tb.Fatal("messages channel closed")
		}
		return m
	case <-time.After(waitTimeout):
		tb.Fatal("timed out waiting for a message")
	}
	return Message{}
}

func parseAddrs(t testing.TB, ss ...string) []ma.Multiaddr {
	t.Helper()
	var out []ma.Multiaddr
	for _, s := range ss {
		a, err := ma.NewMultiaddr(s)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, a)
	}
	return out
}
