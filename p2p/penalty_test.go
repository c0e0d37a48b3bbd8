package p2p

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
)

func TestPenaltiesDecay(t *testing.T) {
	ps := newPenalties()
	now := time.Unix(1000, 0)
	ps.now = func() time.Time { return now }
	p := peer.ID("x")
	if got := ps.add(p, 40); got != 40 {
		t.Fatalf("first offence: got %v points, want 40", got)
	}
	now = now.Add(penaltyHalfLife)
	if got := ps.points(p); math.Abs(got-20) > 1e-9 {
		t.Errorf("one half-life later: got %v points, want 20", got)
	}
	if got := ps.add(p, 30); math.Abs(got-50) > 1e-9 {
		t.Errorf("second offence: got %v points, want 50", got)
	}
	if got := ps.appScore(p); math.Abs(got+50) > 1e-9 {
		t.Errorf("gossipsub app score: got %v, want -50", got)
	}
	now = now.Add(penaltyForget + time.Second)
	ps.add(peer.ID("y"), 1)
	if _, kept := ps.peers[p]; kept {
		t.Error("a peer idle for longer than penaltyForget is still tracked")
	}
}

func TestBanExpires(t *testing.T) {
	g := newGater()
	now := time.Unix(1000, 0)
	g.now = func() time.Time { return now }
	p := peer.ID("x")
	if !g.banUntil(p, now.Add(time.Minute)) || !g.blocked(p) {
		t.Fatal("a fresh ban does not block")
	}
	if g.banUntil(p, now.Add(time.Hour)) {
		t.Error("banning a banned peer again: got true, want false")
	}
	now = now.Add(time.Minute)
	if g.blocked(p) {
		t.Error("ban still in force after it expired")
	}
	g.banUntil(p, now.Add(time.Minute))
	g.unblock(p)
	if g.blocked(p) {
		t.Error("Unblock did not lift the ban")
	}
}

// A peer penalised to BanPoints is disconnected and refused both ways until the ban ends.
func TestPenalizeBans(t *testing.T) {
	a := newHost(t, Config{BanFor: 2 * time.Second})
	b := newHost(t, Config{})
	connect(t, a, b)
	banned, err := a.Penalize(b.ID(), BanPoints/2, "test offence")
	if err != nil || banned {
		t.Fatalf("half the ban points: got banned %v, %v; want false, nil", banned, err)
	}
	if !connected(a, b) {
		t.Fatal("a peer below the ban points was disconnected")
	}
	if banned, _ := a.Penalize(b.ID(), BanPoints/2+1, "test offence"); !banned {
		t.Fatal("a peer at the ban points was not banned")
	}
	waitFor(t, "both sides disconnected", func() bool { return !connected(a, b) && !connected(b, a) })
	if err := a.Connect(testCtx(t), b.Addrs()[0]); !errors.Is(err, ErrBlocked) {
		t.Errorf("a dials banned b: got %v, want %v", err, ErrBlocked)
	}
	_ = b.Connect(testCtx(t), a.Addrs()[0])
	if connected(a, b) {
		t.Error("a accepted a connection from banned b")
	}
	if _, err := a.Penalize("not a peer", 1, "x"); !errors.Is(err, ErrBadPeer) {
		t.Errorf("bad peer id: got %v, want %v", err, ErrBadPeer)
	}
	waitFor(t, "the ban to end", func() bool { return !a.Banned(b.ID()) })
	connect(t, a, b)
}

// A peer whose gossip a validator keeps rejecting falls to banScore in gossipsub's score and is banned.
func TestRejectedGossipBansSender(t *testing.T) {
	a := newHost(t, Config{})
	b := newHost(t, Config{})
	ta, err := a.Join("blocks", nil)
	if err != nil {
		t.Fatal(err)
	}
	rec := &recorder{reject: "bad"}
	if _, err := b.Join("blocks", rec.validate); err != nil {
		t.Fatal(err)
	}
	connect(t, a, b)
	waitFor(t, "topic peers", func() bool { return ta.Peers() == 1 })
	sent := 0
	deadline := time.Now().Add(waitTimeout)
	for !b.Banned(a.ID()) {
		if time.Now().After(deadline) {
			t.Fatalf("a was not banned after %d rejected messages", sent)
		}
		if connected(a, b) && ta.Publish(testCtx(t), fmt.Appendf(nil, "bad-%d", sent)) == nil {
			sent++
		}
		time.Sleep(50 * time.Millisecond)
	}
	waitFor(t, "b to drop a", func() bool { return !connected(b, a) })
	t.Logf("banned after %d rejected messages", sent)
	if sent < 10 {
		t.Errorf("banned after %d rejected messages, want ≥ 10 (gossip score %d)", sent, banScore)
	}
}

// A peer over a protocol's request limit is answered ErrRateLimited without the handler running, and penalised.
func TestRateLimit(t *testing.T) {
	a := newHost(t, Config{})
	b := newHost(t, Config{})
	calls := 0
	if err := b.Handle("echo", func(_ context.Context, _ string, req []byte) ([]byte, error) {
		calls++
		return req, nil
	}, RateLimit(0.001, 3)); err != nil {
		t.Fatal(err)
	}
	connect(t, a, b)
	for i := range 5 {
		_, err := a.Request(testCtx(t), b.ID(), "echo", []byte("x"))
		switch {
		case i < 3 && err != nil:
			t.Fatalf("request %d within the burst: %v", i, err)
		case i >= 3 && !errors.Is(err, ErrRateLimited):
			t.Fatalf("request %d over the limit: got %v, want %v", i, err, ErrRateLimited)
		}
	}
	if calls != 3 {
		t.Errorf("handler ran %d times, want 3", calls)
	}
	if got := b.PenaltyPoints(a.ID()); got < 2*rateLimitPoints-0.1 {
		t.Errorf("penalty of a hammering peer: got %.1f points, want ≈ %d", got, 2*rateLimitPoints)
	}
}

// A peer that drew more response bytes than its budget is refused until it has paid the debt back.
func TestByteRate(t *testing.T) {
	a := newHost(t, Config{})
	b := newHost(t, Config{})
	big := strings.Repeat("x", MaxResponseSize)
	if err := b.Handle("big", func(context.Context, string, []byte) ([]byte, error) { return []byte(big), nil },
		ByteRate(1, MaxResponseSize)); err != nil {
		t.Fatal(err)
	}
	connect(t, a, b)
	if _, err := a.Request(testCtx(t), b.ID(), "big", nil); err != nil {
		t.Fatalf("first request: %v", err)
	}
	if _, err := a.Request(testCtx(t), b.ID(), "big", nil); err != nil {
		t.Fatalf("second request (spends the budget into debt): %v", err)
	}
	if _, err := a.Request(testCtx(t), b.ID(), "big", nil); !errors.Is(err, ErrRateLimited) {
		t.Errorf("request in debt: got %v, want %v", err, ErrRateLimited)
	}
}
