package chain

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
)

// Checkpoint sync (PROTOCOL.md §13a): a node with an empty chain database and a trusted checkpoint fetches from a
// peer the anchor, the finalized state at the checkpoint block, verifies it against the checkpoint, and opens its
// tree with that block as its floor. The anchor's encoding (AnchorEncoding) is deterministic: a node serves the
// same bytes for one block however often it is asked, so a node may fetch it in chunks.

// ErrBadAnchor: an anchor does not decode, or does not verify against the trusted checkpoint (PROTOCOL.md §13a).
var ErrBadAnchor = errors.New("bad anchor")

// anchorVersion is the first byte of an anchor's encoding.
const anchorVersion = 1

// MaxAnchorHeaders bounds the ancestor headers an anchor carries (PROTOCOL.md §13a).
const MaxAnchorHeaders = 1 << 14

// Sizes of the fixed parts of an anchor's encoding.
const (
	stakeSize   = 32 + 8
	accountSize = 32 + 5*8 + 1
)

// AnchorRecord is a stored anchor (PROTOCOL.md §13a): the encoding of the anchor at a finalized floor, which the
// store keeps for TreeConfig.AnchorEpochs epochs so that the node serves checkpoints finalized a while ago.
type AnchorRecord struct {
	Epoch Epoch  // the epoch of the finalized checkpoint whose block it is the anchor at
	Hash  Hash   // that block
	Enc   []byte // Anchor.Encode
}

// Anchor is the finalized state at a checkpoint block, as a peer serves it (PROTOCOL.md §13a): the block, the
// headers of its ancestors back to its third ancestor of an earlier epoch (or genesis), oldest first, and its
// post-state. Verify checks it against a trusted checkpoint.
type Anchor struct {
	Block    *Block
	Headers  []Header
	Epoch    Epoch
	Supply   Amount
	Tables   [][]Stake
	Accounts map[Address]Account
}

// Encode returns the anchor's encoding (PROTOCOL.md §13a): version u8 | block_len u32 | block | n_headers u32 |
// headers | epoch u64 | supply u64 | n_tables u32 | (n u32 | n × (address | amount u64))… | n_accounts u32 |
// n × (address | balance u64 | stake u64 | nonce u64 | unbonding u64 | unbond_epoch u64 | slashed u8), the
// accounts in increasing address order.
func (a *Anchor) Encode() []byte {
	blk := a.Block.Encode()
	b := append(make([]byte, 0, 64+len(blk)+len(a.Headers)*HeaderSize+len(a.Accounts)*accountSize), anchorVersion)
	b = binary.BigEndian.AppendUint32(b, uint32(len(blk)))
	b = append(b, blk...)
	b = binary.BigEndian.AppendUint32(b, uint32(len(a.Headers)))
	for i := range a.Headers {
		b = a.Headers[i].AppendTo(b)
	}
	b = binary.BigEndian.AppendUint64(b, uint64(a.Epoch))
	b = binary.BigEndian.AppendUint64(b, uint64(a.Supply))
	b = binary.BigEndian.AppendUint32(b, uint32(len(a.Tables)))
	for _, tb := range a.Tables {
		b = binary.BigEndian.AppendUint32(b, uint32(len(tb)))
		for _, s := range tb {
			b = append(b, s.Addr[:]...)
			b = binary.BigEndian.AppendUint64(b, uint64(s.Amount))
		}
	}
	addrs := make([]Address, 0, len(a.Accounts))
	for ad := range a.Accounts {
		addrs = append(addrs, ad)
	}
	slices.SortFunc(addrs, func(x, y Address) int { return bytes.Compare(x[:], y[:]) })
	b = binary.BigEndian.AppendUint32(b, uint32(len(addrs)))
	for _, ad := range addrs {
		acc := a.Accounts[ad]
		b = append(b, ad[:]...)
		for _, v := range []uint64{uint64(acc.Balance), uint64(acc.Stake), uint64(acc.Nonce), uint64(acc.Unbonding),
			uint64(acc.UnbondEpoch)} {
			b = binary.BigEndian.AppendUint64(b, v)
		}
		if acc.Slashed {
			b = append(b, 1)
		} else {
			b = append(b, 0)
		}
	}
	return b
}

