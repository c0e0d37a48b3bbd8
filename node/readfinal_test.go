package node

import (
	"testing"

	"github.com/posnode/posnode/chain"
)

// The finalized heights of the canonical index are read from the store off the event loop (fillFinal): pruned
// heights stay empty, heights the store's canonical index does not hold yet are left to the loop's steps.
func TestReadIndexFillsFinalizedHeightsFromTheStore(t *testing.T) {
	store := chain.NewMemStore()
	var hashes []chain.Hash
	parent := chain.HashBytes([]byte("genesis"))
	for h := chain.Height(1); h <= 6; h++ {
		b := &chain.Block{Header: chain.Header{Height: h, Slot: chain.Slot(2 * h), Parent: parent,
			Proposer: chain.Address{byte(h)}}}
		if err := store.PutBlock(b); err != nil {
			t.Fatal(err)
		}
		parent = b.Hash()
		hashes = append(hashes, parent)
	}
	// Heights 1..4 are final, and 1 was pruned.
	if err := store.Finalize(&chain.Finalization{From: 1, Canon: hashes[:4], PruneBelow: 2}); err != nil {
		t.Fatal(err)
	}
	n := &Node{store: store, chainID: chain.HashBytes([]byte("genesis"))}
	n.head.Store(&headView{tip: chain.Tip{Hash: hashes[5], Height: 6}})
	b := newSnapBuilder(nil)
	b.fillFinal(n)
	if got, want := b.snap.n, 5; got != want {
		t.Fatalf("heights filled: got 0..%d, want 0..%d", got-1, want-1)
	}
	want := []canonEntry{{hash: n.chainID}, {}}
	for h := chain.Height(2); h <= 4; h++ {
		want = append(want, canonEntry{hash: hashes[h-1], slot: chain.Slot(2 * h), proposer: chain.Address{byte(h)}})
	}
	for h, w := range want {
		if got := b.snap.at(chain.Height(h)); got != w {
			t.Errorf("height %d: got %+v, want %+v", h, got, w)
		}
	}
}
