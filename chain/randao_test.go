package chain

import (
	"errors"
	"testing"
)

// wantSource computes the seed source of slot on top of the canonical block at parent height by walking the
// canonical headers, the plain way PROTOCOL.md §6 states it.
func wantSource(t *testing.T, tr *Tree, bs []*Block, parentIdx int, slot Slot) Hash {
	t.Helper()
	g := tr.Genesis()
	if g.Rule() == SeedParentHash {
		if parentIdx < 0 {
			return g.Hash()
		}
		return bs[parentIdx].Hash()
	}
	e := g.EpochOf(slot)
	if e < 2 {
		return GenesisMix(g.Hash())
	}
	boundary := Slot((uint64(e) - 1) * g.EpochLength)
	for i := parentIdx; i >= 0; i-- {
		if bs[i].Header.Slot < boundary {
			return bs[i].Header.Mix
		}
	}
	return GenesisMix(g.Hash())
}

func TestSeedSource(t *testing.T) {
	for _, rule := range []SeedRule{SeedRANDAO, SeedParentHash} {
		t.Run(string(rule), func(t *testing.T) {
			g := richGenesis()
			g.SeedRule = rule
			tr := openTestTree(t, g, NewMemStore())
			// 45 blocks over 5 epochs of 10 slots, with gaps so that epochs end on empty slots too.
			var bs []*Block
			parent := tr.Head().Hash
			for s := Slot(1); s <= 50; s++ {
				if s%7 == 0 || s%10 == 9 {
					continue
				}
				b := grow(t, tr, parent, s, nil)
				bs, parent = append(bs, b), b.Hash()
			}
			for i := -1; i < len(bs); i++ {
				p, from := g.Hash(), Slot(0)
				if i >= 0 {
					p, from = bs[i].Hash(), bs[i].Header.Slot
				}
				for slot := from + 1; slot <= from+25; slot++ {
					got, err := tr.SeedSource(p, slot)
					if err != nil {
						t.Fatal(err)
					}
					if want := wantSource(t, tr, bs, i, slot); got != want {
						t.Fatalf("parent #%d, slot %d: got %s, want %s", i+1, slot, got.Short(), want.Short())
					}
				}
			}
			if _, err := tr.SeedSource(Hash{9}, 3); !errors.Is(err, ErrNotFound) {
				t.Errorf("unknown parent: got %v, want ErrNotFound", err)
			}
		})
	}
}

// TestMixIgnoresContents: under randao, two blocks that differ only in their transactions carry the same mix, so
// a proposer that reorders or rewrites its block cannot move any later seed (PROTOCOL.md §6, §9).
func TestMixIgnoresContents(t *testing.T) {
	tr := openTestTree(t, richGenesis(), NewMemStore())
	growHead(t, tr, 3, 0)
	head := tr.Head()
	a := build(t, tr, head.Hash, head.Slot+1, nil)
	b := build(t, tr, head.Hash, head.Slot+1, transfers(tr.ChainID(), tr.HeadState(), 2))
	if a.Hash() == b.Hash() {
		t.Fatal("the two versions have the same hash, want different")
	}
	if a.Header.Mix != b.Header.Mix {
		t.Errorf("mix: got %s and %s, want one mix for one proposer and slot", a.Header.Mix.Short(), b.Header.Mix.Short())
	}
}

func TestInsertBeaconErrors(t *testing.T) {
	tr := openTestTree(t, richGenesis(), NewMemStore())
	growHead(t, tr, 3, 0)
	head := tr.Head()
	slot := head.Slot + 1
	leader := leaderAt(t, tr, head.Hash, slot)
	resign := func(f func(b *Block)) *Block {
		b := build(t, tr, head.Hash, slot, nil)
		f(b)
		b.Sign(tr.ChainID(), testKey(leader))
		return b
	}
	tests := []struct {
		name string
		b    *Block
		want error
	}{
		{"mix flipped", resign(func(b *Block) { b.Header.Mix[0] ^= 1 }), ErrBadMix},
		{"mix of the parent", resign(func(b *Block) { b.Header.Mix = head.Mix }), ErrBadMix},
		{"proof of another key", resign(func(b *Block) { b.Header.VRFProof = ProveVRF(testKey(leader+1), tr.ChainID(), slot) }), ErrBadVRFProof},
		{"proof of another slot", resign(func(b *Block) { b.Header.VRFProof = ProveVRF(testKey(leader), tr.ChainID(), slot+1) }), ErrBadVRFProof},
		{"proof of another chain", resign(func(b *Block) { b.Header.VRFProof = ProveVRF(testKey(leader), Hash{1}, slot) }), ErrBadVRFProof},
		{"proof bit flipped", resign(func(b *Block) { b.Header.VRFProof[50] ^= 1 }), ErrBadVRFProof},
		{"zero proof", resign(func(b *Block) { b.Header.VRFProof = VRFProof{} }), ErrBadVRFProof},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := tr.Insert(tc.b, slot); !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
			if tr.Head() != head {
				t.Errorf("head moved to %s, want it unchanged", tr.Head().Hash.Short())
			}
		})
	}
}

// TestReplayChecksMix: a stored block whose mix was changed on disk is caught when the tree is reopened.
func TestReplayChecksMix(t *testing.T) {
	g := richGenesis()
	s := NewMemStore()
	tr := openTestTree(t, g, s)
	growHead(t, tr, 2, 0)
	head := tr.Head()
	b := build(t, tr, head.Hash, head.Slot+1, nil)
	b.Header.Mix[3] ^= 1
	if err := s.PutBlock(b); err != nil {
		t.Fatal(err)
	}
	_, err := OpenTree(TreeConfig{Genesis: g, Store: s, Elect: treeElect, Better: treeBetter, Finality: testFinality})
	if !errors.Is(err, ErrCorruptStore) || !errors.Is(err, ErrBadMix) {
		t.Fatalf("got %v, want ErrCorruptStore and ErrBadMix", err)
	}
}
