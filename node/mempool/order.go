package mempool

import (
	"context"
	"sync"
	"time"

	"github.com/posnode/posnode/chain"
)

// maxOrderWait bounds how long a gossiped batch waits for the batches of the same senders that arrived before it
// to reach the mempool first.
const maxOrderWait = time.Second

// Order admits the gossiped batches of one sender in the order they arrived, though they are validated
// concurrently (PROTOCOL.md §10). A sender's batches are published in nonce order, and one whose signatures are
// checked faster than the one ahead of it would otherwise reach the mempool first, where all but a few of its
// transactions would be refused for the gap (maxSenderWaiting) and not forwarded. A batch registers on arrival,
// before its signatures are checked, and waits, after they are, until every earlier batch of one of its senders
// has left: each waits only for earlier ones, so none waits forever, and never longer than maxOrderWait. A forged
// batch delays its successors by its own signature check at most, and is rejected. It has its own lock: the
// validators run on gossip's goroutines, not on the event loop.
type Order struct {
	mu   sync.Mutex
	last map[chain.Address]*Ticket // the latest batch of each sender still in validation
}

// Ticket is one batch in validation.
type Ticket struct {
	senders []chain.Address
	after   []*Ticket     // the batches of its senders that arrived before it and were in validation then
	done    chan struct{} // closed when it leaves
}

// NewOrder returns an Order with no batch in validation.
func NewOrder() *Order { return &Order{last: map[chain.Address]*Ticket{}} }

// enter registers a batch of txs as arrived; the caller must leave it once the mempool has seen it (or it was
// refused).
func (o *Order) Enter(txs []chain.Tx) *Ticket {
	t := &Ticket{done: make(chan struct{})}
	o.mu.Lock()
	defer o.mu.Unlock()
	for i := range txs {
		from := txs[i].From
		prev, ok := o.last[from]
		if ok && prev == t {
			continue
		}
		if ok {
			t.after = append(t.after, prev)
		}
		o.last[from] = t
		t.senders = append(t.senders, from)
	}
	return t
}

// wait blocks until every batch t must follow has left, maxOrderWait has passed or ctx is done.
func (o *Order) Wait(ctx context.Context, t *Ticket) {
	if len(t.after) == 0 {
		return
	}
	timer := time.NewTimer(maxOrderWait)
	defer timer.Stop()
	for _, prev := range t.after {
		select {
		case <-prev.done:
		case <-timer.C:
			return
		case <-ctx.Done():
			return
		}
	}
}

// leave ends t's validation: the batches that wait for it may go on.
func (o *Order) Leave(t *Ticket) {
	o.mu.Lock()
	for _, from := range t.senders {
		if o.last[from] == t {
			delete(o.last, from)
		}
	}
	o.mu.Unlock()
	t.after = nil
	close(t.done)
}
