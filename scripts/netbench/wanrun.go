package main

import (
	"context"
	"fmt"
	"log"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/posnode/posnode/chain"
	"github.com/posnode/posnode/consensus"
)

// wanScenario is one testbed run: a slot duration, the link shaping and an optional partition.
type wanScenario struct {
	name   string
	slot   time.Duration
	link   linkSpec
	cut    int           // nodes 2..cut+1 are cut off from the rest ...
	cutFor time.Duration // ... for this long, starting a quarter into the window
}

// wanResult is what one run measured and found.
type wanResult struct {
	sc                         wanScenario
	nodes                      int
	netem                      bool
	first, last                chain.Slot
	filled                     int
	delays                     []time.Duration
	pairs                      int
	reorgs                     float64 // over all nodes, from the window's start to the end of the settling
	reorgSlots                 int
	deepest                    int
	lag                        []uint64 // node 1's finality lag, sampled every 2 s in the window, slots
	offered, accepted          int
	committedOnce, lost, twice int
	mempoolLeft                int
	oneHead                    bool
	height                     uint64
	settle                     time.Duration
	nat                        *natResult
}

// natResult is what the NATed node (the last one) showed at the end.
type natResult struct {
	node            int
	peers           int
	synced          bool
	proposed, total int     // window blocks on the final chain: its own, all
	share           float64 // its share of the stake
}

// violations lists what breaks the testbed's rules: an accepted record lost or committed twice, a fork that never
// resolved, records left in a mempool.
func (r wanResult) violations() []string {
	var v []string
	if r.lost > 0 {
		v = append(v, fmt.Sprintf("%d accepted records not committed", r.lost))
	}
	if r.twice > 0 {
		v = append(v, fmt.Sprintf("%d records committed more than once", r.twice))
	}
	if !r.oneHead {
		v = append(v, "the nodes never agreed on one head (a fork that did not resolve)")
	}
	if r.mempoolLeft > 0 {
		v = append(v, fmt.Sprintf("%d records left in mempools", r.mempoolLeft))
	}
	return v
}

// clock is the testnet's slot clock.
type clock struct {
	genesis time.Time
	slot    time.Duration
}

func (c clock) at(t time.Time) chain.Slot                 { return consensus.SlotAt(c.genesis, c.slot, t) }
func (c clock) start(s chain.Slot) time.Time              { return consensus.SlotStart(c.genesis, c.slot, s) }
func (c clock) mid(s chain.Slot) time.Time                { return c.start(s).Add(c.slot / 2) }
func sleepUntilCtx(ctx context.Context, t time.Time) bool { return sleepCtx(ctx, time.Until(t)) }

// runWAN builds the topology, starts the testnet, measures a window under load (with the scenario's partition),
// lets the nodes settle and checks them. Everything it made is removed when it returns.
func runWAN(ctx context.Context, o wanOptions, sc wanScenario, self string, netem bool) (res wanResult, err error) {
	res = wanResult{sc: sc, nodes: o.nodes, netem: netem}
	topo := &topology{prefix: o.prefix, nodes: o.nodes, nat: o.nat, netem: netem, link: sc.link}
	removeLeftovers(o.prefix)
	defer topo.down()
	if err := topo.up(); err != nil {
		return res, err
	}
	w, err := startWANNet(ctx, o, topo, sc.slot, self)
	if err != nil {
		return res, err
	}
	defer w.stop()
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer func() { cancel(); wg.Wait() }()
	rec := newRecorder(false)
	var deepest atomic.Int64
	for i, n := range w.nodes {
		wg.Go(func() {
			n.follow(ctx, i, rec, func(d int) {
				for cur := deepest.Load(); int64(d) > cur && !deepest.CompareAndSwap(cur, int64(d)); cur = deepest.Load() {
				}
			})
		})
	}
	if err := w.waitHeight(ctx, 2, 2*time.Minute); err != nil {
		return res, err
	}
	ck := clock{w.gen.Time, sc.slot}
	res.first = ck.at(time.Now().Add(2*sc.slot)) + 1
	res.last = res.first + chain.Slot(max(1, int(o.window/sc.slot))) - 1
	recs, err := res.window(ctx, w, topo, ck)
	if err != nil {
		return res, err
	}
	err = res.settleAndCheck(ctx, o, w, ck, recs)
	res.deepest = int(deepest.Load())
	res.delays, res.pairs = propagation(rec, res.first, res.last, o.nodes)
	return res, err
}

