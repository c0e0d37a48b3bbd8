package node

import (
	"testing"
	"time"

	"github.com/posnode/posnode/chain"
)

// The start-up wait covers DoppelgangerSlots slots after a start after genesis and none before genesis; a block of
// the node's key from the watched slots stops signing for good, one from before them does not.
func TestDoppelgangerWatch(t *testing.T) {
	c := newCluster(t, []uint64{10, 10}, time.Second, -100*time.Second)
	n, err := New(Config{Home: c.homes[0], Genesis: c.gen, DoppelgangerSlots: 16})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.pendingLog.Close(); n.store.Close() })
	now := c.gen.Time.Add(100*time.Second + time.Millisecond) // slot 100
	n.cfg.Now = func() time.Time { return now }
	n.startDoppelgangerWatch()
	if n.watchFrom != 84 || n.signFrom != 116 {
		t.Fatalf("watch from slot %d, sign from %d; want 84, 116", n.watchFrom, n.signFrom)
	}
	if n.mayPropose(115) || !n.mayPropose(116) {
		t.Errorf("may propose at 115, 116: got %v, %v; want false, true", n.mayPropose(115), n.mayPropose(116))
	}
	old := &chain.Block{Header: chain.Header{Height: 3, Slot: 83, Proposer: n.self}}
	n.checkOwnKey(old)
	if n.doppelganger != "" {
		t.Fatalf("a block of this key from before the watch stopped signing: %s", n.doppelganger)
	}
	n.checkOwnKey(&chain.Block{Header: chain.Header{Height: 4, Slot: 84, Proposer: addrOf(c.keys[1])}})
	if n.doppelganger != "" {
		t.Fatal("another validator's block stopped signing")
	}
	n.checkOwnKey(&chain.Block{Header: chain.Header{Height: 4, Slot: 84, Proposer: n.self}})
	if n.doppelganger == "" || n.mayPropose(200) || n.signing()[:7] != "stopped" {
		t.Fatalf("after a block of this key it did not make: doppelganger %q, signing %q", n.doppelganger, n.signing())
	}

	before := c.gen.Time.Add(-time.Minute)
	n.cfg.Now = func() time.Time { return before }
	n.doppelganger, n.signFrom = "", 0
	n.startDoppelgangerWatch()
	if n.signFrom != 0 || !n.mayPropose(1) {
		t.Errorf("started before genesis: sign from slot %d, want 0 (no wait)", n.signFrom)
	}
}
