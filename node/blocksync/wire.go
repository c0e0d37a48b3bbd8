package blocksync

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"

	"github.com/posnode/posnode/chain"
)

// Sync protocol names (PROTOCOL.md §10); the p2p layer prefixes them with the network name.
const (
	ProtoStatus = "status"
	ProtoBlocks = "blocks"
)

// Sync limits (PROTOCOL.md §10). A range response holds at most the blocks and the bytes of block encodings the
// request asks for, and never more than these; its first block is served even if it alone exceeds the bytes.
const (
	MaxRangeBlocks = 256     // blocks per range request
	MaxRangeBytes  = 2 << 20 // bytes of block encodings per range response
)

// Sync errors (PROTOCOL.md §10).
var (
	// ErrBadMessage: a sync request or response does not decode.
	ErrBadMessage = errors.New("bad sync message")
	// ErrBadRange: a range response does not answer its request: blocks from another height, not a chain, or
	// more blocks or bytes than asked for.
	ErrBadRange = errors.New("range response does not match the request")
	// ErrPrunedRange: the peer answered that it holds no block below a height above the range's start (PROTOCOL.md
	// §10, §13). It is no fault of the peer: ask another, or sync from a trusted checkpoint.
	ErrPrunedRange = errors.New("peer pruned the range")
)

// prunedMark is the count field of a pruned answer: u32 0xFFFFFFFF | oldest u64, the lowest height whose canonical
// block the responder holds (PROTOCOL.md §10).
const (
	prunedMark = math.MaxUint32
	prunedSize = 4 + 8
)

// EncodePruned returns the answer "pruned below height oldest" to a range request that starts below it
// (PROTOCOL.md §10, §13): prunedSize bytes.
func EncodePruned(oldest chain.Height) []byte {
	return binary.BigEndian.AppendUint64(binary.BigEndian.AppendUint32(make([]byte, 0, prunedSize), prunedMark), uint64(oldest))
}

// Status is a node's answer to a status request: its head, with what fork choice compares (PROTOCOL.md §8,
// §10): the epoch of the newest checkpoint its branch justified; and its clock, for the asker's clock check.
type Status struct {
	Head      chain.Hash
	Height    chain.Height
	Slot      chain.Slot
	Justified chain.Epoch
	// Time is the responder's clock when it answered, in Unix milliseconds; 0 in a status of the earlier,
	// shorter form (StatusSizeV1), which carried no time.
	Time int64
}

// StatusSize is the length of a status in bytes; StatusSizeV1, of one without the time, which nodes still accept.
const (
	StatusSize   = StatusSizeV1 + 8
	StatusSizeV1 = 32 + 8 + 8 + 8
)

// Tip is the head s names, as fork choice compares it (PROTOCOL.md §8).
func (s Status) Tip() chain.Tip {
	return chain.Tip{Hash: s.Head, Height: s.Height, Slot: s.Slot, Justified: s.Justified}
}

// Encode returns s as StatusSize bytes: head [32] | height u64 | slot u64 | justified_epoch u64 | time_ms i64,
// big-endian (PROTOCOL.md §10).
func (s Status) Encode() []byte {
	b := make([]byte, 0, StatusSize)
	b = append(b, s.Head[:]...)
	b = binary.BigEndian.AppendUint64(b, uint64(s.Height))
	b = binary.BigEndian.AppendUint64(b, uint64(s.Slot))
	b = binary.BigEndian.AppendUint64(b, uint64(s.Justified))
	return binary.BigEndian.AppendUint64(b, uint64(s.Time))
}

// DecodeStatus parses a status of StatusSize bytes, or of StatusSizeV1 (no time: Time is 0) (PROTOCOL.md §10);
// any other length fails with ErrBadMessage.
func DecodeStatus(b []byte) (Status, error) {
	var s Status
	if len(b) != StatusSize && len(b) != StatusSizeV1 {
		return s, fmt.Errorf("%w: status is %d bytes, want %d", ErrBadMessage, len(b), StatusSize)
	}
	copy(s.Head[:], b)
	s.Height = chain.Height(binary.BigEndian.Uint64(b[32:]))
	s.Slot = chain.Slot(binary.BigEndian.Uint64(b[40:]))
	s.Justified = chain.Epoch(binary.BigEndian.Uint64(b[48:]))
	if len(b) == StatusSize {
		s.Time = int64(binary.BigEndian.Uint64(b[56:]))
	}
	return s, nil
}

// RangeReq, a range request (PROTOCOL.md §10), asks for up to Count canonical blocks from height From, in at most MaxBytes bytes of block encodings.
type RangeReq struct {
	From     chain.Height
	Count    uint32
	MaxBytes uint32
}

// RangeReqSize is the length of a range request in bytes.
const RangeReqSize = 8 + 4 + 4

