package chain

import (
	"crypto/ed25519"
	"encoding/binary"
	"fmt"
)

// MaxBlockTxs bounds the transactions in a block; it keeps an encoded block under 800 KB, below
// gossipsub's 1 MiB message limit (PROTOCOL.md §4).
const MaxBlockTxs = 5000

// BlockVersion is the version byte that starts every block encoding: 2 since the header carries the
// randomness beacon (PROTOCOL.md §4).
const BlockVersion = 2

// Sizes of the block encoding.
const (
	HeaderSize = 256 // height | slot | parent | proposer | txroot | stateroot | mix | vrf proof
	// blockFixedSize is everything but the transactions: version | header | ntx | sig.
	blockFixedSize = 1 + HeaderSize + 4 + ed25519.SignatureSize
)

// Domain separators of the block hashes and signature.
const (
	headerDomain = "posnode/header/v2"
	txRootDomain = "posnode/txroot/v1"
	blockDomain  = "posnode/block/v2"
)

// Header is what a block's hash commits to (PROTOCOL.md §4).
type Header struct {
	Height    Height
	Slot      Slot
	Parent    Hash    // hash of the parent block; the genesis hash for block 1
	Proposer  Address // the slot's lottery winner, who signs the block
	TxRoot    Hash    // TxRoot of the block's transactions
	StateRoot Hash    // State.Root after applying the block
	Mix       Hash    // RANDAO mix: SHA-256(parent's Mix | VRF output of VRFProof) (PROTOCOL.md §6)
	VRFProof  VRFProof
}

// AppendTo appends the 256-byte encoding of h to b (PROTOCOL.md §4):
// height u64 | slot u64 | parent [32] | proposer [32] | txroot [32] | stateroot [32] | mix [32] | vrf proof [80].
func (h *Header) AppendTo(b []byte) []byte {
	b = binary.BigEndian.AppendUint64(b, uint64(h.Height))
	b = binary.BigEndian.AppendUint64(b, uint64(h.Slot))
	b = append(b, h.Parent[:]...)
	b = append(b, h.Proposer[:]...)
	b = append(b, h.TxRoot[:]...)
	b = append(b, h.StateRoot[:]...)
	b = append(b, h.Mix[:]...)
	return append(b, h.VRFProof[:]...)
}

// Encode returns the 256-byte encoding of h.
func (h *Header) Encode() []byte { return h.AppendTo(make([]byte, 0, HeaderSize)) }

// decodeHeader reads a header from exactly HeaderSize bytes.
func decodeHeader(b []byte) Header {
	var h Header
	h.Height = Height(binary.BigEndian.Uint64(b[0:8]))
	h.Slot = Slot(binary.BigEndian.Uint64(b[8:16]))
	copy(h.Parent[:], b[16:48])
	copy(h.Proposer[:], b[48:80])
	copy(h.TxRoot[:], b[80:112])
	copy(h.StateRoot[:], b[112:144])
	copy(h.Mix[:], b[144:176])
	copy(h.VRFProof[:], b[176:256])
	return h
}

// Hash returns the block hash: SHA-256("posnode/header/v2" | header bytes) (PROTOCOL.md §4).
func (h *Header) Hash() Hash {
	var buf [HeaderSize]byte
	return HashBytes([]byte(headerDomain), h.AppendTo(buf[:0]))
}

// Block is a header, its transactions and the proposer's signature (PROTOCOL.md §4).
type Block struct {
	Header Header
	Txs    []Tx
	Sig    [64]byte
}

// Hash returns the block's hash, which is its header's hash.
func (b *Block) Hash() Hash { return b.Header.Hash() }

// Tip returns the block's fork-choice summary.
func (b *Block) Tip() Tip {
	return Tip{Hash: b.Hash(), Height: b.Header.Height, Slot: b.Header.Slot, Mix: b.Header.Mix}
}

// EncodedSize returns the length of b's encoding.
func (b *Block) EncodedSize() int { return blockFixedSize + len(b.Txs)*TxSize }

// Encode returns b's encoding (PROTOCOL.md §4):
// version u8 (=2) | header [256] | ntx u32 | ntx × tx [153] | sig [64].
func (b *Block) Encode() []byte {
	out := make([]byte, 0, b.EncodedSize())
	out = append(out, BlockVersion)
	out = b.Header.AppendTo(out)
	out = binary.BigEndian.AppendUint32(out, uint32(len(b.Txs)))
	for i := range b.Txs {
		out = b.Txs[i].AppendTo(out)
	}
	return append(out, b.Sig[:]...)
}

