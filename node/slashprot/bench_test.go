package slashprot

import (
	"path/filepath"
	"testing"

	"github.com/posnode/posnode/chain"
)

// BenchmarkCheckAndRecordBlock measures the cost the record adds to each block proposal: one check, one
// 85-byte append and one fsync of the log (and, every few thousand blocks, a compaction).
func BenchmarkCheckAndRecordBlock(b *testing.B) {
	db, err := Open(filepath.Join(b.TempDir(), FileName))
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	a, r := key(1), root("x")
	slot := chain.Slot(0)
	for b.Loop() {
		slot++
		if err := db.CheckAndRecordBlock(a, slot, r); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCheckRefused measures a refused vote that scans every kept vote; it touches no disk.
func BenchmarkCheckRefused(b *testing.B) {
	db, err := Open(filepath.Join(b.TempDir(), FileName))
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	a := key(1)
	for i := range keepVotes {
		if err := db.CheckAndRecordVote(a, chain.Epoch(i), chain.Epoch(i+1), root("v")); err != nil {
			b.Fatal(err)
		}
	}
	for b.Loop() {
		if db.CheckAndRecordVote(a, keepVotes-1, keepVotes, root("w")) == nil {
			b.Fatal("double vote allowed")
		}
	}
}
