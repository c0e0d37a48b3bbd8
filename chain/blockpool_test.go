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
