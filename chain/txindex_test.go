package chain

import (
	"bytes"
	"slices"
	"testing"
)

// TxIDs finds transactions by ID prefix, each ID once even when several blocks hold it, in byte order.
func TestStoreTxIDs(t *testing.T) {
	for _, k := range storeKinds() {
		t.Run(k.name, func(t *testing.T) {
			s := k.open(t)
			bs := storeForest()
			mustPut(t, s, bs...)
			var want []Hash
			for _, b := range bs {
				for _, tx := range b.Txs {
					if !slices.Contains(want, tx.ID()) {
						want = append(want, tx.ID())
					}
				}
			}
			slices.SortFunc(want, func(a, b Hash) int { return bytes.Compare(a[:], b[:]) })
			if got, err := s.TxIDs(nil, 100); err != nil || !slices.Equal(got, want) {
				t.Fatalf("all ids: got %v, %v; want %v", got, err, want)
			}
			if got, err := s.TxIDs(nil, 1); err != nil || !slices.Equal(got, want[:1]) {
				t.Errorf("max 1: got %v, %v; want %v", got, err, want[:1])
			}
			for _, id := range want {
				if got, err := s.TxIDs(id[:4], 10); err != nil || !slices.Contains(got, id) || len(got) != 1 {
					t.Errorf("prefix %x: got %v, %v; want [%s]", id[:4], got, err, id)
				}
			}
			absent := want[0]
			absent[0] ^= 0xff
			if got, err := s.TxIDs(absent[:], 10); err != nil || len(got) != 0 {
				t.Errorf("absent id: got %v, %v; want none", got, err)
			}
		})
	}
}
