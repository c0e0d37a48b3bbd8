package main

import (
	"context"
	"fmt"
	"io"
	"log"
	"slices"
	"strings"
	"time"

	"github.com/posnode/posnode/chain"
)

// finSpec is the finality figure's setup: cluster sizes, slot and epoch length, and how many epochs are measured.
type finSpec struct {
	nodes  []int
	slot   time.Duration
	epoch  uint64
	epochs int
}

// finRun is one cluster's finality delays: for each checkpoint epoch e of the window and each node, the time from
// the start of e's first slot until the node first reported a finalized epoch ≥ e.
type finRun struct {
	nodes   int
	delays  []time.Duration
	missing int // (checkpoint, node) pairs not finalized by the end of the run
	err     error
}

// finFigure is the finality figure (PROTOCOL.md §8a): how long a checkpoint takes to finalize at each cluster
// size, and, from `go test -bench` output in benchInput, what a vote costs to check.
func finFigure(w io.Writer, spec finSpec, benchInput string) error {
	fmt.Fprintf(w, "Checkpoint to finalization, %s slots, epochs of %d slots, %d epochs measured per run: from the start "+
		"of a checkpoint's epoch until a node reports a finalized epoch at or past it, over every (checkpoint, node) pair.\n\n",
		spec.slot, spec.epoch, spec.epochs)
	fmt.Fprintln(w, "| nodes | pairs | p50 slots | p50 | max slots | max | not finalized in time |")
	fmt.Fprintln(w, "|---:|---:|---:|---:|---:|---:|---:|")
	for _, n := range spec.nodes {
		r := runFinality(n, spec)
		if r.err != nil {
			fmt.Fprintf(w, "| %d | failed: %v | | | | | |\n", n, r.err)
			continue
		}
		p50, hi := quantile(r.delays, 0.5), slices.Max(append(r.delays, 0))
		fmt.Fprintf(w, "| %d | %d | %.1f | %.2f s | %.1f | %.2f s | %d |\n", n, len(r.delays), slotsOf(p50, spec.slot),
			p50.Seconds(), slotsOf(hi, spec.slot), hi.Seconds(), r.missing)
	}
	if benchInput == "" {
		return nil
	}
	fmt.Fprintln(w)
	return voteCostTable(w, benchInput)
}

func slotsOf(d, slot time.Duration) float64 { return float64(d) / float64(slot) }

// voteCostTable summarises the votepool benchmarks (node/votepool/bench_test.go).
func voteCostTable(w io.Writer, path string) error {
	res, order, err := readBench(path)
	if err != nil {
		return err
	}
	if _, ok := res["BenchmarkVoteCheck"]; !ok {
		return fmt.Errorf("%s: no BenchmarkVoteCheck", path)
	}
	fmt.Fprintln(w, "| benchmark | what | µs / op | allocs / op | runs |")
	fmt.Fprintln(w, "|---|---|---:|---:|---:|")
	what := map[string]string{
		"BenchmarkVoteCheck":     "one gossiped vote: decode, stateless rule, signature, pool (1,000 validators)",
		"BenchmarkVotesForBlock": "a proposer collects the pool's 2,000 votes for its block",
	}
	for _, name := range order {
		r := res[name]
		fmt.Fprintf(w, "| %s | %s | %.1f | %.0f | %d |\n", strings.TrimPrefix(name, "Benchmark"), what[name],
			r.medians["ns/op"]/1000, r.medians["allocs/op"], r.runs)
	}
	return nil
}

// runFinality starts n validators and samples every node's finalized epoch every tenth of a slot for
// spec.epochs epochs after a warm-up of two epochs, then two more epochs for the last checkpoints to finalize.
func runFinality(n int, spec finSpec) finRun {
	r := finRun{nodes: n}
	c, err := newCluster(clusterSpec{validators: n, slot: spec.slot, epoch: spec.epoch, start: time.Now().Add(2 * time.Second)})
	if err != nil {
		r.err = err
		return r
	}
	defer func() {
		if err := c.close(); err != nil {
			log.Printf("close cluster: %v", err)
		}
	}()
	if r.err = c.startAll(); r.err != nil {
		return r
	}
	// The first checkpoint measured is the first epoch that starts at least two epochs after start-up.
	first := chain.Epoch(uint64(c.slotAt(time.Now()))/spec.epoch + 2)
	last := first + chain.Epoch(spec.epochs) - 1
	end := c.slotStart(chain.Slot(uint64(last+3) * spec.epoch))
	log.Printf("finality run: %d nodes, checkpoints of epochs %d..%d", n, first, last)
	seen := make([]map[chain.Epoch]time.Time, n) // node → checkpoint epoch → first seen finalized
	for i := range seen {
		seen[i] = map[chain.Epoch]time.Time{}
	}
	ctx := context.Background()
	for time.Now().Before(end) {
		for i, nd := range c.nodes {
			st, err := nd.Status(ctx)
			if err != nil {
				continue
			}
			now := time.Now()
			for e := first; e <= last && e <= st.Finalized.Epoch; e++ {
				if _, ok := seen[i][e]; !ok {
					seen[i][e] = now
				}
			}
		}
		time.Sleep(spec.slot / 10)
	}
	for e := first; e <= last; e++ {
		boundary := c.slotStart(chain.Slot(uint64(e) * spec.epoch))
		for i := range n {
			if t, ok := seen[i][e]; ok {
				r.delays = append(r.delays, t.Sub(boundary))
			} else {
				r.missing++
			}
		}
	}
	return r
}
