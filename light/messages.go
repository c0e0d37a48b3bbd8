package light

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/posnode/posnode/chain"
)

// Protocol names of the light-client requests (PROTOCOL.md §14); the p2p layer prefixes them with the network
// name, as it does the sync protocols'.
const (
	ProtoUpdate    = "light-update"
	ProtoBootstrap = "light-bootstrap"
	ProtoTx        = "light-tx"
	ProtoAccount   = "light-account"
	ProtoSubmit    = "light-submit"
)

// Bounds of the messages (PROTOCOL.md §14), checked by the decoders before they allocate.
const (
	// MaxTable bounds the entries of a stake table in an update: 400,000 bytes of entries.
	MaxTable = 10_000
	// MaxProof bounds the bytes of one encoded state or Merkle proof: 40 + 9 + 32 × 32.
	MaxProof = 8 + 32 + 9 + 32*32
	// MaxSkip is how many epochs past its source a server looks for the next justified checkpoint.
	MaxSkip = 8
	// MaxSources bounds the checkpoints of an update request: the client's justified one and earlier ones.
	MaxSources = 8
)

// Anchors of an update's stake table: the header whose state root proves it.
const (
	AnchorSource byte = 0 // the source checkpoint's block: a header the client already trusts
	AnchorTarget byte = 1 // the target checkpoint's block: a skip, which needs the client's own table too
)

// ErrMalformed: a light-client message does not decode. Decoders wrap it, and chain.ErrMalformed for the chain
// encodings inside.
var ErrMalformed = errors.New("malformed light-client message")

// Update is a full node's answer to "what is justified after my checkpoint": a Casper FFG supermajority link
// from Source to Target (PROTOCOL.md §8a, §14), carried as the signatures of the voters of Target's epoch.
type Update struct {
	Source chain.Checkpoint
	Target chain.Checkpoint
	Header chain.Header // the target checkpoint block's header: its hash is Target.Hash
	Anchor byte         // AnchorSource or AnchorTarget
	Table  []chain.Stake
	Proof  chain.StakeTableProof // Table is the stake table of Target.Epoch in the anchor's state
	Votes  []Signature           // sorted by Index, one per voter
}

// Signature is one vote of an update: the voter's index in the update's table and its signature over the vote
// Source → Target (PROTOCOL.md §8a).
type Signature struct {
	Index uint16
	Sig   [64]byte
}

const (
	checkpointSize = 8 + 32
	stakeSize      = 32 + 8
	signatureSize  = 2 + 64
)

// Encode returns u's encoding (PROTOCOL.md §14): source [40] | target [40] | header [320] | anchor u8 |
// ntable u16 | ntable × (address [32] | stake u64) | proof length u16 | stake-table proof | nvotes u16 |
// nvotes × (index u16 | sig [64]).
func (u *Update) Encode() []byte {
	b := make([]byte, 0, u.EncodedSize())
	b = appendCheckpoint(appendCheckpoint(b, u.Source), u.Target)
	b = u.Header.AppendTo(b)
	b = append(b, u.Anchor)
	b = binary.BigEndian.AppendUint16(b, uint16(len(u.Table)))
	for _, s := range u.Table {
		b = append(b, s.Addr[:]...)
		b = binary.BigEndian.AppendUint64(b, uint64(s.Amount))
	}
	p := u.Proof.Encode()
	b = append(binary.BigEndian.AppendUint16(b, uint16(len(p))), p...)
	b = binary.BigEndian.AppendUint16(b, uint16(len(u.Votes)))
	for _, v := range u.Votes {
		b = append(binary.BigEndian.AppendUint16(b, v.Index), v.Sig[:]...)
	}
	return b
}

// EncodedSize is the length of u's encoding.
func (u *Update) EncodedSize() int {
	return 2*checkpointSize + chain.HeaderSize + 1 + 2 + len(u.Table)*stakeSize + 2 + u.Proof.EncodedSize() + 2 +
		len(u.Votes)*signatureSize
}

// DecodeUpdate decodes exactly one update. It rejects short input, trailing bytes, an unknown anchor, a table
// above MaxTable entries or not sorted by address without repeats, a proof above MaxProof bytes, more votes than
// table entries and vote indices not increasing or out of the table, all with ErrMalformed. It checks no
// signature or proof: see Verify.
func DecodeUpdate(data []byte) (Update, error) {
	r := reader{b: data}
	var u Update
	u.Source, u.Target = r.checkpoint(), r.checkpoint()
	u.Header = r.header()
	if u.Anchor = r.u8(); r.err == nil && u.Anchor > AnchorTarget {
		r.fail("anchor %d", u.Anchor)
	}
	u.Table = r.table()
	u.Proof = r.tableProof()
	u.Votes = r.votes(len(u.Table))
	return u, r.end("update")
}

// Inclusion answers "where is transaction id": the canonical block that holds it and the proof of its id under
// the block's tx_root (PROTOCOL.md §4a, §14).
type Inclusion struct {
	Header chain.Header
	Proof  chain.MerkleProof
}

// Encode returns i's encoding: header [320] | merkle proof.
func (i *Inclusion) Encode() []byte { return i.Proof.AppendTo(i.Header.AppendTo(nil)) }