// anchorReader reads an anchor's encoding; the first error sticks.
type anchorReader struct {
	b   []byte
	err error
}

func (r *anchorReader) take(n uint64, what string) []byte {
	if r.err != nil {
		return nil
	}
	if n > uint64(len(r.b)) {
		r.err = fmt.Errorf("%w: %s: %d bytes, %d left", ErrBadAnchor, what, n, len(r.b))
		return nil
	}
	out := r.b[:n]
	r.b = r.b[n:]
	return out
}

func (r *anchorReader) u64(what string) uint64 {
	if b := r.take(8, what); b != nil {
		return binary.BigEndian.Uint64(b)
	}
	return 0
}

func (r *anchorReader) u32(what string) uint32 {
	if b := r.take(4, what); b != nil {
		return binary.BigEndian.Uint32(b)
	}
	return 0
}

// count reads a u32 count of items of size bytes each, no more than what is left of the input.
func (r *anchorReader) count(size uint64, what string) int {
	n := uint64(r.u32(what))
	if r.err == nil && n*size > uint64(len(r.b)) {
		r.err = fmt.Errorf("%w: %d %s in %d bytes", ErrBadAnchor, n, what, len(r.b))
	}
	if r.err != nil {
		return 0
	}
	return int(n)
}

// DecodeAnchor parses an anchor's encoding (PROTOCOL.md §13a); the input must end exactly, the block must decode,
// at most MaxAnchorHeaders headers, and the accounts must be in strictly increasing address order. It fails with
// ErrBadAnchor.
func DecodeAnchor(in []byte) (*Anchor, error) {
	r := &anchorReader{b: in}
	if v := r.take(1, "version"); v != nil && v[0] != anchorVersion {
		return nil, fmt.Errorf("%w: version %d", ErrBadAnchor, v[0])
	}
	a := &Anchor{}
	if enc := r.take(uint64(r.u32("block length")), "block"); r.err == nil {
		blk, err := DecodeBlock(enc)
		if err != nil {
			return nil, fmt.Errorf("%w: block: %w", ErrBadAnchor, err)
		}
		a.Block = blk
	}
	nh := r.count(HeaderSize, "headers")
	if nh > MaxAnchorHeaders {
		return nil, fmt.Errorf("%w: %d headers, at most %d", ErrBadAnchor, nh, MaxAnchorHeaders)
	}
	for range nh {
		a.Headers = append(a.Headers, decodeHeader(r.take(HeaderSize, "header")))
	}
	a.Epoch, a.Supply = Epoch(r.u64("epoch")), Amount(r.u64("supply"))
	for range r.count(4, "tables") {
		n := r.count(stakeSize, "stakes")
		tb := make([]Stake, n)
		for i := range tb {
			copy(tb[i].Addr[:], r.take(32, "stake address"))
			tb[i].Amount = Amount(r.u64("stake"))
		}
		a.Tables = append(a.Tables, tb)
	}
	return a, r.accounts(a)
}

// accounts reads the anchor's accounts and checks that nothing follows them.
func (r *anchorReader) accounts(a *Anchor) error {
	n := r.count(accountSize, "accounts")
	a.Accounts = make(map[Address]Account, n)
	var prev Address
	for i := range n {
		var ad Address
		copy(ad[:], r.take(32, "account address"))
		if i > 0 && bytes.Compare(prev[:], ad[:]) >= 0 {
			return fmt.Errorf("%w: account %d out of order", ErrBadAnchor, i)
		}
		prev = ad
		acc := Account{Balance: Amount(r.u64("balance")), Stake: Amount(r.u64("stake")), Nonce: Nonce(r.u64("nonce")),
			Unbonding: Amount(r.u64("unbonding")), UnbondEpoch: Epoch(r.u64("unbond epoch"))}
		switch f := r.take(1, "slashed"); {
		case f == nil:
		case f[0] > 1:
			return fmt.Errorf("%w: account %d: slashed flag %d", ErrBadAnchor, i, f[0])
		default:
			acc.Slashed = f[0] == 1
		}
		a.Accounts[ad] = acc
	}
	if r.err == nil && len(r.b) != 0 {
		return fmt.Errorf("%w: %d trailing bytes", ErrBadAnchor, len(r.b))
	}
	return r.err
}
