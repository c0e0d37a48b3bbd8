package node

import (
	"errors"
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/posnode/posnode/chain"
)

// Write-behind of accepted blocks (PROTOCOL.md §11, "What a crash can lose"). The node's chain.Tree accepts a
// valid block into memory (fork choice, head, states) at once, so that gossip forwards it without waiting for the
// disk. The accepted blocks go to chain.db in one durable write when flushBlocks are queued or flushAfter after
// the first of them was accepted: a chain.FlushJob that a goroutine of its own writes while the event loop goes
// on (a write of 5,000-record blocks and its fsync took the loop for up to hundreds of milliseconds, and the
// slot's proposal and every gossip admission waited behind it). Before the node signs anything, and when it
// stops, the loop waits for that write and stores the rest itself (flush). A failed flush keeps the blocks queued
// and is retried every flushAfter; while it fails the node signs nothing (no block, no vote), says so in its log,
// /api/status and metrics, and accepts further blocks only up to chain.MaxUnflushed.

const (
	// flushBlocks is how many accepted blocks the event loop lets queue before it writes them.
	flushBlocks = 32
	// flushAfter is the longest an accepted block waits in memory for the next flush: what a crash can lose of
	// others' blocks (sync brings them back).
	flushAfter = 100 * time.Millisecond
	// flushLogEvery is how often a flush that keeps failing is logged again.
	flushLogEvery = 10 * time.Second
)

// errNotDurable: the node did not sign because the chain database cannot be written.
var errNotDurable = errors.New("chain database cannot be written; not signing")

// flushState is the event loop's bookkeeping of the write-behind.
type flushState struct {
	armed    bool      // the flush timer runs
	timer    *Timer    // the flush timer, while armed
	err      error     // the last flush's failure; nil once a flush succeeds
	failedAt time.Time // when the current run of failures was last logged
	job      *chain.FlushJob
	jobWhy   string
	done     chan error // the job's result; buffered, one per job
}

// flushMetrics are the write-behind's Prometheus series.
type flushMetrics struct {
	flushes   prometheus.Counter
	failures  prometheus.Counter
	unflushed prometheus.Gauge
}

func (m *metrics) addFlush() *flushMetrics {
	f := &flushMetrics{
		flushes: prometheus.NewCounter(prometheus.CounterOpts{Name: "posnode_block_flushes_total",
			Help: "Writes of accepted blocks to the chain database (one durable transaction each)."}),
		failures: prometheus.NewCounter(prometheus.CounterOpts{Name: "posnode_block_flush_failures_total",
			Help: "Writes of accepted blocks to the chain database that failed; the node signs nothing until one succeeds."}),
		unflushed: prometheus.NewGauge(prometheus.GaugeOpts{Name: "posnode_unflushed_blocks",
			Help: "Accepted blocks not yet written to the chain database."}),
	}
	m.reg.MustRegister(f.flushes, f.failures, f.unflushed)
	return f
}

// scheduleFlush runs after every event of the loop: it starts a background flush when flushBlocks are queued, and
// otherwise arms timer to start one flushAfter after the first block was queued. Called on the event loop.
func (n *Node) scheduleFlush() {
	u := n.tree.Unflushed()
	n.flushMetrics.unflushed.Set(float64(u))
	switch {
	case u == 0:
	case u >= flushBlocks && n.flushing.err == nil:
		n.startFlush("threshold")
	case !n.flushing.armed:
		n.flushing.armed = true
		n.flushing.timer = n.after(flushAfter, func() {
			n.flushing.armed = false
			n.startFlush("timer")
		})
	}
}

// startFlush starts writing the accepted blocks in the background, unless a write is already out; the loop takes
// its result from flushing.done (endFlush). why names the occasion for the log. Called on the event loop.
func (n *Node) startFlush(why string) {
	if n.flushing.job != nil {
		return
	}
	job, err := n.tree.StartFlush()
	if err != nil || job == nil {
		return
	}
	done := make(chan error, 1)
	n.flushing.job, n.flushing.jobWhy, n.flushing.done = job, why, done
	n.background(func() {
		err := job.Write()
		n.log.Debug("flushed accepted blocks", zap.String("on", why), zap.Int("blocks", job.Blocks()), zap.Error(err))
		done <- err
		n.post(func() {
			if n.flushing.job == job { // flush has not taken the result already
				n.endFlush(<-done)
			}
		})
	})
}

// endFlush takes the background write's result and reports whether it stored its blocks. Called on the event
// loop.
func (n *Node) endFlush(err error) bool {
	job := n.flushing.job
	n.flushing.job = nil
	return n.flushed(job.Blocks(), n.flushing.jobWhy, n.tree.EndFlush(job, err))
}

// flush writes the accepted blocks to the chain database and reports whether they are all durable, waiting for a
// background write first; why names the occasion for the log. Called on the event loop.
func (n *Node) flush(why string) bool {
	if n.flushing.job != nil && !n.endFlush(<-n.flushing.done) {
		return false
	}
	u := n.tree.Unflushed()
	if u == 0 {
		return true
	}
	err := n.tree.Flush()
	n.log.Debug("flushed accepted blocks", zap.String("on", why), zap.Int("blocks", u))
	return n.flushed(u, why, err)
}

// flushed records the outcome of a write of u accepted blocks and reports whether it succeeded. A failure is loud:
// logged as an error (again every flushLogEvery while it lasts), counted, and shown in /api/status until a flush
// succeeds. Called on the event loop.
func (n *Node) flushed(u int, why string, err error) bool {
	n.flushMetrics.unflushed.Set(float64(n.tree.Unflushed()))
	if err != nil {
		n.flushMetrics.failures.Inc()
		if n.flushing.err == nil || n.cfg.Now().Sub(n.flushing.failedAt) >= flushLogEvery {
			n.log.Error("could not write accepted blocks to the chain database; not signing until it works",
				zap.String("on", why), zap.Int("blocks", u), zap.Error(err))
			n.flushing.failedAt = n.cfg.Now()
		}
		n.flushing.err = err
		return false
	}
	n.flushMetrics.flushes.Inc()
	if n.flushing.err != nil {
		n.log.Info("chain database writable again; accepted blocks stored", zap.Int("blocks", u))
		n.flushing.err = nil
	}
	n.compactPending()
	return true
}

// durableBeforeSigning flushes before the node signs what; it fails with errNotDurable when the flush fails, so
// that nothing is signed on blocks a crash could take back (PROTOCOL.md §11). Called on the event loop.
func (n *Node) durableBeforeSigning(what string) error {
	if !n.flush("before signing a " + what) {
		return fmt.Errorf("%w: %w", errNotDurable, n.flushing.err)
	}
	return nil
}
