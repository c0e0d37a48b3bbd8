package chain

import (
	"bytes"
	"encoding/gob"
	"testing"
)

// oneEach cuts every map of r to at most one entry, so that gob, which writes a map in Go's random order, writes
// r the same way every time.
func oneEach(r snapshotRecord) snapshotRecord {
	first := func(n int) bool { return n == 0 }
	acc := accountMap{}
	for a, v := range r.Accounts {
		if first(len(acc)) {
			acc[a] = v
		}
	}
	old := map[Epoch]oldRecord{}
	for e, o := range r.Old {
		if first(len(old)) {
			old[e] = o
		}
	}
	r.Accounts, r.Old = acc, old
	if c := r.Fin.Cur; c != nil {
		cut := *c
		cut.Stake, cut.Voted, cut.Links = amountMap{}, votedMap{}, map[Checkpoint]Amount{}
		for a, v := range c.Stake {
			if first(len(cut.Stake)) {
				cut.Stake[a] = v
			}
		}
		for a, v := range c.Voted {
			if first(len(cut.Voted)) {
				cut.Voted[a] = v
			}
		}
		for k, v := range c.Links {
			if first(len(cut.Links)) {
				cut.Links[k] = v
			}
		}
		r.Fin.Cur, r.Fin.Prev = &cut, nil
	}
	return r
}

// TestSnapshotEncoderWritesFreshBytes: a snapshot written by a warm, reused encoder is byte for byte what a fresh
// gob encoder writes, for a first record, a second one and the first again.
func TestSnapshotEncoderWritesFreshBytes(t *testing.T) {
	g := richGenesis()
	s := NewMemStore()
	tr := reopen(t, g, s, 0)
	var records []snapshotRecord
	for _, b := range finalChain(t, g, 60) {
		feed(t, tr, s, b)
		if r := tr.floorRecord(); len(records) == 0 || r.Floor.Header.Height != records[len(records)-1].Floor.Header.Height {
			records = append(records, oneEach(r))
		}
	}
	if len(records) < 2 || len(records[1].Accounts) == 0 || len(records[1].Tables) == 0 || records[1].Fin.Cur == nil {
		t.Fatalf("%d floors: want two risen floors with accounts, tables and a tally", len(records))
	}
	for i, r := range append(records, records[0]) {
		var fresh bytes.Buffer
		if err := gob.NewEncoder(&fresh).Encode(&r); err != nil {
			t.Fatal(err)
		}
		if got := encodeRecord(&r); !bytes.Equal(got, fresh.Bytes()) {
			t.Fatalf("record %d (floor %d): %d bytes, a fresh encoder writes %d other bytes", i, r.Floor.Header.Height,
				len(got), fresh.Len())
		}
	}
}

// TestAnchorFromRecentHeaders: after each rise of the floor, the anchor kept at the floor, made with the headers the
// anchor of the rise before held, is byte for byte the anchor made from the store's blocks alone.
func TestAnchorFromRecentHeaders(t *testing.T) {
	g := richGenesis()
	s := NewMemStore()
	tr := reopen(t, g, s, 0)
	rises := 0
	for _, b := range finalChain(t, g, 60) {
		base := tr.base
		feed(t, tr, s, b)
		if tr.base == base {
			continue
		}
		rises++
		if len(tr.anchorHeads) < 2 {
			t.Fatalf("floor %d: the last anchor kept %d headers", tr.base, len(tr.anchorHeads))
		}
		cached, err := tr.keptAnchor(tr.floor.hash)
		if err != nil {
			t.Fatal(err)
		}
		kept := tr.anchorHeads
		tr.anchorHeads = nil
		fresh, err := tr.Anchor(tr.floor.hash)
		tr.anchorHeads = kept
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(cached.Encode(), fresh.Encode()) {
			t.Fatalf("floor %d: the anchor from recent headers differs from the store's", tr.base)
		}
	}
	if rises < 2 {
		t.Fatalf("%d rises of the floor, want at least 2", rises)
	}
}
