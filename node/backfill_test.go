package node

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/posnode/posnode/chain"
	"github.com/posnode/posnode/node/blocksync"
)

// clusterConfig is the Config cluster.start gives node i, with the retention window retain (0: archive), the
// trusted checkpoint cp (nil: none) and only the given running nodes to bootstrap from.
func (c *cluster) clusterConfig(i int, retain uint64, cp *chain.Checkpoint, logs observed, bootstrap ...int) Config {
	var boot []string
	for _, j := range bootstrap {
		boot = append(boot, c.nodes[j].Addrs()[0])
	}
	return Config{Home: c.homes[i], Genesis: c.gen, Listen: []string{"/ip4/127.0.0.1/tcp/0"}, Bootstrap: boot,
		Logger: logs.logger, Checkpoint: cp, RetainEpochs: retain, wsEpochs: clusterWSEpochs}
}

// finalizedCheckpoint waits until node i finalized epoch e or later and returns its finalized checkpoint.
func (c *cluster) finalizedCheckpoint(i int, e chain.Epoch) chain.Checkpoint {
	c.t.Helper()
	waitFor(c.t, 60*time.Second, "the chain to finalize", func() bool {
		f, err := c.nodes[i].Finality(context.Background())
		return err == nil && f.Finalized.Epoch >= e
	})
	view, err := c.nodes[i].Finality(context.Background())
	if err != nil {
		c.t.Fatal(err)
	}
	cp, err := chain.ParseCheckpoint(view.Checkpoint)
	if err != nil {
		c.t.Fatal(err)
	}
	return cp
}

// heightOf returns the height of block h in node i's tree.
func (c *cluster) heightOf(i int, h chain.Hash) chain.Height {
	c.t.Helper()
	var b *chain.Block
	var err error
	if cerr := c.nodes[i].call(context.Background(), func() { b, err = c.nodes[i].tree.Block(h) }); cerr != nil || err != nil {
		c.t.Fatalf("block %s: %v", h.Short(), err)
	}
	return b.Header.Height
}

// serveRange asks node n's range handler for count blocks from height from, as a peer would.
func serveRange(t *testing.T, n *Node, from chain.Height, count uint32) ([]*chain.Block, error) {
	t.Helper()
	resp, err := n.serveBlocks(context.Background(), "", blocksync.RangeReq{From: from, Count: count, MaxBytes: blocksync.MaxRangeBytes}.Encode())
	if err != nil {
		t.Fatal(err)
	}
	return blocksync.DecodeBlocks(resp)
}

// TestCheckpointSyncBackfills, over real libp2p (PROTOCOL.md §13a): a fresh node that joined by checkpoint sync
// asks the peer that served the anchor for the blocks below it; that peer serves a range whose newest block is not
// the anchor's parent, and is penalised; the node then fetches the blocks from an honest node down to its retention
// window, and serves them: a range from the window's lowest height to the anchor is the network's chain, and one
// below the window gets the pruned answer.
func TestCheckpointSyncBackfills(t *testing.T) {
	const (
		fresh  = 3
		liar   = 4
		retain = 3 // epochs
	)
	c := newCluster(t, []uint64{10, 10, 10, 0, 0}, 100*time.Millisecond, 0)
	c.start(0)
	c.start(1, 0)
	c.start(2, 0)
	var lieBelow atomic.Uint64 // the liar damages every range it serves from below this height
	liarCfg := c.clusterConfig(liar, 0, nil, observedLogger(t, liar), 0)
	liarCfg.rangeLie = func(from chain.Height, blocks [][]byte) [][]byte {
		if uint64(from) >= lieBelow.Load() || len(blocks) == 0 {
			return blocks
		}
		b, err := chain.DecodeBlock(blocks[len(blocks)-1])
		if err != nil {
			return blocks
		}
		b.Header.StateRoot[0] ^= 1 // the newest block's hash is no longer the parent of the block above it
		return append(append([][]byte(nil), blocks[:len(blocks)-1]...), b.Encode())
	}
	c.run(liar, liarCfg)
	cp := c.finalizedCheckpoint(0, 5)
	waitFor(t, 20*time.Second, "the liar to hold the checkpoint", func() bool { return chainContains(t, c.nodes[liar], cp) })
	anchor := c.heightOf(0, cp.Hash)
	lieBelow.Store(uint64(anchor))

	logs := observedLogger(t, fresh)
	n := c.run(fresh, c.clusterConfig(fresh, retain, &cp, logs, liar))
	liarID := c.nodes[liar].Address().String()
	waitFor(t, 30*time.Second, "the fresh node to penalise the liar's backfill", func() bool {
		return n.host.PenaltyPoints(liarID) >= blocksync.PenaltyInvalid/2
	})
	if logs.count("sync peer misbehaved", "backfill") == 0 {
		t.Fatalf("no log line of a penalised backfill; logs:\n%s", logs.all())
	}
	c.stop(1) // the floors stop rising (node 0 alone cannot finalize), so the window stays where it is
	c.stop(2)
	if err := n.host.Connect(context.Background(), c.nodes[0].Addrs()[0]); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 30*time.Second, "the fresh node to backfill its window", func() bool {
		var more bool
		if err := n.call(context.Background(), func() { _, _, more = n.tree.BackfillWant() }); err != nil {
			t.Fatal(err)
		}
		return !more
	})
	floor, lo, _ := floorOf(t, n)
	if w := chain.Height(retain * c.gen.EpochLength); lo >= anchor || lo != max(1, floor-w) {
		t.Fatalf("the fresh node holds blocks from %d, its floor is %d and the anchor %d: want the window's lowest, %d",
			lo, floor, anchor, max(1, floor-w))
	}
	blocks, err := serveRange(t, n, lo, uint32(anchor-lo+1))
	if err != nil || len(blocks) != int(anchor-lo+1) {
		t.Fatalf("the fresh node served %d blocks from %d (%v), want %d", len(blocks), lo, err, anchor-lo+1)
	}
	want := c.canonical(0, uint64(anchor))
	for _, b := range blocks {
		if h := b.Header.Height; b.Hash() != want[h-1] {
			t.Errorf("served block at %d is %s, want %s", h, b.Hash().Short(), want[h-1].Short())
		}
	}
	if lo > 1 {
		if _, err := serveRange(t, n, lo-1, 4); !errors.Is(err, blocksync.ErrPrunedRange) {
			t.Errorf("a range below the window: got %v, want the pruned answer", err)
		}
	}
	t.Logf("checkpoint %s at height %d: backfilled down to %d (floor %d, window %d epochs); liar penalised %.0f points",
		cp.Text(), anchor, lo, floor, retain, n.host.PenaltyPoints(liarID))
}

