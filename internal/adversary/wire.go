package adversary

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/posnode/posnode/chain"
)

// The sync protocol of PROTOCOL.md §10, written here from the spec rather than borrowed from package node, so
// that the adversary also checks that the spec says what the nodes do.
const (
	protoStatus    = "status"
	protoBlocks    = "blocks"
	statusSizeV1   = 32 + 8 + 8 + 8 // a status without the responder's time, which nodes still accept
	statusSize     = statusSizeV1 + 8
	rangeReqSize   = 8 + 4 + 4
	maxRangeBlocks = 256
)

// ErrBadWire: bytes from a node do not follow PROTOCOL.md §10.
var ErrBadWire = errors.New("bad sync message")

// Status is a node's head as its status response tells it: head [32] | height u64 | slot u64 | justified_epoch u64
// | time_ms i64 (the responder's clock, Unix milliseconds; absent from the earlier 56-byte form).
type Status struct {
	Head      chain.Hash
	Height    chain.Height
	Slot      chain.Slot
	Justified chain.Epoch
	Time      int64 // 0 in a status of the earlier form
}

func (s Status) encode() []byte {
	b := append(make([]byte, 0, statusSize), s.Head[:]...)
	b = binary.BigEndian.AppendUint64(b, uint64(s.Height))
	b = binary.BigEndian.AppendUint64(b, uint64(s.Slot))
	b = binary.BigEndian.AppendUint64(b, uint64(s.Justified))
	return binary.BigEndian.AppendUint64(b, uint64(s.Time))
}

func decodeStatus(b []byte) (Status, error) {
	if len(b) != statusSize && len(b) != statusSizeV1 {
		return Status{}, fmt.Errorf("%w: status of %d bytes", ErrBadWire, len(b))
	}
	var s Status
	copy(s.Head[:], b)
	s.Height = chain.Height(binary.BigEndian.Uint64(b[32:]))
	s.Slot = chain.Slot(binary.BigEndian.Uint64(b[40:]))
	s.Justified = chain.Epoch(binary.BigEndian.Uint64(b[48:]))
	if len(b) == statusSize {
		s.Time = int64(binary.BigEndian.Uint64(b[56:]))
	}
	return s, nil
}

// rangeReq is from u64 | count u32 | max_bytes u32.
type rangeReq struct {
	From     chain.Height
	Count    uint32
	MaxBytes uint32
}

func (r rangeReq) encode() []byte {
	b := binary.BigEndian.AppendUint64(make([]byte, 0, rangeReqSize), uint64(r.From))
	b = binary.BigEndian.AppendUint32(b, r.Count)
	return binary.BigEndian.AppendUint32(b, r.MaxBytes)
}

func decodeRangeReq(b []byte) (rangeReq, error) {
	if len(b) != rangeReqSize {
		return rangeReq{}, fmt.Errorf("%w: range request of %d bytes", ErrBadWire, len(b))
	}
	return rangeReq{From: chain.Height(binary.BigEndian.Uint64(b)), Count: binary.BigEndian.Uint32(b[8:]),
		MaxBytes: binary.BigEndian.Uint32(b[12:])}, nil
}

// encodeBlocks frames blocks as n u32 | (len u32 | block)….
func encodeBlocks(blocks []*chain.Block) []byte {
	b := binary.BigEndian.AppendUint32(nil, uint32(len(blocks)))
	for _, blk := range blocks {
		e := blk.Encode()
		b = binary.BigEndian.AppendUint32(b, uint32(len(e)))
		b = append(b, e...)
	}
	return b
}

func decodeBlocks(b []byte) ([]*chain.Block, error) {
	if len(b) < 4 {
		return nil, fmt.Errorf("%w: range response of %d bytes", ErrBadWire, len(b))
	}
	n := binary.BigEndian.Uint32(b)
	if n > maxRangeBlocks {
		return nil, fmt.Errorf("%w: %d blocks", ErrBadWire, n)
	}
	b = b[4:]
	out := make([]*chain.Block, 0, n)
	for range n {
		if len(b) < 4 || uint64(binary.BigEndian.Uint32(b)) > uint64(len(b)-4) {
			return nil, fmt.Errorf("%w: truncated block", ErrBadWire)
		}
		size := binary.BigEndian.Uint32(b)
		blk, err := chain.DecodeBlock(b[4 : 4+size])
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrBadWire, err)
		}
		out = append(out, blk)
		b = b[4+size:]
	}
	if len(b) != 0 {
		return nil, fmt.Errorf("%w: %d trailing bytes", ErrBadWire, len(b))
	}
	return out, nil
}
