package chain

import (
	"slices"
	"testing"
)

// Every block of the tree, the genesis and a side block included, is found by the first 4 bytes of its hash
// (the 8 hex digits the node prints); an empty prefix lists them all in byte order, cut at max.
func TestTreeBlockHashes(t *testing.T) {
	tr := finTree(t, 6)
	side := grow(t, tr, tr.canon[3].hash, 7, nil) // a second child of block 3
	all := []Hash{tr.ChainID(), side.Hash()}
	for h := Height(1); h <= 6; h++ {
		c, _ := tr.CanonicalHash(h)
		all = append(all, c)
	}
	for _, h := range all {
		if got := tr.BlockHashes(h[:4], 16); !slices.Equal(got, []Hash{h}) {
			t.Errorf("prefix %x: got %v, want [%s]", h[:4], got, h)
		}
	}
	got := tr.BlockHashes(nil, 100)
	if len(got) != len(all) || !slices.IsSortedFunc(got, func(a, b Hash) int { return slices.Compare(a[:], b[:]) }) {
		t.Errorf("all: got %d hashes %v, want %d in byte order", len(got), got, len(all))
	}
	if got := tr.BlockHashes(nil, 3); len(got) != 3 {
		t.Errorf("max 3: got %d hashes", len(got))
	}
	absent := all[0]
	absent[0] ^= 0xff
	if got := tr.BlockHashes(absent[:], 16); len(got) != 0 {
		t.Errorf("absent hash: got %v", got)
	}
}
