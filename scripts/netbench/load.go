package main

import (
	"context"
	"crypto/ed25519"
	"sync"
	"sync/atomic"
	"time"

	"github.com/posnode/posnode/chain"
)

// plannedTx is a signed record and when it is due, relative to the start of the load.
type plannedTx struct {
	tx  chain.Tx
	id  chain.Hash
	due time.Duration
}

// loadPlan is a stream of BPM records at a fixed rate, signed in advance so that signing costs the load nothing
// while it runs: record i is due at i/rate seconds and sent by account i mod len(keys), with consecutive nonces.
type loadPlan struct {
	perSender [][]plannedTx
}

func newLoadPlan(chainID chain.Hash, keys []ed25519.PrivateKey, nonces []chain.Nonce, fee chain.Amount, rate int, d time.Duration) *loadPlan {
	total := int(int64(rate) * int64(d) / int64(time.Second))
	p := &loadPlan{perSender: make([][]plannedTx, len(keys))}
	for s := range keys {
		p.perSender[s] = make([]plannedTx, 0, total/len(keys)+1)
	}
	for i := range total {
		s := i % len(keys)
		p.perSender[s] = append(p.perSender[s], plannedTx{due: time.Duration(int64(i) * int64(time.Second) / int64(rate))})
	}
	var wg sync.WaitGroup
	for s, key := range keys {
		from := chain.AddressOf(key.Public().(ed25519.PublicKey))
		wg.Go(func() {
			for k := range p.perSender[s] {
				pt := &p.perSender[s][k]
				pt.tx = chain.NewTx(chain.TxBPM, from, nonces[s]+chain.Nonce(k), chain.Address{}, uint64(60+k%120), fee)
				pt.tx.Sign(chainID, key)
				pt.id = pt.tx.ID()
			}
		})
	}
	wg.Wait()
	return p
}

// submitFunc hands a batch of records of one sender to a node, as a client of its batch API would, and returns
// each record's error; retry reports whether an error is worth trying again (a full mempool).
type submitFunc func(ctx context.Context, sender int, txs []chain.Tx) []submitErr

// submitErr is one record's outcome in a batch.
type submitErr struct {
	err   error
	retry bool
}

// loadStats counts what a load did. Due times are the open-loop send times: a record that waited for a busy node
// still counts its latency from when it was due.
type loadStats struct {
	offered, accepted, failed, retries atomic.Int64
	mu                                 sync.Mutex
	due                                map[chain.Hash]time.Time
	firstErr                           error
}

// maxLoadBatch bounds one submission. A node acknowledges a submission only once its pending-transaction log is synced (group
// commit), so one record at a time would measure the disk's fsync latency, not the node: each sender sends the
// records due by the time its previous batch was answered, in one batch, as a client of POST /api/txbatch
// would, one batch at a time so that its nonces arrive in order.
const maxLoadBatch = chain.MaxTxBatch

// run sends the plan from start on and returns when every record was sent or ctx is done: one goroutine per
// sender sends, in nonce order, the records due, when they are due.
func (p *loadPlan) run(ctx context.Context, start time.Time, submit submitFunc) *loadStats {
	st := &loadStats{due: map[chain.Hash]time.Time{}}
	var wg sync.WaitGroup
	for s, txs := range p.perSender {
		wg.Go(func() {
			for i := 0; i < len(txs); {
				if !sleepCtx(ctx, time.Until(start.Add(txs[i].due))) {
					return
				}
				var batch []chain.Tx
				batch, i = st.take(txs, i, start)
				sendWithRetry(ctx, st, batch, func(b []chain.Tx) []submitErr { return submit(ctx, s, b) })
			}
		})
	}
	wg.Wait()
	return st
}

// take returns the records of txs from i on that are due by now, at most maxLoadBatch, and the index after them,
// counting them as offered.
func (st *loadStats) take(txs []plannedTx, i int, start time.Time) ([]chain.Tx, int) {
	now := time.Since(start)
	var batch []chain.Tx
	st.mu.Lock()
	for ; i < len(txs) && txs[i].due <= now && len(batch) < maxLoadBatch; i++ {
		st.due[txs[i].id] = start.Add(txs[i].due)
		batch = append(batch, txs[i].tx)
	}
	st.mu.Unlock()
	st.offered.Add(int64(len(batch)))
	return batch, i
}

// sendWithRetry sends txs, then again those refused with a retryable error, until none is left or ctx is done; it
// pauses 20 ms between tries.
func sendWithRetry(ctx context.Context, st *loadStats, txs []chain.Tx, send func([]chain.Tx) []submitErr) {
	for len(txs) > 0 {
		var again []chain.Tx
		for i, r := range send(txs) {
			switch {
			case r.err == nil:
				st.accepted.Add(1)
			case r.retry && ctx.Err() == nil:
				again = append(again, txs[i])
			default:
				st.failed.Add(1)
				st.mu.Lock()
				if st.firstErr == nil {
					st.firstErr = r.err
				}
				st.mu.Unlock()
			}
		}
		if len(again) > 0 && !sleepCtx(ctx, 20*time.Millisecond) {
			st.failed.Add(int64(len(again)))
			return
		}
		st.retries.Add(int64(len(again)))
		txs = again
	}
}

// sleepCtx sleeps for d (nothing when d ≤ 0) and reports whether ctx is still live.
func sleepCtx(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
