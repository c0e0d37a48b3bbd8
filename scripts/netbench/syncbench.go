package main

import (
	"context"
	"fmt"
	"io"
	"log"
	"path/filepath"
	"time"

	"github.com/posnode/posnode/chain"
	"github.com/posnode/posnode/node"
)

// syncSlot is the slot duration of the sync figure's chain.
const syncSlot = time.Second

// syncRun is one node joining and catching up.
type syncRun struct {
	target  uint64        // the server's height when the joiner started
	took    time.Duration // joiner start → target height stored
	firstAt time.Duration // joiner start → first block stored
}

func (r syncRun) rate() float64 { return float64(r.target) / r.took.Seconds() }

// syncFigure is figure 5: a node (validator 0) holds a prebuilt chain; joiners (validators 1..runs, one at a
// time, each with an empty database) connect to it alone and sync.
func syncFigure(w io.Writer, blocks, txs, runs int) error {
	c, err := newCluster(clusterSpec{validators: 1 + runs, slot: syncSlot,
		start: time.Now().Add(-time.Duration(blocks+30) * syncSlot)})
	if err != nil {
		return err
	}
	defer func() {
		if err := c.close(); err != nil {
			log.Printf("close cluster: %v", err)
		}
	}()
	t0 := time.Now()
	if err := node.BuildChain(c.dirs[0], c.gen, c.keys, blocks, txs); err != nil {
		return fmt.Errorf("build chain: %w", err)
	}
	built := time.Since(t0)
	cp, err := builtCheckpoint(c.dirs[0], c.gen)
	if err != nil {
		return fmt.Errorf("read the built chain's checkpoint: %w", err)
	}
	c.checkpoint = &cp
	t0 = time.Now()
	if err := c.start(0); err != nil {
		return err
	}
	opened := time.Since(t0)
	var results []syncRun
	for j := 1; j <= runs; j++ {
		r, err := joinAndSync(c, j, 0)
		if err != nil {
			return err
		}
		log.Printf("sync run %d: %d blocks in %s", j, r.target, r.took.Round(time.Millisecond))
		results = append(results, r)
		if err := c.stop(j); err != nil {
			return err
		}
	}
	fmt.Fprintf(w, "| run | blocks synced (%d records each) | first block after | all blocks after | blocks / s |\n", txs)
	fmt.Fprintln(w, "|---:|---:|---:|---:|---:|")
	var rates []float64
	for i, r := range results {
		fmt.Fprintf(w, "| %d | %d | %s | %.2f s | %.0f |\n", i+1, r.target, ms(r.firstAt), r.took.Seconds(), r.rate())
		rates = append(rates, r.rate())
	}
	med := median(rates)
	fmt.Fprintf(w, "| **median** | | | | **%.0f** |\n\n", med)
	fmt.Fprintf(w, "Building the %d-block chain (node.BuildChain) took %.1f s; the serving node opened it (replaying every block, state roots checked, signatures not) in %.1f s, %.0f blocks/s.\n\n",
		blocks, built.Seconds(), opened.Seconds(), float64(blocks)/opened.Seconds())
	fmt.Fprintf(w, "Goal: ≥ 2,000 blocks/s imported by a joining node — %s (median %.0f blocks/s).\n", verdict(med >= 2000), med)
	return nil
}

// joinAndSync starts node j bootstrapped to node server and waits until it stores the server's current height.
func joinAndSync(c *cluster, j, server int) (syncRun, error) {
	st, err := c.nodes[server].Status(context.Background())
	if err != nil {
		return syncRun{}, err
	}
	r := syncRun{target: st.Height}
	c.rec.reset()
	t0 := time.Now()
	if err := c.start(j, server); err != nil {
		return r, err
	}
	timeout := max(60*time.Second, time.Duration(r.target)*10*time.Millisecond)
	for deadline := t0.Add(timeout); ; time.Sleep(5 * time.Millisecond) {
		first, top, ok := c.rec.head(j)
		if ok && r.firstAt == 0 {
			r.firstAt = first.Sub(t0)
		}
		if ok && uint64(top.height) >= r.target {
			r.took = top.at.Sub(t0)
			return r, nil
		}
		if time.Now().After(deadline) {
			return r, fmt.Errorf("node %d synced %d of %d blocks in %s", j, top.height, r.target, timeout)
		}
	}
}

// builtCheckpoint returns the checkpoint of the head's epoch of the single chain node.BuildChain wrote into dir
// (PROTOCOL.md §8a: its newest block before the epoch's first slot): nodes on a chain older than the
// weak-subjectivity period follow it only with a trusted checkpoint that recent (PROTOCOL.md §12).
func builtCheckpoint(dir string, g *chain.Genesis) (chain.Checkpoint, error) {
	store, err := chain.OpenBolt(filepath.Join(dir, "chain.db"))
	if err != nil {
		return chain.Checkpoint{}, err
	}
	defer store.Close()
	cp := chain.Checkpoint{Hash: g.Hash()}
	prev := cp.Hash
	var prevEpoch chain.Epoch
	err = store.ForEach(func(b *chain.Block) error {
		if e := g.EpochOf(b.Header.Slot); e > prevEpoch {
			cp = chain.Checkpoint{Epoch: e, Hash: prev}
		}
		prev, prevEpoch = b.Hash(), g.EpochOf(b.Header.Slot)
		return nil
	})
	return cp, err
}
