package p2p

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

// recorder is a Validator that remembers what it saw and rejects payloads with a given prefix.
type recorder struct {
	reject string
	mu     sync.Mutex
	seen   []string
}

func (r *recorder) validate(_ context.Context, _ string, data []byte) Verdict {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.seen = append(r.seen, string(data))
	if r.reject != "" && strings.HasPrefix(string(data), r.reject) {
		return Reject
	}
	return Accept
}

func (r *recorder) saw(prefix string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, s := range r.seen {
		if strings.HasPrefix(s, prefix) {
			return true
		}
	}
	return false
}

// line starts hosts a–b–c, connected a–b and b–c only, each joined to topic "blocks".
type line struct {
	hosts  [3]*Host
	topics [3]*Topic
	vals   [3]*recorder
}

func newLine(t *testing.T, rejectAtB string) *line {
	t.Helper()
	var l line
	for i := range l.hosts {
		l.hosts[i] = newHost(t, Config{NoPeerExchange: true}) // a and c must not meet
		l.vals[i] = &recorder{}
		if i == 1 {
			l.vals[i].reject = rejectAtB
		}
		tp, err := l.hosts[i].Join("blocks", l.vals[i].validate)
		if err != nil {
			t.Fatal(err)
		}
		l.topics[i] = tp
	}
	connect(t, l.hosts[0], l.hosts[1])
	connect(t, l.hosts[1], l.hosts[2])
	waitFor(t, "topic peers", func() bool {
		return l.topics[0].Peers() == 1 && l.topics[1].Peers() == 2 && l.topics[2].Peers() == 1
	})
	return &l
}

// publishUntil publishes prefix-0, prefix-1, … from tp (distinct payloads, since identical ones
// are deduplicated) until got returns a message, and returns it.
func publishUntil(t *testing.T, tp *Topic, prefix string, got *Topic) Message {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for i := 0; time.Now().Before(deadline); i++ {
		if err := tp.Publish(testCtx(t), fmt.Appendf(nil, "%s-%d", prefix, i)); err != nil {
			t.Fatal(err)
		}
		select {
		case m := <-got.Messages():
			return m
		case <-time.After(200 * time.Millisecond):
		}
	}
	t.Fatalf("no %s message arrived", prefix)
	return Message{}
}

func TestGossipAcrossLine(t *testing.T) {
	l := newLine(t, "")
	b := l.hosts[1]

	m := publishUntil(t, l.topics[0], "from-a", l.topics[2])
	if !strings.HasPrefix(string(m.Data), "from-a") || m.From != b.ID() {
		t.Errorf("c got %q from %s, want from-a-… forwarded by b %s", m.Data, m.From, b.ID())
	}
	if l.vals[0].saw("from-a") {
		t.Error("a's validator was called on a's own publish")
	}

	// a's own publishes went into its subscription before c's reply can arrive, so the first
	// message on a's channel shows whether they were filtered out.
	m = publishUntil(t, l.topics[2], "from-c", l.topics[0])
	if !strings.HasPrefix(string(m.Data), "from-c") || m.From != b.ID() {
		t.Errorf("a got %q from %s, want from-c-… forwarded by b; own publishes must not be delivered", m.Data, m.From)
	}
}

func TestRejectStopsPropagation(t *testing.T) {
	l := newLine(t, "bad")
	a, c := l.topics[0], l.topics[2]

	if err := a.Publish(testCtx(t), []byte("bad-block")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "b to judge the bad message", func() bool { return l.vals[1].saw("bad") })
	m := publishUntil(t, a, "good", c)
	if !strings.HasPrefix(string(m.Data), "good") {
		t.Errorf("c got %q, want a good-… message", m.Data)
	}
	if l.vals[2].saw("bad") {
		t.Error("a message rejected by b reached c")
	}
	for len(l.topics[1].Messages()) > 0 {
		if m := <-l.topics[1].Messages(); strings.HasPrefix(string(m.Data), "bad") {
			t.Error("b delivered a message its validator rejected")
		}
	}
}

func TestPublishLimits(t *testing.T) {
	h := newHost(t, Config{})
	tp, err := h.Join("blocks", nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := tp.Publish(testCtx(t), make([]byte, MaxMessageSize+1)); !errors.Is(err, ErrTooLarge) {
		t.Errorf("oversized publish: got %v, want %v", err, ErrTooLarge)
	}
	if err := tp.Publish(testCtx(t), make([]byte, MaxMessageSize)); !errors.Is(err, ErrNoPeers) {
		t.Errorf("largest publish with nobody on the topic: got %v, want %v", err, ErrNoPeers)
	}
	for _, name := range []string{"", "a/b", "with space"} {
		if _, err := h.Join(name, nil); !errors.Is(err, ErrBadName) {
			t.Errorf("Join(%q): got %v, want %v", name, err, ErrBadName)
		}
	}
	if _, err := h.Join("blocks", nil); err == nil {
		t.Error("joining a topic twice: got nil error")
	}
}

// A publish refused for want of peers marks nothing as seen: the same bytes go out once a peer subscribes.
func TestRetryAfterNoPeers(t *testing.T) {
	a, b := newHost(t, Config{}), newHost(t, Config{})
	ta, err := a.Join("txs", nil)
	if err != nil {
		t.Fatal(err)
	}
	msg := []byte("a record published too early")
	if err := ta.Publish(testCtx(t), msg); !errors.Is(err, ErrNoPeers) {
		t.Fatalf("publish alone: got %v, want %v", err, ErrNoPeers)
	}
	tb, err := b.Join("txs", nil)
	if err != nil {
		t.Fatal(err)
	}
	connect(t, a, b)
	waitFor(t, "b on a's topic", func() bool { return ta.Peers() > 0 })
	if err := ta.Publish(testCtx(t), msg); err != nil {
		t.Fatalf("retry: %v", err)
	}
	if got := receive(t, tb); string(got.Data) != string(msg) {
		t.Errorf("got %q, want %q", got.Data, msg)
	}
}

func TestLargestMessageDelivered(t *testing.T) {
	a := newHost(t, Config{})
	b := newHost(t, Config{})
	ta, err := a.Join("blocks", nil)
	if err != nil {
		t.Fatal(err)
	}
	tb, err := b.Join("blocks", nil)
	if err != nil {
		t.Fatal(err)
	}
	connect(t, a, b)
	waitFor(t, "topic peers", func() bool { return ta.Peers() == 1 && tb.Peers() == 1 })
	big := make([]byte, MaxMessageSize)
	deadline := time.Now().Add(waitTimeout)
	for i := 0; time.Now().Before(deadline); i++ {
		big[0] = byte(i) // distinct payloads
		if err := ta.Publish(testCtx(t), big); err != nil {
			t.Fatal(err)
		}
		select {
		case m := <-tb.Messages():
			if len(m.Data) != MaxMessageSize {
				t.Errorf("got %d bytes, want %d", len(m.Data), MaxMessageSize)
			}
			return
		case <-time.After(200 * time.Millisecond):
		}
	}
	t.Fatal("largest message never arrived")
}
