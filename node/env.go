package node

import (
	"context"
	"time"

	"github.com/posnode/posnode/p2p"
)

// Env is the world a node's logic runs in: its transport, its timers and its background work. The logic — the
// event loop and everything it owns — reaches the world only through these interfaces, so that the same code runs
// in production (Run wires libp2p, the wall clock and goroutines) and under a deterministic simulator (package
// sim/simnet wires virtual time and a simulated network, and drives the node through Start). The clock itself is
// Config.Now.
type Env struct {
	Net     Network
	Runtime Runtime
}

// Runtime runs the node's logic: one closure at a time, never two at once, in the order it chooses. Production's
// is the event loop goroutine (loopRuntime); the simulator's is its event queue under virtual time.
type Runtime interface {
	// Post queues f to run on the loop after what is running now; it never blocks and never runs f inline. Any
	// goroutine may call it.
	Post(f func())
	// After queues f to run on the loop once d has passed on the node's clock (at the next event when d ≤ 0).
	// Stopping the Timer before f runs keeps f from running.
	After(d time.Duration, f func()) *Timer
	// Call runs f on the loop and waits for it: ErrStopped when the loop is not running, ctx's error when ctx is
	// done first. On the loop itself (the simulator's callers) it runs f at once.
	Call(ctx context.Context, f func()) error
	// Background runs work that may block (a disk write) off the loop; in the simulator, at once.
	Background(work func())
}

// Timer is one delayed closure of a Runtime. The loop owns it: Stop and the closure both run on the loop, so a
// stopped Timer's closure never runs, even when its time has come.
type Timer struct {
	stopped bool
	cancel  func() bool // the Runtime's own cancellation, if it has one
}

// Stop keeps the closure from running, if it has not; called on the loop.
func (t *Timer) Stop() {
	if t == nil {
		return
	}
	t.stopped = true
	if t.cancel != nil {
		t.cancel()
	}
}

// SetCancel sets what Stop calls besides keeping the closure from running; Runtimes use it.
func (t *Timer) SetCancel(cancel func() bool) { t.cancel = cancel }

// Guard wraps the closure of t so that it runs only while t is not stopped; Runtimes use it.
func (t *Timer) Guard(f func()) func() {
	return func() {
		if !t.stopped {
			t.stopped = true
			f()
		}
	}
}

// Network is the node's transport (PROTOCOL.md §10): gossip topics, request/response, the connected peers and
// their penalties. Production's is *p2p.Host behind hostNetwork; the simulator's models latency, loss and
// partitions. Its callbacks (validators, handlers, Request's done, peer events) may run on any goroutine: the node
// moves to its loop what must run there.
type Network interface {
	// Join subscribes to a topic: v judges each message before it is delivered or forwarded.
	Join(topic string, v p2p.Validator) (Topic, error)
	// Handle serves a request/response protocol.
	Handle(proto string, h p2p.Handler, opts ...p2p.HandlerOption) error
	// Request sends req to peer and calls done once with the answer or the failure (timeout included), without
	// blocking the caller.
	Request(peer, proto string, req []byte, timeout time.Duration, done func(resp []byte, err error))
	// Peers lists the connected peers.
	Peers() []p2p.Peer
	// Penalize charges a peer points out of p2p.BanPoints and reports whether it is banned now.
	Penalize(peer string, points int, reason string) (bool, error)
	// OnPeer sets what is called with the ID of each newly connected peer.
	OnPeer(f func(peer string))
}

// Topic is a joined gossip topic.
type Topic interface {
	// Publish sends data to the topic's peers without blocking the loop; a message that cannot go is left to
	// sync and re-gossip.
	Publish(data []byte)
	// Peers is how many peers are on the topic now.
	Peers() int
}
