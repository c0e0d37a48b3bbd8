package mempool

import (
	"testing"

	"github.com/posnode/posnode/chain"
)

// The mempool's prefix index finds IDs that share their first four bytes apart, and forgets removed ones.
func TestMempoolIDPrefixes(t *testing.T) {
	a, b, c := chain.Hash{1, 2, 3, 4, 5}, chain.Hash{1, 2, 3, 4, 6}, chain.Hash{9, 9, 9, 9}
	x := idPrefixes{}
	for _, h := range []chain.Hash{a, b, c} {
		x.add(h)
	}
	tests := []struct {
		prefix []byte
		want   int
	}{{[]byte{1, 2, 3, 4}, 2}, {[]byte{1, 2, 3, 4, 5}, 1}, {[]byte{9, 9, 9, 9}, 1}, {[]byte{1, 2, 3, 5}, 0}}
	for _, tc := range tests {
		if got := len(x.with(tc.prefix, 16)); got != tc.want {
			t.Errorf("with(%x): %d IDs, want %d", tc.prefix, got, tc.want)
		}
	}
	if got := len(x.with([]byte{1, 2, 3, 4}, 1)); got != 1 {
		t.Errorf("with a bound of 1: %d IDs, want 1", got)
	}
	x.remove(a)
	if got := x.with([]byte{1, 2, 3, 4}, 16); len(got) != 1 || got[0] != b {
		t.Errorf("after removing %x: %x, want only %x", a[:5], got, b[:5])
	}
	x.remove(b)
	x.remove(c)
	if len(x) != 0 {
		t.Errorf("%d buckets left after removing every ID, want 0", len(x))
	}
}
