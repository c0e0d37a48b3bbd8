package chain

import "testing"

// CanonicalHeader answers from memory with the canonical block's header at each height, and nothing outside 1..head.
func TestCanonicalHeader(t *testing.T) {
	tr := openTestTree(t, testGenesis(), NewMemStore())
	blocks := growHead(t, tr, 5, 0)
	for _, b := range blocks {
		hd, h, ok := tr.CanonicalHeader(b.Header.Height)
		if !ok || h != b.Hash() || hd != b.Header {
			t.Errorf("height %d: got %s %v, want block %s", b.Header.Height, h.Short(), ok, b.Hash().Short())
		}
	}
	for _, height := range []Height{0, 6} {
		if _, _, ok := tr.CanonicalHeader(height); ok {
			t.Errorf("height %d: got a header, want none", height)
		}
	}
}
