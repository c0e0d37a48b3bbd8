package anchorsync

import (
	"encoding/binary"
	"fmt"

	"github.com/posnode/posnode/chain"
	"github.com/posnode/posnode/node/blocksync"
)

// Proto is the anchor protocol's name (PROTOCOL.md §10, §13a).
const Proto = "anchor"

// Anchor protocol limits (PROTOCOL.md §13a).
const (
	ChunkBytes = 1 << 20 // bytes of the anchor's encoding per answer
	MaxBytes   = 1 << 30 // the largest anchor a node fetches
	reqSize    = 32 + 4
	held       = 0 // answer status: a chunk follows
	notHeld    = 1 // answer status: the responder keeps no state at that block
)

// Req asks for chunk Chunk (ChunkBytes bytes from Chunk×ChunkBytes) of the encoding of the anchor at block Block.
type Req struct {
	Block chain.Hash
	Chunk uint32
}

// Encode returns the request's bytes: block hash | chunk u32.
func (r Req) Encode() []byte {
	return binary.BigEndian.AppendUint32(append([]byte(nil), r.Block[:]...), r.Chunk)
}

// DecodeReq parses an anchor request: block hash | chunk u32 (PROTOCOL.md §13a). A request of another length is
// an error wrapping blocksync.ErrBadMessage.
func DecodeReq(b []byte) (Req, error) {
	var r Req
	if len(b) != reqSize {
		return r, fmt.Errorf("%w: anchor request is %d bytes, want %d", blocksync.ErrBadMessage, len(b), reqSize)
	}
	copy(r.Block[:], b)
	r.Chunk = binary.BigEndian.Uint32(b[32:])
	return r, nil
}

// Resp is one answer: the anchor's whole length in bytes and one chunk of it, or NotHeld.
type Resp struct {
	NotHeld bool
	Total   uint64
	Data    []byte
}

// Encode returns the answer's bytes (DecodeResp).
func (r Resp) Encode() []byte {
	if r.NotHeld {
		return []byte{notHeld}
	}
	b := binary.BigEndian.AppendUint64(append(make([]byte, 0, 9+len(r.Data)), held), r.Total)
	return append(b, r.Data...)
}

// DecodeResp parses an answer for chunk: status u8 (1: not held, nothing follows) | total u64 | data, where
// total ≤ MaxBytes and data is the chunk's bytes: ChunkBytes of them, fewer for the last (PROTOCOL.md §13a).
// Anything else is an error wrapping blocksync.ErrBadMessage. Data aliases b.
func DecodeResp(b []byte, chunk uint32) (Resp, error) {
	var r Resp
	switch {
	case len(b) == 1 && b[0] == notHeld:
		r.NotHeld = true
		return r, nil
	case len(b) < 9 || b[0] != held:
		return r, fmt.Errorf("%w: anchor answer of %d bytes", blocksync.ErrBadMessage, len(b))
	}
	r.Total, r.Data = binary.BigEndian.Uint64(b[1:]), b[9:]
	off := uint64(chunk) * ChunkBytes
	if r.Total > MaxBytes || off >= r.Total || uint64(len(r.Data)) != min(ChunkBytes, r.Total-off) {
		return r, fmt.Errorf("%w: chunk %d of %d bytes, anchor of %d", blocksync.ErrBadMessage, chunk, len(r.Data), r.Total)
	}
	return r, nil
}

// Serve returns the answer to r from enc, the encoding of the anchor at r.Block: the chunk r asks for. A chunk past
// the end is an error wrapping blocksync.ErrBadMessage.
func Serve(r Req, enc []byte) ([]byte, error) {
	off := uint64(r.Chunk) * ChunkBytes
	if off >= uint64(len(enc)) {
		return nil, fmt.Errorf("%w: chunk %d of an anchor of %d bytes", blocksync.ErrBadMessage, r.Chunk, len(enc))
	}
	return Resp{Total: uint64(len(enc)), Data: enc[off:min(off+ChunkBytes, uint64(len(enc)))]}.Encode(), nil
}
