package node

import (
	"bytes"
	"encoding/binary"
	"errors"
	"testing"

	"github.com/posnode/posnode/chain"
)

func TestStatusRoundTrip(t *testing.T) {
	in := status{Head: chain.HashBytes([]byte("head")), Height: 42, Slot: 77, Justified: 5}
	got, err := decodeStatus(in.encode())
	if err != nil || got != in {
		t.Fatalf("got %+v, %v; want %+v", got, err, in)
	}
	for _, n := range []int{0, statusSize - 1, statusSize + 1} {
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
		{rangeReq{From: 1, Count: 1}, true},
		{rangeReq{From: 9, Count: maxRangeBlocks}, true},
		{rangeReq{From: 0, Count: 5}, false},
		{rangeReq{From: 1, Count: 0}, false},
		{rangeReq{From: 1, Count: maxRangeBlocks + 1}, false},
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

// FuzzDecodeBlocks: a range response from a peer never panics, and what decodes re-encodes to the same bytes.
func FuzzDecodeBlocks(f *testing.F) {
	f.Add(encodeBlocks(nil))
	f.Add(encodeBlocks([][]byte{sampleBlock(1).Encode()}))
	f.Add(encodeBlocks([][]byte{sampleBlock(1).Encode(), sampleBlock(2).Encode()}))
	f.Fuzz(func(t *testing.T, data []byte) {
		blocks, err := decodeBlocks(data)
		if err != nil {
			return
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
	f.Add(rangeReq{From: 1, Count: 10}.encode())
	f.Add(status{Height: 3}.encode())
	f.Fuzz(func(t *testing.T, data []byte) {
		if r, err := decodeRangeReq(data); err == nil && !bytes.Equal(r.encode(), data) {
			t.Fatalf("range re-encoding differs for %x", data)
		}
		if s, err := decodeStatus(data); err == nil && !bytes.Equal(s.encode(), data) {
			t.Fatalf("status re-encoding differs for %x", data)
		}
	})
}
