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

// submitFunc hands one record to a node; retry reports whether an error is worth trying again (a full mempool).
type submitFunc func(ctx context.Context, sender int, tx chain.Tx) (retry bool, err error)

// loadStats counts what a load did. Due times are the open-loop send times: a record that waited for a busy node
// still counts its latency from when it was due.
type loadStats struct {
	offered, accepted, failed, retries atomic.Int64
	mu                                 sync.Mutex
	due                                map[chain.Hash]time.Time
}

// workersPerSender is how many submissions of one sender may be in flight at once. A node acknowledges a
// submission only once its journal is synced (group commit), so one caller at a time would measure the disk's
// fsync latency, not the node; real users submit concurrently.
const workersPerSender = 16

// run sends the plan from start on and returns when every record was sent or ctx is done. A dispatcher per sender
// releases its records when due, in nonce order; a pool of workers per sender submits them.
func (p *loadPlan) run(ctx context.Context, start time.Time, submit submitFunc) *loadStats {
	st := &loadStats{due: map[chain.Hash]time.Time{}}
	var wg sync.WaitGroup
	for s, txs := range p.perSender {
		work := make(chan plannedTx, len(txs))
		wg.Go(func() {
			defer close(work)
			for _, pt := range txs {
				if !sleepCtx(ctx, time.Until(start.Add(pt.due))) {
					return
				}
				st.offered.Add(1)
				st.mu.Lock()
				st.due[pt.id] = start.Add(pt.due)
				st.mu.Unlock()
				work <- pt
			}
		})
		for range workersPerSender {
			wg.Go(func() {
				for pt := range work {
					if sendWithRetry(ctx, st, func() (bool, error) { return submit(ctx, s, pt.tx) }) {
						st.accepted.Add(1)
					} else {
						st.failed.Add(1)
					}
				}
			})
		}
	}
	wg.Wait()
	return st
}

// sendWithRetry calls send until it succeeds, fails for good, or ctx is done; it pauses 20 ms between tries.
func sendWithRetry(ctx context.Context, st *loadStats, send func() (bool, error)) bool {
	for {
		retry, err := send()
		if err == nil {
			return true
		}
		if !retry || !sleepCtx(ctx, 20*time.Millisecond) {
			return false
		}
		st.retries.Add(1)
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
