package chain

import (
	"fmt"
	"path/filepath"
	"testing"
)

// benchTxsPerBlock is the size of the blocks of BenchmarkInsert.
const benchTxsPerBlock = 100

// BenchmarkInsert measures Tree.Insert of blocks of 100 transfers on top of the head: validation
// (signatures included), the state transition, the store write and fork choice.
func BenchmarkInsert(b *testing.B) {
	stores := []struct {
		name string
		open func(b *testing.B) Store
	}{
		{"mem", func(*testing.B) Store { return NewMemStore() }},
		{"bolt", func(b *testing.B) Store {
			s, err := OpenBolt(filepath.Join(b.TempDir(), "chain.db"))
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { s.Close() })
			return s
		}},
	}
	for _, st := range stores {
		b.Run(st.name, func(b *testing.B) {
			g := richGenesis()
			blocks := benchBlocks(b, g, b.N)
			tr := openTestTree(b, g, st.open(b))
			b.ResetTimer()
			for _, blk := range blocks {
				if _, err := tr.Insert(blk, blk.Header.Slot); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N*benchTxsPerBlock)/b.Elapsed().Seconds(), "tx/s")
		})
	}
	b.Run("bolt-write-behind", benchInsertWriteBehind)
}

// benchInsertWriteBehind is BenchmarkInsert/bolt with TreeConfig.WriteBehind, as a node imports a gossiped block:
// it times Insert, which accepts the block into the tree and is what gossip waits for before it forwards the
// block; the Flush after each block, which a node runs off that path, is left out of the time.
func benchInsertWriteBehind(b *testing.B) {
	g := richGenesis()
	blocks := benchBlocks(b, g, b.N)
	s, err := OpenBolt(filepath.Join(b.TempDir(), "chain.db"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	tr, err := OpenTree(TreeConfig{Genesis: g, Store: s, Elect: treeElect, Better: treeBetter, Finality: testFinality, WriteBehind: true})
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for _, blk := range blocks {
		if _, err := tr.Insert(blk, blk.Header.Slot); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		if err := tr.Flush(); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
	b.ReportMetric(float64(b.N*benchTxsPerBlock)/b.Elapsed().Seconds(), "tx/s")
}

// BenchmarkInsertVerified is BenchmarkInsert/mem with every transaction's signature already verified
// into the tree's SigCache, as a node's mempool does when the transactions arrive by gossip.
func BenchmarkInsertVerified(b *testing.B) {
	g := richGenesis()
	blocks := benchBlocks(b, g, b.N)
	sigs := NewSigCache(g.Hash(), b.N*benchTxsPerBlock)
	for _, blk := range blocks {
		for i := range blk.Txs {
			if err := sigs.Verify(&blk.Txs[i]); err != nil {
				b.Fatal(err)
			}
		}
	}
	tr, err := OpenTree(TreeConfig{Genesis: g, Store: NewMemStore(), Elect: treeElect, Better: treeBetter, Finality: testFinality, Sigs: sigs})
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for _, blk := range blocks {
		if _, err := tr.Insert(blk, blk.Header.Slot); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*benchTxsPerBlock)/b.Elapsed().Seconds(), "tx/s")
}

// benchBlocks returns a chain of n blocks of benchTxsPerBlock transfers on genesis g.
func benchBlocks(b *testing.B, g *Genesis, n int) []*Block {
	id := g.Hash()
	st := g.State()
	tip := g.Tip()
	blocks := make([]*Block, 0, n)
	for range n {
		slot := tip.Slot + 1
		leader, _ := treeElect(st.Validators(g.EpochOf(slot)), tip.Hash, slot)
		blk := buildBlock(b, id, tip, st, slot, keyIndex(b, leader), transfers(id, st, benchTxsPerBlock))
		if err := st.ApplyBlock(blk); err != nil {
			b.Fatal(err)
		}
		blocks = append(blocks, blk)
		tip = blk.Tip()
	}
	return blocks
}

// BenchmarkInsertBatch is BenchmarkInsert/bolt for a chain of empty blocks, inserted one at a time
// (one synced write each) and in batches of 256 (one synced write per batch), as sync imports them.
func BenchmarkInsertBatch(b *testing.B) {
	for _, batch := range []int{1, 256} {
		b.Run(fmt.Sprintf("batch=%d", batch), func(b *testing.B) {
			g := richGenesis()
			blocks := emptyBlocks(b, g, b.N)
			s, err := OpenBolt(filepath.Join(b.TempDir(), "chain.db"))
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			tr := openTestTree(b, g, s)
			b.ResetTimer()
			for lo := 0; lo < len(blocks); lo += batch {
				bs := blocks[lo:min(lo+batch, len(blocks))]
				if _, _, err := tr.InsertBatch(bs, bs[len(bs)-1].Header.Slot); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "blocks/s")
		})
	}
}

// emptyBlocks returns a chain of n blocks without transactions on genesis g.
func emptyBlocks(b *testing.B, g *Genesis, n int) []*Block {
	id, st, tip := g.Hash(), g.State(), g.Tip()
	blocks := make([]*Block, 0, n)
	for range n {
		slot := tip.Slot + 1
		leader, _ := treeElect(st.Validators(g.EpochOf(slot)), tip.Hash, slot)
		blk := buildBlock(b, id, tip, st, slot, keyIndex(b, leader), nil)
		if err := st.ApplyBlock(blk); err != nil {
			b.Fatal(err)
		}
		blocks = append(blocks, blk)
		tip = blk.Tip()
	}
	return blocks
}
