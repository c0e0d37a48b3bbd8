package main

import (
	"context"
	"errors"
	"fmt"
	"log"
	"slices"
	"sync"
	"time"

	"github.com/posnode/posnode/chain"
	"github.com/posnode/posnode/node"
)

// depth is k of "nodes disagreeing on the block k deep".
const depth = 3

// runSpec is one in-process cluster run, shared by the slot-fill, propagation and scale figures.
type runSpec struct {
	nodes int
	slot  time.Duration
}

// runResult is what one run measured over its window of slots.
type runResult struct {
	spec        runSpec
	startup     time.Duration // starting every node
	first, last chain.Slot    // the window
	filled      int           // window slots with a block on the final canonical chain
	reorgs      float64       // head switches that abandoned blocks, summed over nodes, during the window
	samples     int           // disagreement samples taken
	split       int           // samples where at least one node disagreed on the block k deep
	maxSplit    int           // most nodes disagreeing in one sample
	agreed      bool          // every node had the same block at the window's last height at the end
	peers       []int         // each node's connected peers at the end, in increasing order
	delays      []time.Duration
	pairs       int // (block, other node) pairs that could have been imported
	err         error
}

func (r runResult) slots() int    { return int(r.last - r.first + 1) }
func (r runResult) fill() float64 { return float64(r.filled) / float64(max(r.slots(), 1)) }
func (r runResult) reorgsPer100() float64 {
	return 100 * r.reorgs / float64(r.spec.nodes) / float64(max(r.slots(), 1))
}

// window returns how many slots a run measures: at least minSlots and at least minTime worth.
func window(slot time.Duration, minSlots int, minTime time.Duration) int {
	return max(minSlots, int((minTime+slot-1)/slot))
}

// runCluster starts spec.nodes validators, lets them settle, and measures a window of slots.
func runCluster(spec runSpec, windowSlots int) runResult {
	res := runResult{spec: spec}
	c, err := newCluster(clusterSpec{validators: spec.nodes, slot: spec.slot, start: time.Now().Add(2 * time.Second)})
	if err != nil {
		res.err = err
		return res
	}
	defer func() {
		if err := c.close(); err != nil {
			log.Printf("close cluster: %v", err)
		}
	}()
	t0 := time.Now()
	if res.err = c.startAll(); res.err != nil {
		return res
	}
	res.startup = time.Since(t0)
	warm := max(5*spec.slot, 4*time.Second)
	res.first = c.slotAt(time.Now().Add(warm)) + 1
	res.last = res.first + chain.Slot(windowSlots) - 1
	ctx := context.Background()
	sleepUntil(c.slotStart(res.first))
	before, err := c.sumCounter(ctx, "posnode_reorgs_total")
	if err != nil {
		res.err = err
		return res
	}
	res.sampleSplits(ctx, c)
	sleepUntil(c.slotStart(res.last + 1).Add(max(2*spec.slot, time.Second)))
	after, err := c.sumCounter(ctx, "posnode_reorgs_total")
	if err != nil {
		res.err = err
		return res
	}
	res.reorgs = after - before
	res.err = res.finish(ctx, c)
	return res
}

func sleepUntil(t time.Time) { time.Sleep(time.Until(t)) }

// sampleSplits looks, in the middle of every window slot, at which block each node has k deep below the highest
// head, and counts the nodes that differ from the most common answer (a node without that block differs).
func (r *runResult) sampleSplits(ctx context.Context, c *cluster) {
	slot := time.Duration(c.gen.SlotDuration)
	for s := r.first; s <= r.last; s++ {
		mid := c.slotStart(s).Add(slot / 2)
		if time.Until(mid) < 0 {
			continue // the previous sample overran this slot
		}
		sleepUntil(mid)
		if n, ok := splitNow(ctx, c); ok {
			r.samples++
			if n > 0 {
				r.split++
			}
			r.maxSplit = max(r.maxSplit, n)
		}
	}
}

// splitNow returns how many nodes disagree with the majority on the block k deep below the highest head. It asks
// all nodes at once, so that the answers are close in time.
func splitNow(ctx context.Context, c *cluster) (int, bool) {
	heights := make([]uint64, len(c.nodes))
	errs := make([]error, len(c.nodes))
	eachNode(c, func(i int, n *node.Node) {
		st, err := n.Status(ctx)
		heights[i], errs[i] = st.Height, err
	})
	if errors.Join(errs...) != nil || slices.Max(heights) <= depth {
		return 0, false
	}
	h := slices.Max(heights) - depth
	hashes := make([]chain.Hash, len(c.nodes))
	eachNode(c, func(i int, n *node.Node) {
		if heights[i] < h {
			return
		}
		if b, err := n.Block(ctx, h); err == nil {
			hashes[i] = b.Hash
		}
	})
	votes := map[chain.Hash]int{}
	best := 0
	for _, hash := range hashes {
		if !hash.IsZero() {
			votes[hash]++
			best = max(best, votes[hash])
		}
	}
	return len(c.nodes) - best, true
}

// eachNode calls f for every node concurrently and waits for all.
func eachNode(c *cluster, f func(i int, n *node.Node)) {
	var wg sync.WaitGroup
	for i, n := range c.nodes {
		wg.Go(func() { f(i, n) })
	}
	wg.Wait()
}

// finish checks agreement on the window's last block, counts the filled slots on node 0's chain, and computes the
// propagation delays of the blocks proposed in the window.
func (r *runResult) finish(ctx context.Context, c *cluster) error {
	st, err := c.nodes[0].Status(ctx)
	if err != nil {
		return err
	}
	chainBlocks, err := c.canonical(ctx, 0, 1, st.Height)
	if err != nil {
		return err
	}
	var lastHeight uint64
	var lastHash chain.Hash
	for _, b := range chainBlocks {
		if s := chain.Slot(b.Slot); s >= r.first && s <= r.last {
			r.filled++
			lastHeight, lastHash = b.Height, b.Hash
		}
	}
	if lastHeight == 0 {
		return fmt.Errorf("no block in slots %d..%d", r.first, r.last)
	}
	r.agreed = true
	for i := range c.nodes {
		if st, err := c.nodes[i].Status(ctx); err == nil {
			r.peers = append(r.peers, st.Peers)
		}
	}
	slices.Sort(r.peers)
	for i := range c.nodes {
		b, err := c.nodes[i].Block(ctx, lastHeight)
		if err != nil || b.Hash != lastHash {
			r.agreed = false
		}
	}
	r.delays, r.pairs = propagation(c.rec, r.first, r.last, len(c.nodes))
	return nil
}

// propagation returns, for every block proposed in slots first..last, the delay from its proposer storing it to
// each other node accepting it (node.Config.OnBlock), and how many (block, other node) pairs there were.
func propagation(rec *recorder, first, last chain.Slot, nodes int) ([]time.Duration, int) {
	events, _ := rec.snapshot()
	origin := map[chain.Hash]time.Time{}
	for _, e := range events {
		if e.local && e.slot >= first && e.slot <= last {
			origin[e.hash] = e.at
		}
	}
	var delays []time.Duration
	for _, e := range events {
		if t, ok := origin[e.hash]; ok && !e.local {
			delays = append(delays, e.at.Sub(t))
		}
	}
	return delays, len(origin) * (nodes - 1)
}