// TestPrunedAnswerTurnsToCheckpointSync, over real libp2p (PROTOCOL.md §10, §13, §13a): a node whose chain stopped
// far behind asks a peer that pruned those blocks and gets the pruned answer. Without a checkpoint it does not
// penalise that peer and syncs from genesis from another one (an archive node it learns of); with a checkpoint,
// meeting only peers that pruned, it turns to checkpoint sync. Both converge.
func TestPrunedAnswerTurnsToCheckpointSync(t *testing.T) {
	const (
		archive  = 2
		behind   = 3 // ran a little at the start, comes back with a checkpoint
		latecome = 4 // starts late, without a checkpoint
	)
	c := newCluster(t, []uint64{10, 10, 10, 0, 0}, 100*time.Millisecond, 0)
	// Windows of 5 epochs: a node serves an anchor only while it holds the headers the anchor carries (PROTOCOL.md
	// §13a: back to the third ancestor of an earlier epoch).
	c.run(0, c.clusterConfig(0, 5, nil, observedLogger(t, 0)))
	c.run(1, c.clusterConfig(1, 5, nil, observedLogger(t, 1), 0))
	c.run(archive, c.clusterConfig(archive, 0, nil, observedLogger(t, archive), 0))
	c.run(behind, c.clusterConfig(behind, 0, nil, observedLogger(t, behind), 0))
	waitFor(t, 20*time.Second, "the node that falls behind to hold 3 blocks", func() bool { return c.status(behind).Height >= 3 })
	c.stop(behind)
	cp := c.finalizedCheckpoint(0, 5)
	waitFor(t, 20*time.Second, "node 0 to prune the first blocks", func() bool {
		_, oldest, _ := floorOf(t, c.nodes[0])
		return oldest > 8
	})
	node0 := c.nodes[0].Address().String()

	logs := observedLogger(t, latecome)
	m := c.run(latecome, c.clusterConfig(latecome, 0, nil, logs, 0))
	waitFor(t, 60*time.Second, "the late node to catch up", func() bool { return c.status(latecome).Height >= c.status(0).Height-2 })
	if logs.count("sync failed", "pruned below height") == 0 {
		t.Errorf("the late node never got the pruned answer; logs:\n%s", logs.all())
	}
	if p := m.host.PenaltyPoints(node0); p != 0 {
		t.Errorf("the late node charged the pruned peer %.0f points, want 0", p)
	}
	if _, oldest, _ := floorOf(t, m); oldest != 1 {
		t.Errorf("the late node holds blocks from %d, want 1 (synced from genesis)", oldest)
	}
	c.agreeAt(c.minHeight(0, latecome), 20*time.Second, 0, latecome)

	c.stop(latecome) // the nodes that hold every block: the node behind meets only pruned peers
	c.stop(archive)
	// A checkpoint of now: a node with a window of 5 epochs keeps the anchors of its floors of the last 4 epochs
	// only (the window less one, PROTOCOL.md §13a), and the floors rise every epoch.
	cp = c.finalizedCheckpoint(0, cp.Epoch)
	blogs := observedLogger(t, behind)
	c.run(behind, c.clusterConfig(behind, 0, &cp, blogs, 0))
	waitFor(t, 60*time.Second, "the node behind to catch up", func() bool { return c.status(behind).Height >= c.status(0).Height-2 })
	if blogs.count("checkpoint sync: a peer pruned the blocks this node lacks; fetching the state at the trusted checkpoint", "") == 0 ||
		blogs.count("checkpoint sync: opened the chain at the trusted checkpoint", "") != 1 {
		t.Errorf("the node behind did not turn to checkpoint sync after the pruned answer; logs:\n%s", blogs.all())
	}
	c.agreeAt(c.minHeight(0, behind), 20*time.Second, 0, behind)
}
