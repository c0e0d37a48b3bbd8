package node

import (
	"context"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/posnode/posnode/chain"
)

// TestReorgCompactionRestartLosesNothing reproduces issue scenario 1: node A (25 % of the stake) and node B (75 %)
// start apart; A's user submits records, A commits them on its own branch and compacts its pending-transaction
// log at every chance; A then meets B and follows B's justified branch, which puts the records back in A's mempool;
// A is stopped cleanly and restarted. Before the fix the log had dropped every record a stored block held, and
// the restart lost them all. Every acknowledged record must end on the common chain exactly once (PROTOCOL.md §11).
func TestReorgCompactionRestartLosesNothing(t *testing.T) {
	const records = 300
	c := newCluster(t, []uint64{25, 75}, 200*time.Millisecond, 0)
	cfg := func(i int, boot ...string) Config {
		return Config{Home: c.homes[i], Genesis: c.gen, Listen: []string{"/ip4/127.0.0.1/tcp/0"}, Bootstrap: boot,
			Logger: zap.NewNop(), PendingSlack: 1}
	}
	a := c.run(0, cfg(0))
	b := c.run(1, cfg(1))
	ids := submitRecords(t, a, records)
	waitFor(t, 60*time.Second, "A to commit its records on its own branch", func() bool { return allCommitted(a, ids) })
	aBranch, err := a.Block(context.Background(), 1)
	if err != nil {
		t.Fatal(err)
	}
	var logged, unflushed int
	waitFor(t, 10*time.Second, "A's branch stored, so that its log could compact", func() bool {
		a.call(context.Background(), func() { logged, unflushed = a.pendingLog.Len(), a.tree.Unflushed() })
		return unflushed == 0
	})
	t.Logf("A committed %d records on its own branch (block 1 %s); its pending-transaction log holds %d (none is final)",
		records, aBranch.Hash.Short(), logged)
	if logged != records {
		t.Errorf("A's log holds %d entries, want all %d: none is in a finalized block", logged, records)
	}

	// A meets B and follows B's branch, justified and finalized by B's 75 %.
	waitFor(t, 30*time.Second, "B to finalize on its own", func() bool { return c.status(1).Finalized.Epoch > 0 })
	if err := a.Connect(context.Background(), b.Addrs()[0]); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 30*time.Second, "A to reorg onto B's branch", func() bool {
		blk, err := a.Block(context.Background(), 1)
		return err == nil && blk.Hash != aBranch.Hash
	})
	c.stop(0)
	c.run(0, cfg(0, b.Addrs()[0]))
	a = c.nodes[0]
	lost := 0
	deadline := time.Now().Add(60 * time.Second)
	for !allCommitted(b, ids) && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	for _, id := range ids {
		if st, err := b.Tx(context.Background(), id); err != nil || (st.Status != "committed" && st.Status != "finalized") {
			lost++
		}
	}
	t.Logf("lost %d of %d acknowledged records after reorg + compaction + restart", lost, records)
	if lost > 0 {
		t.Fatalf("%d of %d acknowledged records are not on the common chain", lost, records)
	}
	c.agreeAt(c.minHeight(0, 1), 30*time.Second, 0, 1)
	waitForCommitted(t, c, ids, []int{0, 1})

	// Once final, they leave A's log: the compaction rule drops what is final, and only that.
	waitFor(t, 60*time.Second, "A's records final and out of its log", func() bool {
		for _, id := range ids {
			if st, err := a.Tx(context.Background(), id); err != nil || st.Status != "finalized" {
				return false
			}
		}
		a.call(context.Background(), func() { logged = a.pendingLog.Len() })
		return logged == 0
	})
	t.Logf("A's log holds %d entries once every record is final", logged)
}

// submitRecords submits n heart-rate records through node a's own account, from a few concurrent users, and
// returns the IDs of those acknowledged (all, or the test fails).
func submitRecords(t *testing.T, a *Node, n int) []chain.Hash {
	t.Helper()
	var mu sync.Mutex
	var ids []chain.Hash
	var wg sync.WaitGroup
	for u := range 4 {
		wg.Go(func() {
			for k := u; k < n; k += 4 {
				id, err := submitOwn(a, chain.TxBPM, chain.Address{}, uint64(60+k%100))
				if err != nil {
					t.Errorf("record %d: %v", k, err)
					return
				}
				mu.Lock()
				ids = append(ids, id)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if len(ids) != n {
		t.Fatalf("%d of %d records acknowledged", len(ids), n)
	}
	return ids
}

// allCommitted reports whether node n has every transaction of ids on its canonical chain.
func allCommitted(n *Node, ids []chain.Hash) bool {
	for _, id := range ids {
		if st, err := n.Tx(context.Background(), id); err != nil || (st.Status != "committed" && st.Status != "finalized") {
			return false
		}
	}
	return true
}