// DecodeBlock decodes a block encoding. It rejects an unknown version, more than MaxBlockTxs
// transactions, a length that does not match the transaction count and transactions that do not
// decode; every error wraps ErrMalformed. It checks nothing else: see ValidateBasic.
func DecodeBlock(data []byte) (*Block, error) {
	if len(data) < blockFixedSize {
		return nil, fmt.Errorf("%w: block is %d bytes, shorter than the minimum %d", ErrMalformed, len(data), blockFixedSize)
	}
	if data[0] != BlockVersion {
		return nil, fmt.Errorf("%w: %w %d, want %d", ErrMalformed, ErrBadVersion, data[0], BlockVersion)
	}
	ntx := binary.BigEndian.Uint32(data[1+HeaderSize:])
	if ntx > MaxBlockTxs {
		return nil, fmt.Errorf("%w: %w: %d, limit %d", ErrMalformed, ErrTooManyTxs, ntx, MaxBlockTxs)
	}
	want := blockFixedSize + int(ntx)*TxSize
	if len(data) < want {
		return nil, fmt.Errorf("%w: block of %d transactions is %d bytes, want %d (short)", ErrMalformed, ntx, len(data), want)
	}
	if len(data) > want {
		return nil, fmt.Errorf("%w: %d trailing bytes after block", ErrMalformed, len(data)-want)
	}
	b := &Block{Header: decodeHeader(data[1 : 1+HeaderSize])}
	txs := data[1+HeaderSize+4 : want-ed25519.SignatureSize]
	if ntx > 0 {
		b.Txs = make([]Tx, ntx)
	}
	for i := range b.Txs {
		tx, err := DecodeTx(txs[i*TxSize : (i+1)*TxSize])
		if err != nil {
			return nil, fmt.Errorf("tx %d: %w", i, err)
		}
		b.Txs[i] = tx
	}
	copy(b.Sig[:], data[want-ed25519.SignatureSize:])
	return b, nil
}

// TxRoot returns SHA-256("posnode/txroot/v1" | u32 count | id_1 | … | id_n) (PROTOCOL.md §4).
func TxRoot(txs []Tx) Hash {
	ids := make([]Hash, len(txs))
	for i := range txs {
		ids[i] = txs[i].ID()
	}
	return txRootOf(ids)
}

func txRootOf(ids []Hash) Hash {
	buf := make([]byte, 0, len(txRootDomain)+4+len(ids)*len(Hash{}))
	buf = append(buf, txRootDomain...)
	buf = binary.BigEndian.AppendUint32(buf, uint32(len(ids)))
	for _, id := range ids {
		buf = append(buf, id[:]...)
	}
	return HashBytes(buf)
}

// SigningBytes returns what the proposer signs: "posnode/block/v2" | chainID | header bytes
// (PROTOCOL.md §4). The header commits to the transactions through TxRoot.
func (b *Block) SigningBytes(chainID Hash) []byte {
	out := make([]byte, 0, len(blockDomain)+len(chainID)+HeaderSize)
	out = append(out, blockDomain...)
	out = append(out, chainID[:]...)
	return b.Header.AppendTo(out)
}

// Sign sets b.Sig to the signature of key over b's signing bytes. key should belong to
// b.Header.Proposer, and the header should be complete (TxRoot, StateRoot, Mix and VRFProof set).
func (b *Block) Sign(chainID Hash, key ed25519.PrivateKey) {
	copy(b.Sig[:], ed25519.Sign(key, b.SigningBytes(chainID)))
}

// Verify checks that b.Sig is the proposer's signature of b's header on the chain chainID.
// It does not check the transactions' signatures.
func (b *Block) Verify(chainID Hash) error {
	if !ed25519.Verify(b.Header.Proposer.PublicKey(), b.SigningBytes(chainID), b.Sig[:]) {
		return fmt.Errorf("%w: block at height %d slot %d by %s", ErrBadSignature, b.Header.Height, b.Header.Slot, b.Header.Proposer.Short())
	}
	return nil
}

// ValidateBasic checks the rules that need neither state nor parent (PROTOCOL.md §4): height and
// slot at least 1, at most MaxBlockTxs transactions, each valid on its own, none twice, and a
// TxRoot that matches them.
func (b *Block) ValidateBasic() error {
	if b.Header.Height < 1 {
		return fmt.Errorf("%w: height 0 is genesis", ErrInvalidBlock)
	}
	if b.Header.Slot < 1 {
		return fmt.Errorf("%w: slot 0 is genesis", ErrInvalidBlock)
	}
	if len(b.Txs) > MaxBlockTxs {
		return fmt.Errorf("%w: %d, limit %d", ErrTooManyTxs, len(b.Txs), MaxBlockTxs)
	}
	ids := make([]Hash, len(b.Txs))
	seen := make(map[Hash]struct{}, len(b.Txs))
	for i := range b.Txs {
		if err := b.Txs[i].ValidateBasic(); err != nil {
			return fmt.Errorf("tx %d: %w", i, err)
		}
		ids[i] = b.Txs[i].ID()
		if _, dup := seen[ids[i]]; dup {
			return fmt.Errorf("%w: tx %d is %s", ErrDuplicateTx, i, ids[i].Short())
		}
		seen[ids[i]] = struct{}{}
	}
	if root := txRootOf(ids); root != b.Header.TxRoot {
		return fmt.Errorf("%w: header has %s, transactions give %s", ErrBadTxRoot, b.Header.TxRoot.Short(), root.Short())
	}
	return nil
}
