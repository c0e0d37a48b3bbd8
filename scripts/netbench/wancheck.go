package main

import (
	"context"
	"errors"
	"log"
	"sync"
	"sync/atomic"
	"time"

	"github.com/posnode/posnode/chain"
	"github.com/posnode/posnode/node/view"
)

// record is a BPM record a node accepted (answered 200 with its id).
type record struct {
	id   string
	node int
}

// wanLoad submits a BPM record to every node once per interval, each node from its own goroutine, through the
// node's own API (as its user would); a record counts as accepted only when the answer was read in full.
type wanLoad struct {
	nodes   []*wanNode
	every   time.Duration
	offered atomic.Int64
	mu      sync.Mutex
	records []record
}

func newWANLoad(nodes []*wanNode, every time.Duration) *wanLoad {
	return &wanLoad{nodes: nodes, every: every}
}

func (l *wanLoad) run(ctx context.Context) {
	var wg sync.WaitGroup
	for i, n := range l.nodes {
		wg.Go(func() {
			tick := time.NewTicker(l.every)
			defer tick.Stop()
			for k := uint64(0); ; k++ {
				select {
				case <-ctx.Done():
					return
				case <-tick.C:
				}
				l.offered.Add(1)
				rctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				id, err := n.submitBPM(rctx, 40+(k*7+uint64(i)*13)%160)
				cancel()
				if err == nil {
					l.mu.Lock()
					l.records = append(l.records, record{id, i})
					l.mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
}

func (l *wanLoad) snapshot() []record {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]record(nil), l.records...)
}

// settleAndCheck polls every node in the middle of each slot until all report the same head with empty mempools
// and every accepted record on that chain, or the settle time is up; then it counts each record's copies on the
// chain (the same head hash means the same chain on every node) and looks at the NATed node.
func (r *wanResult) settleAndCheck(ctx context.Context, o wanOptions, w *wanNet, ck clock, recs []record) error {
	start := time.Now()
	deadline := start.Add(o.settle)
	var counts map[string]int
	var blocks []view.Block
	for s := ck.at(time.Now()) + 1; ; s++ {
		if !sleepUntilCtx(ctx, ck.mid(s)) {
			return ctx.Err()
		}
		sts, same := w.statuses(ctx)
		if same {
			r.oneHead, r.height = true, sts[0].Height
			r.mempoolLeft = 0
			for _, st := range sts {
				r.mempoolLeft += st.Mempool
			}
			bs, err := w.nodes[0].chain(ctx, r.height)
			if err == nil {
				blocks, counts = bs, txCounts(bs)
				if r.mempoolLeft == 0 && missingOf(recs, counts) == 0 {
					break
				}
			}
		}
		if time.Now().After(deadline) {
			log.Printf("wan: not settled after %s", o.settle)
			break
		}
	}
	r.settle = time.Since(start)
	if counts == nil { // never one head: count on node 1's chain, for the report
		if st, err := w.nodes[0].status(ctx); err == nil {
			if bs, err := w.nodes[0].chain(ctx, st.Height); err == nil {
				blocks, counts = bs, txCounts(bs)
			}
		}
	}
	r.countRecords(recs, counts)
	r.filledAndNAT(ctx, w, blocks)
	after, err := w.sumMetric(ctx, "posnode_reorgs_total")
	r.reorgs += after
	r.reorgSlots = int(ck.at(time.Now()) - r.first + 1)
	return err
}

// statuses asks every node at once; same reports whether all answered with the same head.
func (w *wanNet) statuses(ctx context.Context) ([]view.Status, bool) {
	sts := make([]view.Status, len(w.nodes))
	errs := make([]error, len(w.nodes))
	var wg sync.WaitGroup
	for i, n := range w.nodes {
		wg.Go(func() { sts[i], errs[i] = n.status(ctx) })
	}
	wg.Wait()
	if errors.Join(errs...) != nil {
		return sts, false
	}
	for _, st := range sts[1:] {
		if st.Head != sts[0].Head {
			return sts, false
		}
	}
	return sts, true
}

func txCounts(blocks []view.Block) map[string]int {
	counts := map[string]int{}
	for _, b := range blocks {
		for _, tx := range b.Txs {
			counts[tx.ID.String()]++
		}
	}
	return counts
}

func missingOf(recs []record, counts map[string]int) int {
	n := 0
	for _, rec := range recs {
		if counts[rec.id] == 0 {
			n++
		}
	}
	return n
}

// countRecords sorts every accepted record into committed once, lost or committed more than once.
func (r *wanResult) countRecords(recs []record, counts map[string]int) {
	for _, rec := range recs {
		switch counts[rec.id] {
		case 0:
			r.lost++
		case 1:
			r.committedOnce++
		default:
			r.twice++
		}
	}
}

// filledAndNAT counts the window's slots with a block on the final chain and, with a NATed node, the blocks it
// proposed there against its share of the stake.
func (r *wanResult) filledAndNAT(ctx context.Context, w *wanNet, blocks []view.Block) {
	k := len(w.nodes) - 1
	nat := w.nodes[k]
	total := uint64(0)
	for _, n := range w.nodes {
		total += n.stake
	}
	r.nat = &natResult{node: k + 1, share: float64(nat.stake) / float64(max(total, 1))}
	for _, b := range blocks {
		if s := chain.Slot(b.Slot); s >= r.first && s <= r.last {
			r.filled++
			r.nat.total++
			if b.Proposer == nat.addr {
				r.nat.proposed++
			}
		}
	}
	if st, err := nat.status(ctx); err == nil {
		r.nat.peers, r.nat.synced = st.Peers, st.Synced
	}
}
