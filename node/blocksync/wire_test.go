package blocksync

import (
	"bytes"
	"encoding/binary"
	"errors"
	"strings"
	"testing"

	"github.com/posnode/posnode/chain"
)

func TestStatusRoundTrip(t *testing.T) {
	in := Status{Head: chain.HashBytes([]byte("head")), Height: 42, Slot: 77, Justified: 5, Time: 1_700_000_000_123}
	got, err := DecodeStatus(in.Encode())
	if err != nil || got != in {
		t.Fatalf("got %+v, %v; want %+v", got, err, in)
	}
	// The earlier form without the time still decodes, with no time.
	old := in.Encode()[:StatusSizeV1]
	want := in
	want.Time = 0
	if got, err := DecodeStatus(old); err != nil || got != want {
		t.Fatalf("status without time: got %+v, %v; want %+v", got, err, want)
	}
	for _, n := range []int{0, StatusSizeV1 - 1, StatusSizeV1 + 1, StatusSize - 1, StatusSize + 1} {
		if _, err := DecodeStatus(make([]byte, n)); !errors.Is(err, ErrBadMessage) {
			t.Errorf("%d bytes: got %v, want ErrBadMessage", n, err)
		}
	}
}

func TestRangeRequest(t *testing.T) {
	tests := []struct {
		req RangeReq
		ok  bool
	}{
		{RangeReq{From: 1, Count: 1, MaxBytes: 1}, true},
		{RangeReq{From: 9, Count: MaxRangeBlocks, MaxBytes: MaxRangeBytes}, true},
		{RangeReq{From: 9, Count: 3, MaxBytes: 1 << 31}, true}, // served at most MaxRangeBytes
		{RangeReq{From: 0, Count: 5, MaxBytes: 1}, false},
		{RangeReq{From: 1, Count: 0, MaxBytes: 1}, false},
		{RangeReq{From: 1, Count: MaxRangeBlocks + 1, MaxBytes: 1}, false},
		{RangeReq{From: 1, Count: 1, MaxBytes: 0}, false},
	}
	for _, tt := range tests {
		got, err := DecodeRangeReq(tt.req.Encode())
		if (err == nil) != tt.ok || (tt.ok && got != tt.req) {
			t.Errorf("%+v: got %+v, %v; want ok=%v", tt.req, got, err, tt.ok)
		}
	}
	if _, err := DecodeRangeReq([]byte{1, 2, 3}); !errors.Is(err, ErrBadMessage) {
		t.Errorf("short request: got %v, want ErrBadMessage", err)
	}
	old := binary.BigEndian.AppendUint32(binary.BigEndian.AppendUint64(nil, 1), 256) // version-1 request, 12 bytes
	if _, err := DecodeRangeReq(old); !errors.Is(err, ErrBadMessage) {
		t.Errorf("12-byte request without a byte bound: got %v, want ErrBadMessage", err)
	}
	if got := (RangeReq{From: 1, Count: 1, MaxBytes: 1 << 31}).ByteBound(); got != MaxRangeBytes {
		t.Errorf("byte bound of a greedy request: got %d, want %d", got, MaxRangeBytes)
	}
}

// chainOf returns n linked blocks from height from, the first on parent.
func chainOf(parent chain.Hash, from chain.Height, n int) []*chain.Block {
	var out []*chain.Block
	for i := range n {
		b := sampleBlock(from + chain.Height(i))
		b.Header.Parent = parent
		parent = b.Hash()
		out = append(out, b)
	}
	return out
}

func TestCheckRange(t *testing.T) {
	req := RangeReq{From: 5, Count: 3, MaxBytes: MaxRangeBytes}
	good := chainOf(chain.Hash{1}, 5, 3)
	unlinked := chainOf(chain.Hash{1}, 5, 3)
	unlinked[2].Header.Parent = chain.Hash{9}
	size := good[0].EncodedSize()
	tests := []struct {
		name   string
		req    RangeReq
		blocks []*chain.Block
		ok     bool
	}{
		{"the range asked for", req, good, true},
		{"a prefix", req, good[:2], true},
		{"nothing", req, nil, true},
		{"block 1 for every request", req, chainOf(chain.Hash{1}, 1, 1), false},
		{"starts late", req, good[1:], false},
		{"not a chain", req, unlinked, false},
		{"more than asked", RangeReq{From: 5, Count: 2, MaxBytes: MaxRangeBytes}, good, false},
		{"over the byte bound", RangeReq{From: 5, Count: 3, MaxBytes: uint32(2*size - 1)}, good[:2], false},
		{"one block over the byte bound", RangeReq{From: 5, Count: 3, MaxBytes: 1}, good[:1], true},
	}
	for _, tt := range tests {
		err := CheckRange(tt.req, tt.blocks)
		if (err == nil) != tt.ok || (err != nil && !errors.Is(err, ErrBadRange)) {
			t.Errorf("%s: got %v, want ok=%v", tt.name, err, tt.ok)
		}
	}
}

