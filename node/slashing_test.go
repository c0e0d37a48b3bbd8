package node

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap/zaptest"

	"github.com/posnode/posnode/chain"
	"github.com/posnode/posnode/consensus"
	"github.com/posnode/posnode/node/slashprot"
)

// ownBlocks collects the blocks a node proposes, from its OnBlock callback.
type ownBlocks struct {
	mu    sync.Mutex
	slots map[chain.Slot]chain.Hash
}

func (o *ownBlocks) add(b *chain.Block, local bool) {
	if !local {
		return
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	o.slots[b.Header.Slot] = b.Hash()
}

// span returns the number of blocks and the lowest and highest slot.
func (o *ownBlocks) span() (n int, lo, hi chain.Slot) {
	o.mu.Lock()
	defer o.mu.Unlock()
	for s := range o.slots {
		if n == 0 || s < lo {
			lo = s
		}
		hi = max(hi, s)
		n++
	}
	return n, lo, hi
}

// startClocked runs node i of c as c.start does, with its own clock and a callback on every block it stores.
func startClocked(c *cluster, i int, now func() time.Time, onBlock func(*chain.Block, bool)) *Node {
	c.t.Helper()
	return c.run(i, Config{Home: c.homes[i], Genesis: c.gen, Listen: []string{"/ip4/127.0.0.1/tcp/0"}, HTTP: "127.0.0.1:0",
		Logger: zaptest.NewLogger(c.t).Named(fmt.Sprintf("node%d", i)), Now: now, OnBlock: onBlock})
}

// A validator that signed blocks, lost its chain.db and came back with its clock behind (so that it wins, once
// more, the slots it already signed) signs none of them again: the slashing protection record in the data
// directory still refuses them, and the node signs again only after its last signed slot.
func TestNoConflictingBlockAfterChainDBDeleted(t *testing.T) {
	slot := 100 * time.Millisecond
	c := newCluster(t, []uint64{10}, slot, -10*slot)
	first := &ownBlocks{slots: map[chain.Slot]chain.Hash{}}
	startClocked(c, 0, time.Now, first.add)
	waitFor(t, 30*time.Second, "15 own blocks", func() bool { n, _, _ := first.span(); return n >= 15 })
	c.stop(0)
	_, lo, hi := first.span()

	if err := os.Remove(filepath.Join(c.homes[0], "chain.db")); err != nil {
		t.Fatal(err)
	}
	// Back to slot lo-25: with no peer, the node proposes from about 30 slots after its start, i.e. from about
	// lo+5, well inside the slots it signed (the sole validator wins every slot).
	real := consensus.SlotAt(c.gen.Time, slot, time.Now())
	shift := time.Duration(real-(lo-25)) * slot
	second := &ownBlocks{slots: map[chain.Slot]chain.Hash{}}
	n := startClocked(c, 0, func() time.Time { return time.Now().Add(-shift) }, second.add)
	var readyAt chain.Slot
	waitFor(t, 20*time.Second, "the restarted node to be ready to propose", func() bool {
		st, err := n.Status(context.Background())
		readyAt = chain.Slot(st.Slot)
		return err == nil && readyToPropose(n)
	})
	if readyAt >= hi {
		t.Fatalf("node ready to propose only at slot %d, after the signed slots %d..%d: the test shows nothing", readyAt, lo, hi)
	}
	waitFor(t, 20*time.Second, "a block after the last signed slot", func() bool { _, _, h := second.span(); return h > hi })
	second.mu.Lock()
	defer second.mu.Unlock()
	for s, h := range second.slots {
		if s <= hi {
			t.Errorf("signed slot %d again (%s, first %s); the last signed slot was %d", s, h.Short(), first.slots[s].Short(), hi)
		}
	}
	t.Logf("signed slots %d..%d; restarted without chain.db, ready at slot %d, next block at a slot > %d", lo, hi, readyAt, hi)
}

// The last signed slot that chain.db held before the slashing protection record existed is moved into the
// record, which keeps it after chain.db is deleted.
func TestLastSignedSlotMovesIntoTheRecord(t *testing.T) {
	c := newCluster(t, []uint64{10}, 100*time.Millisecond, 0)
	store, err := chain.OpenBolt(filepath.Join(c.homes[0], "chain.db"))
	if err != nil {
		t.Fatal(err)
	}
	if err := store.PutMeta(metaLastSigned, encodeSlot(50)); err != nil {
		t.Fatal(err)
	}
	store.Close()
	for round, dropChainDB := range []bool{false, true} {
		if dropChainDB {
			if err := os.Remove(filepath.Join(c.homes[0], "chain.db")); err != nil {
				t.Fatal(err)
			}
		}
		n, err := New(Config{Home: c.homes[0], Genesis: c.gen})
		if err != nil {
			t.Fatal(err)
		}
		got, ok := n.guard.LatestBlock(n.self)
		lastSigned := n.lastSigned
		n.pendingLog.Close()
		n.guard.Close()
		n.store.Close()
		if !ok || got != 50 || lastSigned != 50 {
			t.Errorf("round %d (chain.db deleted: %t): record says %d %t, node %d; want 50", round, dropChainDB, got, ok, lastSigned)
		}
	}
	db, err := slashprot.Open(filepath.Join(c.homes[0], slashprot.FileName))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.CheckAndRecordBlock(chain.AddressOf(c.keys[0].Public().(ed25519.PublicKey)), 50, chain.HashBytes([]byte("x"))); err == nil {
		t.Error("slot 50, recorded with an unknown root, may be signed")
	}
}

// readyToPropose reports whether n has caught up and would propose when it wins a slot. Status.Synced says less
// for a lone node: it is false without peers, while a lone validator still proposes.
func readyToPropose(n *Node) bool {
	var ready bool
	if err := n.call(context.Background(), func() { ready = n.synced && !n.syncing }); err != nil {
		return false
	}
	return ready
}
