package p2p

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"testing"
)

// A listen port held by another process fails New with one line that names it, before libp2p starts.
func TestListenInUse(t *testing.T) {
	held, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	port := held.Addr().(*net.TCPAddr).Port
	addr := fmt.Sprintf("/ip4/127.0.0.1/tcp/%d", port)
	_, err = New(context.Background(), Config{Key: newKey(t), Listen: []string{addr}, Namespace: testNS})
	if !errors.Is(err, ErrAddrInUse) || !strings.Contains(err.Error(), addr) || strings.Contains(err.Error(), "\n") {
		t.Errorf("New on a held port: got %v; want one line of %v naming %s", err, ErrAddrInUse, addr)
	}
}

// Connect to a dead address of a peer that is already connected reports the address as dead; a live one of
// the same peer succeeds, and the connection stays.
func TestConnectProbesConnectedPeer(t *testing.T) {
	a := newHost(t, Config{})
	b := newHost(t, Config{})
	connect(t, a, b)
	dead, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	deadAddr := fmt.Sprintf("/ip4/127.0.0.1/tcp/%d/p2p/%s", dead.Addr().(*net.TCPAddr).Port, b.ID())
	dead.Close() // nothing listens there now
	if err := a.Connect(testCtx(t), deadAddr); !errors.Is(err, ErrDeadAddr) {
		t.Errorf("connect to a dead address of connected b: got %v, want %v", err, ErrDeadAddr)
	}
	if err := a.Connect(testCtx(t), b.Addrs()[0]); err != nil {
		t.Errorf("connect to b's live address while connected: %v", err)
	}
	if !connected(a, b) {
		t.Error("probing dropped the connection")
	}
}