// window runs the load, the partition and the finality samples from the first slot of the window to its end and
// returns the accepted records.
func (r *wanResult) window(ctx context.Context, w *wanNet, topo *topology, ck clock) ([]record, error) {
	if !sleepUntilCtx(ctx, ck.start(r.first)) {
		return nil, ctx.Err()
	}
	before, err := w.sumMetric(ctx, "posnode_reorgs_total")
	if err != nil {
		return nil, err
	}
	r.reorgs = -before
	end := ck.start(r.last + 1)
	lctx, cancel := context.WithDeadline(ctx, end)
	defer cancel()
	ld := newWANLoad(w.nodes, r.loadEvery(len(w.nodes)))
	var wg sync.WaitGroup
	wg.Go(func() { ld.run(lctx) })
	perr := make(chan error, 1)
	if r.sc.cut > 0 {
		go func() { perr <- r.partition(ctx, topo, ck.start(r.first).Add(end.Sub(ck.start(r.first))/4)) }()
	} else {
		perr <- nil
	}
	for sleepCtx(lctx, 2*time.Second) {
		if f, err := w.nodes[0].finality(lctx); err == nil {
			r.lag = append(r.lag, f.LagSlots)
		}
	}
	wg.Wait()
	if err := <-perr; err != nil {
		return nil, err
	}
	recs := ld.snapshot()
	r.offered, r.accepted = int(ld.offered.Load()), len(recs)
	return recs, ctx.Err()
}

// loadRate is the records per second the load offers over all nodes.
var loadRate = 20

func (r *wanResult) loadEvery(nodes int) time.Duration {
	return time.Duration(int64(time.Second) * int64(nodes) / int64(max(loadRate, 1)))
}

// partition cuts nodes 2..cut+1 off from the rest at `at` for the scenario's duration, then heals.
func (r *wanResult) partition(ctx context.Context, topo *topology, at time.Time) error {
	if !sleepUntilCtx(ctx, at) {
		return nil
	}
	side := map[int]bool{}
	for i := 1; i <= r.sc.cut; i++ {
		side[i] = true
	}
	if err := topo.cut(side); err != nil {
		return err
	}
	log.Printf("wan: nodes 2..%d cut off from the rest for %s", r.sc.cut+1, r.sc.cutFor)
	sleepCtx(ctx, r.sc.cutFor)
	if err := topo.heal(); err != nil {
		return err
	}
	log.Printf("wan: partition healed")
	return nil
}

// waitHeight waits until every node's head is at least h high.
func (w *wanNet) waitHeight(ctx context.Context, h uint64, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		low := ^uint64(0)
		for _, n := range w.nodes {
			st, err := n.status(ctx)
			if err != nil {
				low = 0
				break
			}
			low = min(low, st.Height)
		}
		if low >= h {
			return nil
		}
		if time.Now().After(deadline) || !sleepCtx(ctx, 500*time.Millisecond) {
			return fmt.Errorf("nodes not at height %d after %s (logs: node.log in each home)", h, timeout)
		}
	}
}

// sumMetric adds one counter up over the nodes.
func (w *wanNet) sumMetric(ctx context.Context, name string) (float64, error) {
	sum := 0.0
	for i, n := range w.nodes {
		v, err := n.metric(ctx, name)
		if err != nil {
			return 0, fmt.Errorf("node %d: %w", i+1, err)
		}
		sum += v
	}
	return sum, nil
}

func medianU(xs []uint64) uint64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[len(s)/2]
}
