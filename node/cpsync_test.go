package node

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/posnode/posnode/chain"
	"github.com/posnode/posnode/node/blocksync"
)

// finalizeFailing is a chain store whose Finalize fails while fail is set, as a disk failing (or a process
// killed) in the write that installs an anchor.
type finalizeFailing struct {
	chain.Store
	fail  atomic.Bool
	tried atomic.Int64
}

func (s *finalizeFailing) Finalize(f *chain.Finalization) error {
	s.tried.Add(1)
	if s.fail.Load() {
		return fmt.Errorf("%w: finalize: input/output error", chain.ErrStoreFailed)
	}
	return s.Store.Finalize(f)
}

// floorOf returns the node's floor and oldest held height, and whether it holds the block below its oldest.
func floorOf(t *testing.T, n *Node) (floor, oldest chain.Height, below error) {
	t.Helper()
	err := n.call(context.Background(), func() {
		floor, oldest, _, _ = n.tree.Retention()
		if oldest > 1 {
			_, below = n.tree.BlockAt(oldest - 1)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	return floor, oldest, below
}

// TestCheckpointSync, over real libp2p (PROTOCOL.md §13a): a fresh validator given a running chain's finalized
// checkpoint first meets a peer that serves a state that does not match the checkpoint block: it refuses it and
// penalises that peer; then it meets an honest node, installs the anchor, follows the chain and proposes, and
// backfills the blocks below the checkpoint down to height 1 (it keeps every block: an archive node). A second
// fresh node whose store fails the anchor's write, and which is then killed and started again on the same
// database, converges and backfills as well.
func TestCheckpointSync(t *testing.T) {
	const (
		fresh   = 3
		liar    = 4
		crashed = 5
	)
	c := newCluster(t, []uint64{10, 10, 10, 10, 0, 0}, 100*time.Millisecond, 0)
	c.start(0)
	c.start(1, 0)
	c.start(2, 0)
	c.run(liar, Config{Home: c.homes[liar], Genesis: c.gen, Listen: []string{"/ip4/127.0.0.1/tcp/0"},
		Bootstrap: c.nodes[0].Addrs()[:1], Logger: observedLogger(t, liar).logger, wsEpochs: clusterWSEpochs,
		anchorLie: func(enc []byte) []byte {
			out := append([]byte(nil), enc...)
			out[len(out)-2] ^= 1 // the last account's unbond epoch
			return out
		}})
	waitFor(t, 60*time.Second, "the chain to finalize epoch 4", func() bool {
		f, err := c.nodes[0].Finality(context.Background())
		return err == nil && f.Finalized.Epoch >= 4
	})
	view, err := c.nodes[0].Finality(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	cp, err := chain.ParseCheckpoint(view.Checkpoint)
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, 20*time.Second, "the liar to hold the checkpoint", func() bool { return chainContains(t, c.nodes[liar], cp) })

	logs := observedLogger(t, fresh)
	n := c.run(fresh, Config{Home: c.homes[fresh], Genesis: c.gen, Listen: []string{"/ip4/127.0.0.1/tcp/0"},
		Bootstrap: c.nodes[liar].Addrs()[:1], Logger: logs.logger, Checkpoint: &cp, wsEpochs: clusterWSEpochs})
	liarID := c.nodes[liar].Address().String()
	waitFor(t, 20*time.Second, "the fresh node to penalise the liar", func() bool {
		return n.host.PenaltyPoints(liarID) >= blocksync.PenaltyInvalid/2
	})
	if logs.count("sync peer misbehaved", "bad anchor") == 0 {
		t.Fatalf("the lying peer's anchor: no log line naming a bad anchor; logs:\n%s", logs.all())
	}
	if err := n.host.Connect(context.Background(), c.nodes[0].Addrs()[0]); err != nil {
		t.Fatal(err)
	}
	self := n.Address()
	waitFor(t, 60*time.Second, "the fresh node to propose a block", func() bool { return c.proposedBy(0, self, 0) > 0 })
	if logs.count("checkpoint sync: opened the chain at the trusted checkpoint", "") != 1 {
		t.Errorf("want one checkpoint sync in the log; got:\n%s", logs.all())
	}
	anchor := c.heightOf(fresh, cp.Hash)
	waitFor(t, 30*time.Second, "the fresh node (an archive node) to backfill down to height 1", func() bool {
		_, oldest, _ := floorOf(t, n)
		return oldest == 1
	})
	floor, _, _ := floorOf(t, n)
	c.agreeAt(c.minHeight(0, fresh), 20*time.Second, 0, fresh)
	t.Logf("checkpoint %s: liar penalised (%.0f points); joined at height %d (floor now %d), proposed at height %d",
		cp.Text(), n.host.PenaltyPoints(liarID), anchor, floor, c.status(fresh).Height)

	// The node whose store fails the anchor's write, killed, and started again on the same database.
	store := &finalizeFailing{}
	store.fail.Store(true)
	clogs := observedLogger(t, crashed)
	cfg := Config{Home: c.homes[crashed], Genesis: c.gen, Listen: []string{"/ip4/127.0.0.1/tcp/0"},
		Bootstrap: c.nodes[0].Addrs()[:1], Logger: clogs.logger, Checkpoint: &cp, wsEpochs: clusterWSEpochs,
		storeWrap: func(s chain.Store) chain.Store { store.Store = s; return store }}
	c.run(crashed, cfg)
	waitFor(t, 20*time.Second, "the anchor's write to fail", func() bool { return store.tried.Load() > 0 })
	c.stop(crashed)
	cfg.storeWrap = nil
	cfg.Logger = observedLogger(t, crashed).logger
	m := c.run(crashed, cfg)
	waitFor(t, 60*time.Second, "the restarted node to catch up", func() bool {
		return c.status(crashed).Height >= c.status(0).Height-2 && c.status(crashed).Height > uint64(anchor)
	})
	waitFor(t, 30*time.Second, "the restarted node to backfill down to height 1", func() bool {
		_, old, _ := floorOf(t, m)
		return old == 1
	})
	c.agreeAt(c.minHeight(0, crashed), 20*time.Second, 0, crashed)
}
