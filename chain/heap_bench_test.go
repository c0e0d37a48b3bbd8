package chain

import (
	"fmt"
	"runtime"
	"testing"
)

// BenchmarkTreeHeap prints the heap a tree holds per block of a chain of 20,000 blocks it opened (replayed) from a
// store in memory: a chain whose every epoch finalizes, and one without votes that never finalizes (PROTOCOL.md
// §13). The store's own bytes are left out: the figure is the tree's.
func BenchmarkTreeHeap(b *testing.B) {
	const n = 20_000
	for _, tc := range []struct {
		name string
		gen  func(testing.TB, *Genesis, int) []*Block
	}{
		{"finalizing", finalChain},
		{"no-votes", func(tb testing.TB, g *Genesis, n int) []*Block { return chainBlocks(tb, g, n, nil) }},
	} {
		b.Run(tc.name, func(b *testing.B) {
			g := richGenesis()
			s := NewMemStore()
			blocks := tc.gen(b, g, n)
			if err := s.PutBlocks(blocks); err != nil {
				b.Fatal(err)
			}
			blocks = nil
			for b.Loop() {
				before := heapInUse()
				tr, err := OpenTree(TreeConfig{Genesis: g, Store: s, Elect: treeElect, Better: treeBetter, Finality: testFinality})
				if err != nil {
					b.Fatal(err)
				}
				after := heapInUse()
				b.ReportMetric(float64(after-before)/n, "heap-B/block")
				fmt.Printf("tree heap %s: %d blocks, %d bytes, %.0f bytes/block\n", tc.name, n, after-before, float64(after-before)/n)
				runtime.KeepAlive(tr)
			}
		})
	}
}

// heapInUse returns the bytes of live heap objects after a full collection.
func heapInUse() int64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return int64(m.HeapAlloc)
}
