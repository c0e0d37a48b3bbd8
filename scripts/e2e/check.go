package main

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// final is the state the end-of-run checks found.
type final struct {
	height    uint64         // common height all nodes agree on
	hash      string         // block hash there
	slot      uint64         // its slot
	counts    map[string]int // tx id → times it appears on the chain up to height
	committed []int          // per node: its records found on the chain
	reorgs    []string       // per node, from /metrics
}

// converge waits until every node holds the same block at their common height, which must reach atLeast.
func (r *runner) converge(ctx context.Context, atLeast uint64, timeout time.Duration) (uint64, string, error) {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		if h, hash, ok := r.common(ctx); ok && h >= atLeast {
			return h, hash, nil
		}
		sleep(ctx, 500*time.Millisecond)
	}
	return 0, "", fmt.Errorf("nodes did not agree on a block at a common height ≥ %d within %s", atLeast, timeout)
}

// common reads the lowest head height and reports whether every node has the same block there.
func (r *runner) common(ctx context.Context) (uint64, string, bool) {
	h := ^uint64(0)
	for _, c := range r.nodes {
		st, err := c.status(ctx)
		if err != nil {
			return 0, "", false
		}
		h = min(h, st.Height)
	}
	var want string
	for _, c := range r.nodes {
		b, err := c.block(ctx, h)
		if err != nil || (want != "" && b.Hash != want) {
			return 0, "", false
		}
		want = b.Hash
	}
	return h, want, true
}

// settle waits, after the load stopped, until every accepted record is on a chain all nodes agree on, and
// returns that chain's tx counts. Records still missing when the time is up are reported by verify.
func (r *runner) settle(ctx context.Context, recs []record) (final, error) {
	var f final
	deadline := time.Now().Add(r.cfg.settleTimeout)
	for {
		h, hash, err := r.converge(ctx, 1, max(time.Until(deadline), 30*time.Second))
		if err != nil {
			return f, err
		}
		blocks, err := r.nodes[0].chain(ctx, h)
		if err != nil {
			return f, err
		}
		f = final{height: h, hash: hash, slot: blocks[len(blocks)-1].Slot, counts: countTxs(blocks)}
		if missing(recs, f.counts) == 0 || time.Now().After(deadline) || ctx.Err() != nil {
			return f, nil
		}
		sleep(ctx, 2*time.Second)
	}
}

func countTxs(blocks []blockView) map[string]int {
	counts := map[string]int{}
	for _, b := range blocks {
		for _, tx := range b.Txs {
			counts[tx.ID]++
		}
	}
	return counts
}

func missing(recs []record, counts map[string]int) int {
	n := 0
	for _, rec := range recs {
		if counts[rec.id] == 0 {
			n++
		}
	}
	return n
}

// verify checks the safety rules on the settled chain: every node holds the very same blocks, every accepted
// record is on it exactly once, no transaction is on it twice, and each node's /api/txs agrees.
func (r *runner) verify(ctx context.Context, f *final, recs []record) []error {
	var errs []error
	errs = append(errs, r.sameChains(ctx, f.height)...)
	f.committed = make([]int, len(r.nodes))
	for _, rec := range recs {
		switch n := f.counts[rec.id]; {
		case n == 1:
			f.committed[rec.node]++
		case n == 0:
			errs = append(errs, fmt.Errorf("record %s accepted by %s is not on the chain (%s)", rec.id,
				r.nodes[rec.node].name, r.txState(ctx, rec)))
		default:
			errs = append(errs, fmt.Errorf("record %s accepted by %s is on the chain %d times", rec.id,
				r.nodes[rec.node].name, n))
		}
	}
	for id, n := range f.counts {
		if n > 1 {
			errs = append(errs, fmt.Errorf("transaction %s is on the chain %d times", id, n))
		}
	}
	return append(errs, r.txLookups(ctx, recs, f.counts)...)
}

// sameChains compares every node's blocks 1..h with the first node's.
func (r *runner) sameChains(ctx context.Context, h uint64) []error {
	ref, err := r.nodes[0].chain(ctx, h)
	if err != nil {
		return []error{err}
	}
	var errs []error
	for _, c := range r.nodes[1:] {
		bs, err := c.chain(ctx, h)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		for k := range bs {
			if bs[k].Hash != ref[k].Hash {
				errs = append(errs, fmt.Errorf("%s and %s differ at height %d: %.8s vs %.8s", c.name,
					r.nodes[0].name, bs[k].Height, bs[k].Hash, ref[k].Hash))
				break
			}
		}
	}
	return errs
}

func (r *runner) txState(ctx context.Context, rec record) string {
	st, err := r.nodes[rec.node].tx(ctx, rec.id)
	if err != nil {
		return err.Error()
	}
	return st.Status
}

// txLookups asks every node for every committed record and checks it answers committed.
func (r *runner) txLookups(ctx context.Context, recs []record, counts map[string]int) []error {
	var (
		mu   sync.Mutex
		errs []error
		wg   sync.WaitGroup
	)
	for _, c := range r.nodes {
		wg.Go(func() {
			bad := 0
			for _, rec := range recs {
				if counts[rec.id] != 1 {
					continue
				}
				if st, err := c.tx(ctx, rec.id); err != nil || (st.Status != "committed" && st.Status != "finalized") {
					bad++
				}
			}
			if bad > 0 {
				mu.Lock()
				errs = append(errs, fmt.Errorf("%s: GET /api/txs/{id} is not committed for %d records on the chain", c.name, bad))
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return errs
}

// reorgCounts reads posnode_reorgs_total from each node (a restarted node counts from its restart).
func (r *runner) reorgCounts(ctx context.Context) []string {
	out := make([]string, len(r.nodes))
	for i, c := range r.nodes {
		v, err := c.metric(ctx, "posnode_reorgs_total")
		out[i] = fmt.Sprint(v)
		if err != nil {
			out[i] = "?"
		}
	}
	return out
}

var errViolations = errors.New("violations")
