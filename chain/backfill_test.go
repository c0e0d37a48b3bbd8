package chain

import (
	"errors"
	"path/filepath"
	"testing"
)

// TestBackfill: a tree opened from an anchor wants the canonical blocks below it down to its retention window; it
// refuses a range that is stale, whose hash chain does not reach its oldest block, or whose block does not match
// its header; it stores the right ones, serves them, keeps them after a reopen, and then wants no more
// (PROTOCOL.md §13a).
func TestBackfill(t *testing.T) {
	const retain = 3 // epochs
	g := richGenesis()
	blocks := signedFinalChain(t, g, 200)
	src := openFinalChain(t, g, NewMemStore(), blocks, 0)
	_, fin := src.Finality()
	a, err := src.Anchor(fin.Hash)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "chain.db")
	s, err := OpenBolt(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Install(s, g, fin); err != nil {
		t.Fatal(err)
	}
	tr := reopen(t, g, s, retain)
	anchor := a.Block.Header.Height
	lo, hi, ok := tr.BackfillWant()
	if wantLo := anchor - Height(retain*g.EpochLength); !ok || lo != wantLo || hi != anchor-1 {
		t.Fatalf("want %d to %d (%v), want %d to %d", lo, hi, ok, wantLo, anchor-1)
	}
	below := func(from, to Height) []*Block { return blocks[from-1 : to] } // heights from to to
	tampered := *below(hi, hi)[0]
	tampered.Txs = []Tx{signedTx(g.Hash(), 0, TxTransfer, 0, testAddr(3), 1, 1)}
	for _, tc := range []struct {
		name   string
		blocks []*Block
		want   error
	}{
		{"not ending below the oldest", below(hi-10, hi-1), ErrStaleBackfill},
		{"empty", nil, ErrStaleBackfill},
		{"a broken link", append(append([]*Block{}, below(hi-10, hi-6)...), below(hi-4, hi)...), ErrBadBackfill},
		{"another block at the top", []*Block{blocks[hi+3]}, ErrStaleBackfill},
		{"a body its header does not commit to", []*Block{&tampered}, ErrBadBackfill},
	} {
		if err := tr.Backfill(tc.blocks); !errors.Is(err, tc.want) {
			t.Errorf("%s: got %v, want %v", tc.name, err, tc.want)
		}
	}
	if _, oldest, _, _ := tr.Retention(); oldest != anchor {
		t.Fatalf("after refused ranges the oldest held is %d, want %d", oldest, anchor)
	}
	if err := tr.Backfill(below(hi-9, hi)); err != nil {
		t.Fatal(err)
	}
	if err := tr.Backfill(below(1, hi-10)); err != nil { // reaches below the window: the part below it is dropped
		t.Fatal(err)
	}
	if _, _, ok := tr.BackfillWant(); ok {
		t.Error("still wants blocks after the window is filled")
	}
	check := func(tr *Tree) {
		t.Helper()
		if _, oldest, _, _ := tr.Retention(); oldest != lo {
			t.Errorf("oldest held %d, want %d", oldest, lo)
		}
		for h := lo; h < anchor; h++ {
			b, err := tr.BlockAt(h)
			if err != nil || b.Hash() != blocks[h-1].Hash() {
				t.Fatalf("block at %d: %v", h, err)
			}
		}
		if _, err := tr.BlockAt(lo - 1); !errors.Is(err, ErrPruned) {
			t.Errorf("block below the window: got %v, want ErrPruned", err)
		}
	}
	check(tr)
	s.Close()
	if s, err = OpenBolt(path); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	check(reopen(t, g, s, retain))
}