// DecodeInclusion decodes exactly one inclusion answer; errors wrap ErrMalformed.
func DecodeInclusion(data []byte) (Inclusion, error) {
	r := reader{b: data}
	var i Inclusion
	i.Header = r.header()
	if r.err == nil && len(r.b) > MaxProof {
		r.fail("merkle proof of %d bytes", len(r.b))
	}
	if r.err == nil {
		var err error
		i.Proof, err = chain.DecodeMerkleProof(r.b)
		r.wrap(err)
	}
	return i, r.end("inclusion")
}

// AccountRequest asks for an account in the state after a checkpoint block the client trusts.
type AccountRequest struct {
	Address chain.Address
	At      chain.Checkpoint
}

// Encode returns r's encoding: address [32] | checkpoint [40].
func (a *AccountRequest) Encode() []byte {
	return appendCheckpoint(append([]byte(nil), a.Address[:]...), a.At)
}

// DecodeAccountRequest decodes exactly 72 bytes; errors wrap ErrMalformed.
func DecodeAccountRequest(data []byte) (AccountRequest, error) {
	r := reader{b: data}
	var a AccountRequest
	copy(a.Address[:], r.take(32))
	a.At = r.checkpoint()
	return a, r.end("account request")
}

// AccountAnswer is an account and its proof against the state root of the requested block (PROTOCOL.md §4a).
type AccountAnswer struct {
	Account chain.Account
	Proof   chain.AccountProof
}

const accountSize = 5*8 + 1

// Encode returns a's encoding: balance u64 | stake u64 | nonce u64 | unbonding u64 | unbond_epoch u64 |
// slashed u8 | account proof.
func (a *AccountAnswer) Encode() []byte {
	acc := a.Account
	b := make([]byte, 0, accountSize+a.Proof.EncodedSize())
	for _, v := range []uint64{uint64(acc.Balance), uint64(acc.Stake), uint64(acc.Nonce), uint64(acc.Unbonding),
		uint64(acc.UnbondEpoch)} {
		b = binary.BigEndian.AppendUint64(b, v)
	}
	if acc.Slashed {
		b = append(b, 1)
	} else {
		b = append(b, 0)
	}
	return append(b, a.Proof.Encode()...)
}

// DecodeAccountAnswer decodes exactly one account answer; errors wrap ErrMalformed.
func DecodeAccountAnswer(data []byte) (AccountAnswer, error) {
	r := reader{b: data}
	var a AccountAnswer
	acc := &a.Account
	acc.Balance, acc.Stake = chain.Amount(r.u64()), chain.Amount(r.u64())
	acc.Nonce, acc.Unbonding = chain.Nonce(r.u64()), chain.Amount(r.u64())
	acc.UnbondEpoch = chain.Epoch(r.u64())
	switch s := r.u8(); {
	case r.err != nil:
	case s > 1:
		r.fail("slashed byte %d", s)
	default:
		acc.Slashed = s == 1
	}
	if r.err == nil && len(r.b) > MaxProof {
		r.fail("account proof of %d bytes", len(r.b))
	}
	if r.err == nil {
		var err error
		a.Proof, err = chain.DecodeAccountProof(r.b)
		r.wrap(err)
	}
	return a, r.end("account answer")
}

// DecodeCheckpoint decodes exactly 40 bytes, epoch u64 | hash [32]: the request of an update (the client's
// justified checkpoint) and of a bootstrap.
func DecodeCheckpoint(data []byte) (chain.Checkpoint, error) {
	r := reader{b: data}
	c := r.checkpoint()
	return c, r.end("checkpoint")
}

// DecodeSources decodes an update request (PROTOCOL.md §14): 1 to MaxSources checkpoints of 40 bytes, the
// client's justified checkpoint first, then earlier ones it saw justified. Errors wrap ErrMalformed.
func DecodeSources(data []byte) ([]chain.Checkpoint, error) {
	n := len(data) / checkpointSize
	if len(data)%checkpointSize != 0 || n < 1 || n > MaxSources {
		return nil, fmt.Errorf("%w: update request of %d bytes", ErrMalformed, len(data))
	}
	r := reader{b: data}
	out := make([]chain.Checkpoint, n)
	for i := range out {
		out[i] = r.checkpoint()
	}
	return out, r.end("update request")
}

// EncodeSources returns the checkpoints' 40 bytes each, an update request.
func EncodeSources(cs []chain.Checkpoint) []byte {
	b := make([]byte, 0, len(cs)*checkpointSize)
	for _, c := range cs {
		b = appendCheckpoint(b, c)
	}
	return b
}

// EncodeCheckpoint returns c's 40 bytes.
func EncodeCheckpoint(c chain.Checkpoint) []byte { return appendCheckpoint(nil, c) }

// DecodeHash decodes exactly 32 bytes: a transaction id, or a submit's answer.
func DecodeHash(data []byte) (chain.Hash, error) {
	var h chain.Hash
	if len(data) != len(h) {
		return h, fmt.Errorf("%w: hash of %d bytes", ErrMalformed, len(data))
	}
	copy(h[:], data)
	return h, nil
}

func appendCheckpoint(b []byte, c chain.Checkpoint) []byte {
	return append(binary.BigEndian.AppendUint64(b, uint64(c.Epoch)), c.Hash[:]...)
}
