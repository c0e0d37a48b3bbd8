package chain

import "testing"

// TestBlockPool: stores that share a pool hold one copy of a block's encoding, and a store given another encoding
// under the same hash (another signature) keeps and returns its own.
func TestBlockPool(t *testing.T) {
	g := richGenesis()
	b := finalChain(t, g, 1)[0]
	pool := NewBlockPool()
	s1, s2, s3 := NewSharedMemStore(pool), NewSharedMemStore(pool), NewSharedMemStore(pool)
	other := *b
	other.Sig[0] ^= 1
	for _, put := range []struct {
		s *MemStore
		b *Block
	}{{s1, b}, {s2, b}, {s3, &other}} {
		if err := put.s.PutBlock(put.b); err != nil {
			t.Fatal(err)
		}
	}
	h := b.Hash()
	if e1, e2 := s1.blocks[h], s2.blocks[h]; &e1[0] != &e2[0] {
		t.Error("two stores of one pool hold two copies of the same encoding")
	}
	for i, s := range []*MemStore{s1, s2, s3} {
		want := b.Sig
		if s == s3 {
			want = other.Sig
		}
		got, err := s.Block(h)
		if err != nil {
			t.Fatalf("store %d: %v", i+1, err)
		}
		if got.Sig != want {
			t.Errorf("store %d: got signature %x…, want %x…", i+1, got.Sig[:4], want[:4])
		}
	}
}

// TestBlockPoolAnchors: stores that share a pool hold one copy of a kept anchor's encoding; a store given other
// bytes for the same checkpoint keeps and returns its own.
func TestBlockPoolAnchors(t *testing.T) {
	pool := NewBlockPool()
	h := Hash{7}
	enc, other := []byte("anchor at checkpoint 7"), []byte("another anchor at checkpoint 7")
	stores := []*MemStore{NewSharedMemStore(pool), NewSharedMemStore(pool), NewSharedMemStore(pool)}
	for i, s := range stores {
		e := enc
		if i == 2 {
			e = other
		}
		if err := s.Finalize(&Finalization{Anchors: []AnchorRecord{{Epoch: 1, Hash: h, Enc: e}}}); err != nil {
			t.Fatal(err)
		}
	}
	got := make([][]byte, len(stores))
	for i, s := range stores {
		var err error
		if got[i], err = s.Anchor(h); err != nil {
			t.Fatalf("store %d: %v", i+1, err)
		}
	}
	if string(got[0]) != "anchor at checkpoint 7" || string(got[2]) != string(other) {
		t.Errorf("anchors: got %q and %q, want the bytes each store was given", got[0], got[2])
	}
	if &got[0][0] != &got[1][0] {
		t.Error("two stores of one pool hold two copies of the same anchor")
	}
}
