package node

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"

	"github.com/posnode/posnode/chain"
)

// Sync protocol names (PROTOCOL.md §10); the p2p layer prefixes them with the network name.
const (
	protoStatus = "status"
	protoBlocks = "blocks"
)

// Sync limits (PROTOCOL.md §10). A range response holds at most the blocks and the bytes of block encodings the
// request asks for, and never more than these; its first block is served even if it alone exceeds the bytes.
const (
	maxRangeBlocks = 256     // blocks per range request
	maxRangeBytes  = 2 << 20 // bytes of block encodings per range response
)

// Sync errors.
var (
	// ErrBadSyncMessage: a sync request or response does not decode.
	ErrBadSyncMessage = errors.New("bad sync message")
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

// encodePruned returns the answer "pruned below height oldest" to a range request that starts below it.
func encodePruned(oldest chain.Height) []byte {
	return binary.BigEndian.AppendUint64(binary.BigEndian.AppendUint32(make([]byte, 0, prunedSize), prunedMark), uint64(oldest))
}

// servePruned answers a range request that starts below the oldest canonical block the node holds with a pruned
// answer (ok); a request it can serve gets ok false (PROTOCOL.md §10, §13).
func (n *Node) servePruned(ctx context.Context, r rangeReq) (resp []byte, ok bool, err error) {
	var oldest chain.Height
	if err := n.call(ctx, func() { _, oldest, _, _ = n.tree.Retention() }); err != nil {
		return nil, false, err
	}
	if r.From >= oldest {
		return nil, false, nil
	}
	return encodePruned(oldest), true, nil
}

// status is a node's answer to a status request: its head, with what fork choice compares (PROTOCOL.md §8,
// §10): the epoch of the newest checkpoint its branch justified; and its clock, for the asker's clock check.
type status struct {
	Head      chain.Hash
	Height    chain.Height
	Slot      chain.Slot
	Justified chain.Epoch
	// Time is the responder's clock when it answered, in Unix milliseconds; 0 in a status of the earlier,
	// shorter form (statusSizeV1), which carried no time.
	Time int64
}

// statusSize is the length of a status; statusSizeV1, of one without the time, which nodes still accept.
const (
	statusSize   = statusSizeV1 + 8
	statusSizeV1 = 32 + 8 + 8 + 8
)

func (s status) tip() chain.Tip {
	return chain.Tip{Hash: s.Head, Height: s.Height, Slot: s.Slot, Justified: s.Justified}
}

func (s status) encode() []byte {
	b := make([]byte, 0, statusSize)
	b = append(b, s.Head[:]...)
	b = binary.BigEndian.AppendUint64(b, uint64(s.Height))
	b = binary.BigEndian.AppendUint64(b, uint64(s.Slot))
	b = binary.BigEndian.AppendUint64(b, uint64(s.Justified))
	return binary.BigEndian.AppendUint64(b, uint64(s.Time))
}

// decodeStatus parses a status of statusSize bytes, or of statusSizeV1 (no time: Time is 0) (PROTOCOL.md §10).
func decodeStatus(b []byte) (status, error) {
	var s status
	if len(b) != statusSize && len(b) != statusSizeV1 {
		return s, fmt.Errorf("%w: status is %d bytes, want %d", ErrBadSyncMessage, len(b), statusSize)
	}
	copy(s.Head[:], b)
	s.Height = chain.Height(binary.BigEndian.Uint64(b[32:]))
	s.Slot = chain.Slot(binary.BigEndian.Uint64(b[40:]))
	s.Justified = chain.Epoch(binary.BigEndian.Uint64(b[48:]))
	if len(b) == statusSize {
		s.Time = int64(binary.BigEndian.Uint64(b[56:]))
	}
	return s, nil
}

// rangeReq asks for up to Count canonical blocks from height From, in at most MaxBytes bytes of block encodings.
type rangeReq struct {
	From     chain.Height
	Count    uint32
	MaxBytes uint32
}

const rangeReqSize = 8 + 4 + 4

func (r rangeReq) encode() []byte {
	b := binary.BigEndian.AppendUint64(make([]byte, 0, rangeReqSize), uint64(r.From))
	b = binary.BigEndian.AppendUint32(b, r.Count)
	return binary.BigEndian.AppendUint32(b, r.MaxBytes)
}

// decodeRangeReq parses a range request: from ≥ 1, 1 ≤ count ≤ maxRangeBlocks, max_bytes ≥ 1 (PROTOCOL.md §10).
func decodeRangeReq(b []byte) (rangeReq, error) {
	if len(b) != rangeReqSize {
		return rangeReq{}, fmt.Errorf("%w: range request is %d bytes, want %d", ErrBadSyncMessage, len(b), rangeReqSize)
	}
	r := rangeReq{From: chain.Height(binary.BigEndian.Uint64(b)), Count: binary.BigEndian.Uint32(b[8:]),
		MaxBytes: binary.BigEndian.Uint32(b[12:])}
	if r.From == 0 || r.Count == 0 || r.Count > maxRangeBlocks || r.MaxBytes == 0 {
		return r, fmt.Errorf("%w: range from %d count %d max bytes %d", ErrBadSyncMessage, r.From, r.Count, r.MaxBytes)
	}
	return r, nil
}

// byteBound is the bytes of block encodings a response to r may hold: what r asks, at most maxRangeBytes.
func (r rangeReq) byteBound() int { return int(min(r.MaxBytes, maxRangeBytes)) }

// checkRange checks that blocks answer r: the first at height From, each the child of the one before, at most
// Count of them, and at most r's byte bound unless there is only one (PROTOCOL.md §10).
func checkRange(r rangeReq, blocks []*chain.Block) error {
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
	if len(blocks) > 1 && size > r.byteBound() {
		return fmt.Errorf("%w: %d bytes of blocks, %d asked for", ErrBadRange, size, r.byteBound())
	}
	return nil
}

// encodeBlocks frames block encodings as u32 count, then u32 length + bytes for each.
func encodeBlocks(encoded [][]byte) []byte {
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

// decodeBlocks parses a range response; every block must decode and the input must end exactly. A pruned answer
// (prunedMark) fails with ErrPrunedRange, naming the responder's oldest height.
func decodeBlocks(b []byte) ([]*chain.Block, error) {
	if len(b) < 4 {
		return nil, fmt.Errorf("%w: range response of %d bytes", ErrBadSyncMessage, len(b))
	}
	n := binary.BigEndian.Uint32(b)
	if n == prunedMark {
		if len(b) != prunedSize {
			return nil, fmt.Errorf("%w: pruned answer of %d bytes, want %d", ErrBadSyncMessage, len(b), prunedSize)
		}
		return nil, fmt.Errorf("%w: pruned below height %d", ErrPrunedRange, binary.BigEndian.Uint64(b[4:]))
	}
	if n > maxRangeBlocks {
		return nil, fmt.Errorf("%w: %d blocks in one response", ErrBadSyncMessage, n)
	}
	b = b[4:]
	blocks := make([]*chain.Block, 0, n)
	for i := range n {
		if len(b) < 4 {
			return nil, fmt.Errorf("%w: block %d: truncated length", ErrBadSyncMessage, i)
		}
		size := binary.BigEndian.Uint32(b)
		b = b[4:]
		if uint64(size) > uint64(len(b)) {
			return nil, fmt.Errorf("%w: block %d: %d bytes announced, %d left", ErrBadSyncMessage, i, size, len(b))
		}
		blk, err := chain.DecodeBlock(b[:size])
		if err != nil {
			return nil, fmt.Errorf("%w: block %d: %w", ErrBadSyncMessage, i, err)
		}
		blocks = append(blocks, blk)
		b = b[size:]
	}
	if len(b) != 0 {
		return nil, fmt.Errorf("%w: %d trailing bytes", ErrBadSyncMessage, len(b))
	}
	return blocks, nil
}