func sampleBlock(height chain.Height) *chain.Block {
	return &chain.Block{Header: chain.Header{Height: height, Slot: chain.Slot(height), TxRoot: chain.TxRoot(nil)}}
}

func TestBlocksFraming(t *testing.T) {
	enc := EncodeBlocks([][]byte{sampleBlock(1).Encode(), sampleBlock(2).Encode()})
	got, err := DecodeBlocks(enc)
	if err != nil || len(got) != 2 || got[1].Header.Height != 2 {
		t.Fatalf("got %d blocks, %v; want 2 blocks", len(got), err)
	}
	bad := map[string][]byte{
		"empty":       nil,
		"trailing":    append(bytes.Clone(enc), 0),
		"truncated":   enc[:len(enc)-1],
		"huge length": binary.BigEndian.AppendUint32(binary.BigEndian.AppendUint32(nil, 1), 1<<31),
		"too many":    binary.BigEndian.AppendUint32(nil, MaxRangeBlocks+1),
		"bad block":   EncodeBlocks([][]byte{{1, 2, 3}}),
	}
	for name, b := range bad {
		if _, err := DecodeBlocks(b); !errors.Is(err, ErrBadMessage) {
			t.Errorf("%s: got %v, want ErrBadMessage", name, err)
		}
	}
}

// TestPrunedAnswer: a pruned answer decodes to ErrPrunedRange naming the height, is not a bad message (no
// penalty), and one of the wrong length is (PROTOCOL.md §10).
func TestPrunedAnswer(t *testing.T) {
	_, err := DecodeBlocks(EncodePruned(4097))
	if !errors.Is(err, ErrPrunedRange) || errors.Is(err, ErrBadMessage) || !strings.Contains(err.Error(), "4097") {
		t.Fatalf("pruned answer: %v, want ErrPrunedRange naming height 4097", err)
	}
	if Penalty(err) != 0 {
		t.Errorf("pruned answer: penalty %d, want 0", Penalty(err))
	}
	if _, err := DecodeBlocks(append(EncodePruned(1), 0)); !errors.Is(err, ErrBadMessage) {
		t.Errorf("pruned answer of 13 bytes: %v, want ErrBadMessage", err)
	}
}

// FuzzDecodeBlocks: a range response from a peer never panics, and what decodes re-encodes to the same bytes.
func FuzzDecodeBlocks(f *testing.F) {
	f.Add(EncodeBlocks(nil))
	f.Add(EncodeBlocks([][]byte{sampleBlock(1).Encode()}))
	f.Add(EncodeBlocks([][]byte{sampleBlock(1).Encode(), sampleBlock(2).Encode()}))
	f.Add(EncodePruned(4097))
	f.Fuzz(func(t *testing.T, data []byte) {
		blocks, err := DecodeBlocks(data)
		if errors.Is(err, ErrPrunedRange) && !bytes.Equal(EncodePruned(chain.Height(binary.BigEndian.Uint64(data[4:]))), data) {
			t.Fatalf("pruned answer re-encoding differs for %x", data)
		}
		if err != nil {
			return
		}
		if len(blocks) > 0 {
			_ = CheckRange(RangeReq{From: blocks[0].Header.Height, Count: MaxRangeBlocks, MaxBytes: 1}, blocks)
		}
		encoded := make([][]byte, len(blocks))
		for i, b := range blocks {
			encoded[i] = b.Encode()
		}
		if !bytes.Equal(EncodeBlocks(encoded), data) {
			t.Fatalf("re-encoding differs for %x", data)
		}
	})
}

// FuzzDecodeSyncRequest: status and range messages from a peer never panic.
func FuzzDecodeSyncRequest(f *testing.F) {
	f.Add(RangeReq{From: 1, Count: 10, MaxBytes: MaxRangeBytes}.Encode())
	f.Add(Status{Height: 3, Time: 5}.Encode())
	f.Add(Status{Height: 3}.Encode()[:StatusSizeV1])
	f.Fuzz(func(t *testing.T, data []byte) {
		if r, err := DecodeRangeReq(data); err == nil && !bytes.Equal(r.Encode(), data) {
			t.Fatalf("range re-encoding differs for %x", data)
		}
		s, err := DecodeStatus(data)
		if err != nil {
			return
		}
		// A status without the time re-encodes with a zero time after its bytes.
		if enc := s.Encode(); !bytes.Equal(enc[:len(data)], data) || len(data) == StatusSizeV1 && s.Time != 0 {
			t.Fatalf("status re-encoding differs for %x", data)
		}
	})
}
