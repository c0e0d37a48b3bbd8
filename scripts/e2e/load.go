package main

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// record is one BPM transaction a node accepted (answered 200 with its id).
type record struct {
	id   string
	node int
}

// load keeps submitting BPM records to every node that is not being perturbed, and remembers each accepted one.
type load struct {
	nodes  []*client
	every  time.Duration
	paused []atomic.Bool // a perturbed node gets no submissions

	mu       sync.Mutex // guards records and failures
	records  []record
	failures []int
}

func newLoad(nodes []*client, every time.Duration) *load {
	return &load{nodes: nodes, every: every, paused: make([]atomic.Bool, len(nodes)), failures: make([]int, len(nodes))}
}

// run submits until ctx ends, one goroutine per node, and returns when they have all stopped.
func (l *load) run(ctx context.Context) {
	var wg sync.WaitGroup
	for i := range l.nodes {
		wg.Go(func() { l.feed(ctx, i) })
	}
	wg.Wait()
}

func (l *load) feed(ctx context.Context, i int) {
	tick := time.NewTicker(l.every)
	defer tick.Stop()
	for n := uint64(0); ; n++ {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		if l.paused[i].Load() {
			continue
		}
		// A request of its own: a record is kept only when the node's answer was read in full.
		rctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		id, err := l.nodes[i].submitBPM(rctx, 40+(n*7+uint64(i)*13)%160)
		cancel()
		l.mu.Lock()
		if err != nil {
			l.failures[i]++
		} else {
			l.records = append(l.records, record{id: id, node: i})
		}
		l.mu.Unlock()
	}
}

func (l *load) pause(i int, on bool) { l.paused[i].Store(on) }

// snapshot returns the accepted records and the failed submissions per node.
func (l *load) snapshot() ([]record, []int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]record(nil), l.records...), append([]int(nil), l.failures...)
}
