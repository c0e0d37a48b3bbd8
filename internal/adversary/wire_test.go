package adversary

import (
	"bytes"
	"testing"

	"github.com/posnode/posnode/chain"
)

func TestWireRoundTrip(t *testing.T) {
	st := Status{Head: chain.Hash{7}, Height: 9, Slot: 11, Justified: 2}
	if got, err := decodeStatus(st.encode()); err != nil || got != st {
		t.Errorf("status: got %+v, %v; want %+v", got, err, st)
	}
	r := rangeReq{From: 3, Count: 4, MaxBytes: 5}
	if got, err := decodeRangeReq(r.encode()); err != nil || got != r {
		t.Errorf("range request: got %+v, %v; want %+v", got, err, r)
	}
	b := &chain.Block{Header: chain.Header{Height: 1, Slot: 1, TxRoot: chain.TxRoot(nil)}}
	got, err := decodeBlocks(encodeBlocks([]*chain.Block{b, b}))
	if err != nil || len(got) != 2 || got[1].Hash() != b.Hash() {
		t.Errorf("blocks: got %d, %v; want 2 copies of %s", len(got), err, b.Hash().Short())
	}
}

// FuzzAdversaryWire: the adversary's decoders of node answers never panic, and what decodes re-encodes to the
// same bytes.
func FuzzAdversaryWire(f *testing.F) {
	f.Add(Status{Height: 3}.encode())
	f.Add(Status{Height: 3}.encode()[:statusSizeV1])
	f.Add(rangeReq{From: 1, Count: 2, MaxBytes: 3}.encode())
	f.Add(encodeBlocks([]*chain.Block{{Header: chain.Header{Height: 1, Slot: 1, TxRoot: chain.TxRoot(nil)}}}))
	f.Fuzz(func(t *testing.T, data []byte) {
		if s, err := decodeStatus(data); err == nil {
			enc := s.encode()
			if len(data) == statusSizeV1 { // the earlier form, without the time: it re-encodes with time 0
				enc = enc[:statusSizeV1]
			}
			if !bytes.Equal(enc, data) {
				t.Fatalf("status re-encoding differs for %x", data)
			}
		}
		if r, err := decodeRangeReq(data); err == nil && !bytes.Equal(r.encode(), data) {
			t.Fatalf("range request re-encoding differs for %x", data)
		}
		if bs, err := decodeBlocks(data); err == nil && !bytes.Equal(encodeBlocks(bs), data) {
			t.Fatalf("blocks re-encoding differs for %x", data)
		}
	})
}
