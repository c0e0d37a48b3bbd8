package node

import (
	"testing"
	"time"
)

// TestCheckpointSyncOldCheckpoint (PROTOCOL.md §13a): in a network whose nodes prune all but the last 20 epochs of
// blocks (and so keep anchors for 19), a fresh node given a checkpoint finalized ten epochs ago installs the anchor
// at it, which its peers kept on disk, and follows the chain; a fresh node given a checkpoint older than that
// warns, once, that no peer holds it and what to do, and keeps asking.
func TestCheckpointSyncOldCheckpoint(t *testing.T) {
	const (
		fresh  = 3
		tooOld = 4
		retain = 20 // epochs of blocks the validators keep below the floor; they keep anchors for retain − 1
	)
	c := newCluster(t, []uint64{10, 10, 10, 0, 0}, 100*time.Millisecond, 0)
	for i := range fresh {
		cfg := c.clusterConfig(i, retain, nil, observedLogger(t, i))
		if i > 0 {
			cfg = c.clusterConfig(i, retain, nil, observedLogger(t, i), 0)
		}
		c.run(i, cfg)
	}
	old := c.finalizedCheckpoint(0, 1)
	cp := c.finalizedCheckpoint(0, old.Epoch+retain-5)
	cpHeight := uint64(c.heightOf(0, cp.Hash))
	now := c.finalizedCheckpoint(0, cp.Epoch+10)
	for i := range fresh {
		if _, oldest, _ := floorOf(t, c.nodes[i]); oldest <= 1 {
			t.Fatalf("node %d holds blocks from height %d: not pruned", i, oldest)
		}
	}

	logs := observedLogger(t, fresh)
	c.run(fresh, c.clusterConfig(fresh, 0, &cp, logs, 0))
	waitFor(t, 60*time.Second, "the fresh node to catch up", func() bool {
		return c.status(fresh).Height >= c.status(0).Height-2 && c.status(fresh).Height > cpHeight
	})
	if logs.count("checkpoint sync: opened the chain at the trusted checkpoint", "") != 1 || logs.count(notHeldMsg, "") != 0 {
		t.Errorf("checkpoint %s, %d epochs before the finalized %s: want one anchor installed, no warning; logs:\n%s",
			cp.Text(), now.Epoch-cp.Epoch, now.Text(), logs.all())
	}
	c.agreeAt(c.minHeight(0, fresh), 20*time.Second, 0, fresh)

	ologs := observedLogger(t, tooOld)
	c.run(tooOld, c.clusterConfig(tooOld, 0, &old, ologs, 0))
	waitFor(t, 30*time.Second, "the node with a checkpoint too old to warn", func() bool {
		return ologs.count(notHeldMsg, old.Text()) > 0
	})
	if n := ologs.count(notHeldMsg, ""); n != 1 {
		t.Errorf("the node with a checkpoint too old warned %d times, want 1 (the next after a minute)", n)
	}
	if ologs.count(notHeldMsg, notHeldDo) != 1 {
		t.Errorf("the warning does not say what to do; logs:\n%s", ologs.all())
	}
	if c.status(tooOld).Height != 0 {
		t.Errorf("the node with a checkpoint too old is at height %d, want 0", c.status(tooOld).Height)
	}
	t.Logf("pruned network: anchor at %s installed %d epochs after it finalized; %s (%d epochs old) refused with a warning",
		cp.Text(), now.Epoch-cp.Epoch, old.Text(), now.Epoch-old.Epoch)
}
