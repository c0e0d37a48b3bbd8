package light

import (
	"bytes"
	"encoding/binary"
	"fmt"

	"github.com/posnode/posnode/chain"
)

// reader decodes a message front to back; the first failure sticks and every later read returns zero values.
type reader struct {
	b   []byte
	err error
}

func (r *reader) fail(format string, args ...any) {
	if r.err == nil {
		r.err = fmt.Errorf("%w: "+format, append([]any{ErrMalformed}, args...)...)
	}
}

// wrap records a failure of a chain decoder that read the rest of the input, with ErrMalformed too.
func (r *reader) wrap(err error) {
	r.b = nil
	if err != nil && r.err == nil {
		r.err = fmt.Errorf("%w: %w", ErrMalformed, err)
	}
}

// take returns the next n bytes, or nil after a failure or when fewer are left.
func (r *reader) take(n int) []byte {
	if r.err != nil {
		return nil
	}
	if len(r.b) < n {
		r.fail("%d bytes left, want %d", len(r.b), n)
		return nil
	}
	out := r.b[:n]
	r.b = r.b[n:]
	return out
}

func (r *reader) u8() byte {
	if b := r.take(1); b != nil {
		return b[0]
	}
	return 0
}

func (r *reader) u16() uint16 {
	if b := r.take(2); b != nil {
		return binary.BigEndian.Uint16(b)
	}
	return 0
}

func (r *reader) u64() uint64 {
	if b := r.take(8); b != nil {
		return binary.BigEndian.Uint64(b)
	}
	return 0
}

func (r *reader) checkpoint() chain.Checkpoint {
	var c chain.Checkpoint
	c.Epoch = chain.Epoch(r.u64())
	copy(c.Hash[:], r.take(32))
	return c
}

func (r *reader) header() chain.Header {
	b := r.take(chain.HeaderSize)
	if b == nil {
		return chain.Header{}
	}
	h, _ := chain.DecodeHeader(b) // of the right length
	return h
}

// table reads ntable u16 and the entries, sorted by address without repeats and at most MaxTable.
func (r *reader) table() []chain.Stake {
	n := int(r.u16())
	if r.err == nil && n > MaxTable {
		r.fail("stake table of %d entries, at most %d", n, MaxTable)
	}
	raw := r.take(n * stakeSize)
	if raw == nil {
		return nil
	}
	out := make([]chain.Stake, n)
	for i := range out {
		e := raw[i*stakeSize:]
		copy(out[i].Addr[:], e[:32])
		out[i].Amount = chain.Amount(binary.BigEndian.Uint64(e[32:40]))
		if i > 0 && bytes.Compare(out[i-1].Addr[:], out[i].Addr[:]) >= 0 {
			r.fail("stake table not sorted by address at entry %d", i)
			return nil
		}
	}
	return out
}

func (r *reader) tableProof() chain.StakeTableProof {
	n := int(r.u16())
	if r.err == nil && n > MaxProof {
		r.fail("stake table proof of %d bytes", n)
	}
	b := r.take(n)
	if b == nil {
		return chain.StakeTableProof{}
	}
	p, err := chain.DecodeStakeTableProof(b)
	if err != nil && r.err == nil {
		r.err = fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	return p
}

// votes reads nvotes u16 and the signatures, indices increasing and below tableSize.
func (r *reader) votes(tableSize int) []Signature {
	n := int(r.u16())
	if r.err == nil && n > tableSize {
		r.fail("%d votes for a table of %d", n, tableSize)
	}
	raw := r.take(n * signatureSize)
	if raw == nil || n == 0 {
		return nil
	}
	out := make([]Signature, n)
	for i := range out {
		e := raw[i*signatureSize:]
		out[i].Index = binary.BigEndian.Uint16(e)
		copy(out[i].Sig[:], e[2:signatureSize])
		if int(out[i].Index) >= tableSize || (i > 0 && out[i].Index <= out[i-1].Index) {
			r.fail("vote %d has index %d", i, out[i].Index)
			return nil
		}
	}
	return out
}

// end fails on trailing bytes and returns the first failure, naming what was decoded.
func (r *reader) end(what string) error {
	if r.err == nil && len(r.b) != 0 {
		r.fail("%d trailing bytes", len(r.b))
	}
	if r.err != nil {
		return fmt.Errorf("%s: %w", what, r.err)
	}
	return nil
}