// Encode returns r as RangeReqSize bytes: from u64 | count u32 | max_bytes u32, big-endian (PROTOCOL.md §10).
func (r RangeReq) Encode() []byte {
	b := binary.BigEndian.AppendUint64(make([]byte, 0, RangeReqSize), uint64(r.From))
	b = binary.BigEndian.AppendUint32(b, r.Count)
	return binary.BigEndian.AppendUint32(b, r.MaxBytes)
}

// DecodeRangeReq parses a range request: from ≥ 1, 1 ≤ count ≤ MaxRangeBlocks, max_bytes ≥ 1 (PROTOCOL.md §10);
// anything else fails with ErrBadMessage.
func DecodeRangeReq(b []byte) (RangeReq, error) {
	if len(b) != RangeReqSize {
		return RangeReq{}, fmt.Errorf("%w: range request is %d bytes, want %d", ErrBadMessage, len(b), RangeReqSize)
	}
	r := RangeReq{From: chain.Height(binary.BigEndian.Uint64(b)), Count: binary.BigEndian.Uint32(b[8:]),
		MaxBytes: binary.BigEndian.Uint32(b[12:])}
	if r.From == 0 || r.Count == 0 || r.Count > MaxRangeBlocks || r.MaxBytes == 0 {
		return r, fmt.Errorf("%w: range from %d count %d max bytes %d", ErrBadMessage, r.From, r.Count, r.MaxBytes)
	}
	return r, nil
}

// ByteBound is the bytes of block encodings a response to r may hold: what r asks, at most MaxRangeBytes.
func (r RangeReq) ByteBound() int { return int(min(r.MaxBytes, MaxRangeBytes)) }

// CheckRange checks that blocks answer r: the first at height From, each the child of the one before, at most
// Count of them, and at most r's byte bound unless there is only one (PROTOCOL.md §10); it fails with ErrBadRange.
func CheckRange(r RangeReq, blocks []*chain.Block) error {
	if len(blocks) > int(r.Count) {
		return fmt.Errorf("%w: %d blocks for a request of %d", ErrBadRange, len(blocks), r.Count)
	}
	size := 0
	for i, b := range blocks {
		if want := r.From + chain.Height(i); b.Header.Height != want {
			return fmt.Errorf("%w: block %d at height %d, want %d", ErrBadRange, i, b.Header.Height, want)
		}
		if i > 0 && b.Header.Parent != blocks[i-1].Hash() {
			return fmt.Errorf("%w: block %d is not a child of block %d", ErrBadRange, i, i-1)
		}
		size += b.EncodedSize()
	}
	if len(blocks) > 1 && size > r.ByteBound() {
		return fmt.Errorf("%w: %d bytes of blocks, %d asked for", ErrBadRange, size, r.ByteBound())
	}
	return nil
}

// EncodeBlocks frames block encodings as a range response: u32 count, then u32 length + bytes for each
// (PROTOCOL.md §10).
func EncodeBlocks(encoded [][]byte) []byte {
	size := 4
	for _, e := range encoded {
		size += 4 + len(e)
	}
	b := binary.BigEndian.AppendUint32(make([]byte, 0, size), uint32(len(encoded)))
	for _, e := range encoded {
		b = binary.BigEndian.AppendUint32(b, uint32(len(e)))
		b = append(b, e...)
	}
	return b
}

// DecodeBlocks parses a range response; every block must decode and the input must end exactly. A pruned answer
// (prunedMark) fails with ErrPrunedRange, naming the responder's oldest height; anything else that does not
// decode fails with ErrBadMessage.
func DecodeBlocks(b []byte) ([]*chain.Block, error) {
	if len(b) < 4 {
		return nil, fmt.Errorf("%w: range response of %d bytes", ErrBadMessage, len(b))
	}
	n := binary.BigEndian.Uint32(b)
	if n == prunedMark {
		if len(b) != prunedSize {
			return nil, fmt.Errorf("%w: pruned answer of %d bytes, want %d", ErrBadMessage, len(b), prunedSize)
		}
		return nil, fmt.Errorf("%w: pruned below height %d", ErrPrunedRange, binary.BigEndian.Uint64(b[4:]))
	}
	if n > MaxRangeBlocks {
		return nil, fmt.Errorf("%w: %d blocks in one response", ErrBadMessage, n)
	}
	b = b[4:]
	blocks := make([]*chain.Block, 0, n)
	for i := range n {
		if len(b) < 4 {
			return nil, fmt.Errorf("%w: block %d: truncated length", ErrBadMessage, i)
		}
		size := binary.BigEndian.Uint32(b)
		b = b[4:]
		if uint64(size) > uint64(len(b)) {
			return nil, fmt.Errorf("%w: block %d: %d bytes announced, %d left", ErrBadMessage, i, size, len(b))
		}
		blk, err := chain.DecodeBlock(b[:size])
		if err != nil {
			return nil, fmt.Errorf("%w: block %d: %w", ErrBadMessage, i, err)
		}
		blocks = append(blocks, blk)
		b = b[size:]
	}
	if len(b) != 0 {
		return nil, fmt.Errorf("%w: %d trailing bytes", ErrBadMessage, len(b))
	}
	return blocks, nil
}
