package node

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/posnode/posnode/chain"
	"github.com/posnode/posnode/node/signgate"
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
	n.synced = true
	at := func(s chain.Slot) bool {
		now = c.gen.Time.Add(time.Duration(s)*time.Second + time.Millisecond)
		return n.maySign(signgate.Block, s)
	}
	if at(115) || !at(116) {
		t.Errorf("may sign at 115, 116: got %v, %v; want false, true", at(115), at(116))
	}
	if at(115); n.gate.Status() != "waiting for the doppelganger check until slot 116" {
		t.Errorf("status at 115: %q", n.gate.Status())
	}
	now = c.gen.Time.Add(100*time.Second + time.Millisecond)
	old := &chain.Block{Header: chain.Header{Height: 3, Slot: 83, Proposer: n.self}}
	n.checkOwnKey(old)
	if n.doppelganger != "" {
		t.Fatalf("a block of this key from before the watch stopped signing: %s", n.doppelganger)
	}
	n.checkOwnKey(&chain.Block{Header: chain.Header{Height: 4, Slot: 84, Proposer: addrOf(c.keys[1])}})
	if n.doppelganger != "" {
		t.Fatal("another validator's block stopped signing")
	}
	// Blocks the slashing protection record holds with their roots are the node's own, back from a peer.
	signed := &chain.Block{Header: chain.Header{Height: 5, Slot: 90, Proposer: n.self}}
	if err := n.guard.CheckAndRecordBlock(n.self, 90, signed.Hash()); err != nil {
		t.Fatal(err)
	}
	if n.checkOwnKey(signed); n.doppelganger != "" {
		t.Fatalf("a block of this key that its record holds stopped signing: %s", n.doppelganger)
	}
	n.checkOwnKey(&chain.Block{Header: chain.Header{Height: 5, Slot: 90, Proposer: n.self, StateRoot: chain.Hash{1}}})
	if n.doppelganger == "" || at(200) || !strings.HasPrefix(n.gate.Status(), "stopped") {
		t.Fatalf("after another block of this key at a recorded slot: doppelganger %q, signing %q", n.doppelganger, n.gate.Status())
	}

	before := c.gen.Time.Add(-time.Minute)
	n.cfg.Now = func() time.Time { return before }
	n.doppelganger, n.signFrom = "", 0
	n.gate.Clear(signgate.Doppelganger)
	n.startDoppelgangerWatch()
	if n.refreshSigning(); n.signFrom != 0 || slices.Contains(n.gate.Kinds(), signgate.DoppelgangerWait.String()) {
		t.Errorf("started before genesis: sign from slot %d, want 0 (no wait); signing %q", n.signFrom, n.gate.Status())
	}
	n.doppelganger, n.watchFrom = "", 0
	n.gate.Clear(signgate.Doppelganger)
	if n.checkOwnKey(&chain.Block{Header: chain.Header{Height: 6, Slot: 91, Proposer: n.self}}); n.doppelganger == "" {
		t.Fatal("a block of this key above its record's latest slot did not stop signing")
	}
}
