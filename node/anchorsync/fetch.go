package anchorsync

import (
	"fmt"

	"github.com/posnode/posnode/chain"
	"github.com/posnode/posnode/node/blocksync"
)

// Fetch assembles the anchor at one block from one peer's answers, a chunk at a time (PROTOCOL.md §13a).
type Fetch struct {
	block chain.Hash
	buf   []byte
	total uint64 // the anchor's length in bytes, as the first chunk said
}

// NewFetch starts the fetch of the anchor at block.
func NewFetch(block chain.Hash) *Fetch { return &Fetch{block: block} }

// Outcome is what the node does after an answer (Fetch.OnAnswer).
type Outcome int

const (
	More    Outcome = iota // ask for the next chunk (Fetch.Next)
	NotHeld                // the peer keeps no state at the block: ask another, sync its chain instead
	Whole                  // every chunk is in: verify and install Fetch.Bytes
	Failed                 // the answer was missing or broken: the error says why, and whether it is the peer's fault
)

// Next returns the request for the next chunk.
func (f *Fetch) Next() Req { return Req{Block: f.block, Chunk: uint32(len(f.buf) / ChunkBytes)} }

// Started reports whether a chunk has come in.
func (f *Fetch) Started() bool { return len(f.buf) > 0 }

// OnAnswer takes the answer resp (or the request's error err) to Next(). Failed comes with err when the request
// failed, or with an error wrapping blocksync.ErrBadMessage when the answer does not decode or its length differs
// from the first chunk's.
func (f *Fetch) OnAnswer(resp []byte, err error) (Outcome, error) {
	if err != nil {
		return Failed, err
	}
	r := f.Next()
	a, err := DecodeResp(resp, r.Chunk)
	switch {
	case err != nil:
		return Failed, err
	case a.NotHeld:
		return NotHeld, nil
	case r.Chunk > 0 && a.Total != f.total:
		return Failed, fmt.Errorf("%w: chunk %d of an anchor of %d bytes, the first said %d", blocksync.ErrBadMessage,
			r.Chunk, a.Total, f.total)
	}
	f.total, f.buf = a.Total, append(f.buf, a.Data...)
	if uint64(len(f.buf)) < f.total {
		return More, nil
	}
	return Whole, nil
}

// Bytes returns the anchor's encoding once OnAnswer said Whole.
func (f *Fetch) Bytes() []byte { return f.buf }
