package node

import (
	"bytes"
	"encoding/binary"
	"errors"
	"strings"
	"testing"

	"github.com/posnode/posnode/chain"
)

func TestStatusRoundTrip(t *testing.T) {
	in := status{Head: chain.HashBytes([]byte("head")), Height: 42, Slot: 77, Justified: 5, Time: 1_700_000_000_123}
	got, err := decodeStatus(in.encode())
	if err != nil || got != in {
		t.Fatalf("got %+v, %v; want %+v", got, err, in)
	}
	// The earlier form without the time still decodes, with no time.
	old := in.encode()[:statusSizeV1]
	want := in
	want.Time = 0
	if got, err := decodeStatus(old); err != nil || got != want {
		t.Fatalf("status without time: got %+v, %v; want %+v", got, err, want)
	}
	for _, n := range []int{0, statusSizeV1 - 1, statusSizeV1 + 1, statusSize - 1, statusSize + 1} {
		if _, err := decodeStatus(make([]byte, n)); !errors.Is(err, ErrBadSyncMessage) {
			t.Errorf("%d bytes: got %v, want ErrBadSyncMessage", n, err)
		}
	}
}

func TestRangeRequest(t *testing.T) {
	tests := []struct {
		req rangeReq
		ok  bool
	}{
		{rangeReq{From: 1, Count: 1, MaxBytes: 1}, true},
		{rangeReq{From: 9, Count: maxRangeBlocks, MaxBytes: maxRangeBytes}, true},
		{rangeReq{From: 9, Count: 3, MaxBytes: 1 << 31}, true}, // served at most maxRangeBytes
		{rangeReq{From: 0, Count: 5, MaxBytes: 1}, false},
		{rangeReq{From: 1, Count: 0, MaxBytes: 1}, false},
		{rangeReq{From: 1, Count: maxRangeBlocks + 1, MaxBytes: 1}, false},
		{rangeReq{From: 1, Count: 1, MaxBytes: 0}, false},
	}
	for _, tt := range tests {
		got, err := decodeRangeReq(tt.req.encode())
		if (err == nil) != tt.ok || (tt.ok && got != tt.req) {
			t.Errorf("%+v: got %+v, %v; want ok=%v", tt.req, got, err, tt.ok)
		}
	}
	if _, err := decodeRangeReq([]byte{1, 2, 3}); !errors.Is(err, ErrBadSyncMessage) {
		t.Errorf("short request: got %v, want ErrBadSyncMessage", err)
	}
	old := binary.BigEndian.AppendUint32(binary.BigEndian.AppendUint64(nil, 1), 256) // version-1 request, 12 bytes
	if _, err := decodeRangeReq(old); !errors.Is(err, ErrBadSyncMessage) {
		t.Errorf("12-byte request without a byte bound: got %v, want ErrBadSyncMessage", err)
	}
	if got := (rangeReq{From: 1, Count: 1, MaxBytes: 1 << 31}).byteBound(); got != maxRangeBytes {
		t.Errorf("byte bound of a greedy request: got %d, want %d", got, maxRangeBytes)
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
	req := rangeReq{From: 5, Count: 3, MaxBytes: maxRangeBytes}
	good := chainOf(chain.Hash{1}, 5, 3)
	unlinked := chainOf(chain.Hash{1}, 5, 3)
	unlinked[2].Header.Parent = chain.Hash{9}
	size := good[0].EncodedSize()
	tests := []struct {
		name   string
		req    rangeReq
		blocks []*chain.Block
		ok     bool
	}{
		{"the range asked for", req, good, true},
		{"a prefix", req, good[:2], true},
		{"nothing", req, nil, true},
		{"block 1 for every request", req, chainOf(chain.Hash{1}, 1, 1), false},
		{"starts late", req, good[1:], false},
		{"not a chain", req, unlinked, false},
		{"more than asked", rangeReq{From: 5, Count: 2, MaxBytes: maxRangeBytes}, good, false},
		{"over the byte bound", rangeReq{From: 5, Count: 3, MaxBytes: uint32(2*size - 1)}, good[:2], false},
		{"one block over the byte bound", rangeReq{From: 5, Count: 3, MaxBytes: 1}, good[:1], true},
	}
	for _, tt := range tests {
		err := checkRange(tt.req, tt.blocks)
		if (err == nil) != tt.ok || (err != nil && !errors.Is(err, ErrBadRange)) {
			t.Errorf("%s: got %v, want ok=%v", tt.name, err, tt.ok)
		}
	}
}

func sampleBlock(height chain.Height) *chain.Block {
	return &chain.Block{Header: chain.Header{Height: height, Slot: chain.Slot(height), TxRoot: chain.TxRoot(nil)}}
}

func TestBlocksFraming(t *testing.T) {
	enc := encodeBlocks([][]byte{sampleBlock(1).Encode(), sampleBlock(2).Encode()})
	got, err := decodeBlocks(enc)
	if err != nil || len(got) != 2 || got[1].Header.Height != 2 {
		t.Fatalf("got %d blocks, %v; want 2 blocks", len(got), err)
	}
	bad := map[string][]byte{
		"empty":       nil,
		"trailing":    append(bytes.Clone(enc), 0),
		"truncated":   enc[:len(enc)-1],
		"huge length": binary.BigEndian.AppendUint32(binary.BigEndian.AppendUint32(nil, 1), 1<<31),
		"too many":    binary.BigEndian.AppendUint32(nil, maxRangeBlocks+1),
		"bad block":   encodeBlocks([][]byte{{1, 2, 3}}),
	}
	for name, b := range bad {
		if _, err := decodeBlocks(b); !errors.Is(err, ErrBadSyncMessage) {
			t.Errorf("%s: got %v, want ErrBadSyncMessage", name, err)
		}
	}
}

// TestPrunedAnswer: a pruned answer decodes to ErrPrunedRange naming the height, is not a bad message (no
// penalty), and one of the wrong length is (PROTOCOL.md §10).
func TestPrunedAnswer(t *testing.T) {
	_, err := decodeBlocks(encodePruned(4097))
	if !errors.Is(err, ErrPrunedRange) || errors.Is(err, ErrBadSyncMessage) || !strings.Contains(err.Error(), "4097") {
		t.Fatalf("pruned answer: %v, want ErrPrunedRange naming height 4097", err)
	}
	if syncPenalty(err) != 0 {
		t.Errorf("pruned answer: penalty %d, want 0", syncPenalty(err))
	}
	if _, err := decodeBlocks(append(encodePruned(1), 0)); !errors.Is(err, ErrBadSyncMessage) {
		t.Errorf("pruned answer of 13 bytes: %v, want ErrBadSyncMessage", err)
	}
}

// FuzzDecodeBlocks: a range response from a peer never panics, and what decodes re-encodes to the same bytes.
func FuzzDecodeBlocks(f *testing.F) {
	f.Add(encodeBlocks(nil))
	f.Add(encodeBlocks([][]byte{sampleBlock(1).Encode()}))
	f.Add(encodeBlocks([][]byte{sampleBlock(1).Encode(), sampleBlock(2).Encode()}))
	f.Add(encodePruned(4097))
	f.Fuzz(func(t *testing.T, data []byte) {
		blocks, err := decodeBlocks(data)
		if errors.Is(err, ErrPrunedRange) && !bytes.Equal(encodePruned(chain.Height(binary.BigEndian.Uint64(data[4:]))), data) {
			t.Fatalf("pruned answer re-encoding differs for %x", data)
		}
		if err != nil {
			return
		}
		if len(blocks) > 0 {
			_ = checkRange(rangeReq{From: blocks[0].Header.Height, Count: maxRangeBlocks, MaxBytes: 1}, blocks)
		}
		encoded := make([][]byte, len(blocks))
		for i, b := range blocks {
			encoded[i] = b.Encode()
		}
		if !bytes.Equal(encodeBlocks(encoded), data) {
			t.Fatalf("re-encoding differs for %x", data)
		}
	})
}

// FuzzDecodeSyncRequest: status and range messages from a peer never panic.
func FuzzDecodeSyncRequest(f *testing.F) {
	f.Add(rangeReq{From: 1, Count: 10, MaxBytes: maxRangeBytes}.encode())
	f.Add(status{Height: 3, Time: 5}.encode())
	f.Add(status{Height: 3}.encode()[:statusSizeV1])
	f.Fuzz(func(t *testing.T, data []byte) {
		if r, err := decodeRangeReq(data); err == nil && !bytes.Equal(r.encode(), data) {
			t.Fatalf("range re-encoding differs for %x", data)
		}
		s, err := decodeStatus(data)
		if err != nil {
			return
		}
		// A status without the time re-encodes with a zero time after its bytes.
		if enc := s.encode(); !bytes.Equal(enc[:len(data)], data) || len(data) == statusSizeV1 && s.Time != 0 {
			t.Fatalf("status re-encoding differs for %x", data)
		}
	})
}
