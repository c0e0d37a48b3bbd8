package chain

import (
	"crypto/ed25519"
	"encoding/binary"
	"fmt"
)

// MaxBlockTxs bounds the transactions in a block; it keeps an encoded block under 800 KB, below
// gossipsub's 1 MiB message limit (PROTOCOL.md §4).
const MaxBlockTxs = 5000

// BlockVersion is the version byte that starts every block encoding: 3 since blocks carry checkpoint votes and
// evidence beside the randomness beacon (PROTOCOL.md §4).
const BlockVersion = 3

// Sizes of the block encoding.
const (
	HeaderSize = 320 // height | slot | parent | proposer | txroot | voteroot | evidenceroot | stateroot | mix | vrf proof
	// blockFixedSize is everything but the transactions, votes and evidence:
	// version | header | ntx u32 | nvotes u16 | nevidence u8 | sig.
	blockFixedSize = 1 + HeaderSize + 4 + 2 + 1 + ed25519.SignatureSize
)

// Domain separators of the block hashes and signature.
const (
	headerDomain = "posnode/header/v3"
	txRootDomain = "posnode/txroot/v2"
	blockDomain  = "posnode/block/v3"
)

// Header is what a block's hash commits to (PROTOCOL.md §4).
type Header struct {
	Height    Height
	Slot      Slot
	Parent    Hash    // hash of the parent block; the genesis hash for block 1
	Proposer  Address // the slot's lottery winner, who signs the block
	TxRoot    Hash    // TxRoot of the block's transactions
	VoteRoot  Hash    // VoteRoot of the block's checkpoint votes (PROTOCOL.md §8a)
	EvRoot    Hash    // EvidenceRoot of the block's evidence (PROTOCOL.md §8b)
	StateRoot Hash    // State.Root after applying the block
	Mix       Hash    // RANDAO mix: SHA-256(parent's Mix | VRF output of VRFProof) (PROTOCOL.md §6)
	VRFProof  VRFProof
}

// AppendTo appends the 320-byte encoding of h to b (PROTOCOL.md §4): height u64 | slot u64 | parent [32] |
// proposer [32] | txroot [32] | voteroot [32] | evidenceroot [32] | stateroot [32] | mix [32] | vrf proof [80].
func (h *Header) AppendTo(b []byte) []byte {
	b = binary.BigEndian.AppendUint64(b, uint64(h.Height))
	b = binary.BigEndian.AppendUint64(b, uint64(h.Slot))
	b = append(b, h.Parent[:]...)
	b = append(b, h.Proposer[:]...)
	b = append(b, h.TxRoot[:]...)
	b = append(b, h.VoteRoot[:]...)
	b = append(b, h.EvRoot[:]...)
	b = append(b, h.StateRoot[:]...)
	b = append(b, h.Mix[:]...)
	return append(b, h.VRFProof[:]...)
}

// Encode returns the 320-byte encoding of h.
func (h *Header) Encode() []byte { return h.AppendTo(make([]byte, 0, HeaderSize)) }

// DecodeHeader decodes exactly one 320-byte header encoding (PROTOCOL.md §4); other lengths fail with
// ErrMalformed, wrapped. It checks nothing else.
func DecodeHeader(b []byte) (Header, error) {
	if len(b) != HeaderSize {
		return Header{}, fmt.Errorf("%w: header is %d bytes, want %d", ErrMalformed, len(b), HeaderSize)
	}
	return decodeHeader(b), nil
}

// decodeHeader reads a header from exactly HeaderSize bytes.
func decodeHeader(b []byte) Header {
	var h Header
	h.Height = Height(binary.BigEndian.Uint64(b[0:8]))
	h.Slot = Slot(binary.BigEndian.Uint64(b[8:16]))
	copy(h.Parent[:], b[16:48])
	copy(h.Proposer[:], b[48:80])
	copy(h.TxRoot[:], b[80:112])
	copy(h.VoteRoot[:], b[112:144])
	copy(h.EvRoot[:], b[144:176])
	copy(h.StateRoot[:], b[176:208])
	copy(h.Mix[:], b[208:240])
	copy(h.VRFProof[:], b[240:320])
	return h
}

// Hash returns the block hash: SHA-256("posnode/header/v3" | header bytes) (PROTOCOL.md §4).
func (h *Header) Hash() Hash {
	var buf [HeaderSize]byte
	return HashBytes([]byte(headerDomain), h.AppendTo(buf[:0]))
}

// Block is a header, its transactions, checkpoint votes and evidence, and the proposer's signature
// (PROTOCOL.md §4).
type Block struct {
	Header   Header
	Txs      []Tx
	Votes    []Vote     // at most MaxBlockVotes (PROTOCOL.md §8a)
	Evidence []Evidence // at most MaxBlockEvidence (PROTOCOL.md §8b)
	Sig      [64]byte
}

// Hash returns the block's hash, which is its header's hash.
func (b *Block) Hash() Hash { return b.Header.Hash() }

// Tip returns the block's fork-choice summary.
func (b *Block) Tip() Tip {
	return Tip{Hash: b.Hash(), Height: b.Header.Height, Slot: b.Header.Slot, Mix: b.Header.Mix}
}

// EncodedSize returns the length of b's encoding.
func (b *Block) EncodedSize() int {
	n := blockFixedSize + len(b.Txs)*TxSize + len(b.Votes)*VoteSize
	for i := range b.Evidence {
		n += evidenceSize(b.Evidence[i].Kind)
	}
	return n
}

// Encode returns b's encoding (PROTOCOL.md §4): version u8 (=3) | header [320] | ntx u32 | ntx × tx [153] |
// nvotes u16 | nvotes × vote [176] | nevidence u8 | nevidence × evidence (its size set by its kind byte) |
// sig [64].
func (b *Block) Encode() []byte {
	out := make([]byte, 0, b.EncodedSize())
	out = append(out, BlockVersion)
	out = b.Header.AppendTo(out)
	out = binary.BigEndian.AppendUint32(out, uint32(len(b.Txs)))
	for i := range b.Txs {
		out = b.Txs[i].AppendTo(out)
	}
	out = binary.BigEndian.AppendUint16(out, uint16(len(b.Votes)))
	for i := range b.Votes {
		out = b.Votes[i].AppendTo(out)
	}
	out = append(out, byte(len(b.Evidence)))
	for i := range b.Evidence {
		out = b.Evidence[i].AppendTo(out)
	}
	return append(out, b.Sig[:]...)
}

// DecodeBlock decodes a block encoding. It rejects an unknown version, more than MaxBlockTxs transactions,
// MaxBlockVotes votes or MaxBlockEvidence evidence, counts that do not match the length, and parts that do not
// decode; every error wraps ErrMalformed. It checks nothing else: see ValidateBasic.
func DecodeBlock(data []byte) (*Block, error) {
	if len(data) < blockFixedSize {
		return nil, fmt.Errorf("%w: block is %d bytes, shorter than the minimum %d", ErrMalformed, len(data), blockFixedSize)
	}
	if data[0] != BlockVersion {
		return nil, fmt.Errorf("%w: %w %d, want %d", ErrMalformed, ErrBadVersion, data[0], BlockVersion)
	}
	b := &Block{Header: decodeHeader(data[1 : 1+HeaderSize])}
	r := reader{data: data[:len(data)-ed25519.SignatureSize], off: 1 + HeaderSize}
	if err := r.txs(b); err != nil {
		return nil, err
	}
	if err := r.votes(b); err != nil {
		return nil, err
	}
	if err := r.evidence(b); err != nil {
		return nil, err
	}
	if r.off != len(r.data) {
		return nil, fmt.Errorf("%w: %d trailing bytes after block", ErrMalformed, len(r.data)-r.off)
	}
	copy(b.Sig[:], data[len(data)-ed25519.SignatureSize:])
	return b, nil
}

// TxRoot returns MerkleRoot("posnode/txroot/v2", ids) of the transactions' ids in block order
// (PROTOCOL.md §4, §4a): a transaction's inclusion proof (TxProof) is logarithmic in the block's size.
func TxRoot(txs []Tx) Hash { return txRootOf(txIDs(txs)) }

func txIDs(txs []Tx) []Hash {
	ids := make([]Hash, len(txs))
	for i := range txs {
		ids[i] = txs[i].ID()
	}
	return ids
}

// txRootOf returns the tx root of ids.
func txRootOf(ids []Hash) Hash { return merkleRoot(txRootDomain, idLeaves(ids)) }

// idLeaves returns the leaf hashes H(0x00 | id) of ids.
func idLeaves(ids []Hash) []Hash {
	leaves := make([]Hash, len(ids))
	for i := range ids {
		leaves[i] = merkleLeaf(ids[i][:])
	}
	return leaves
}

// TxProof returns the inclusion proof of txs[i] under TxRoot(txs) (PROTOCOL.md §4a). It returns ErrNotInList
// for an index out of range.
func TxProof(txs []Tx, i int) (MerkleProof, error) {
	if i < 0 || i >= len(txs) {
		return MerkleProof{}, fmt.Errorf("%w: tx %d of %d", ErrNotInList, i, len(txs))
	}
	return merkleProve(idLeaves(txIDs(txs)), i), nil
}

// VerifyTxProof checks that the transaction id is at proof.Index of a block of proof.Size transactions whose
// header has root as TxRoot (PROTOCOL.md §4a). It returns ErrBadProof, wrapped.
func VerifyTxProof(root Hash, id Hash, proof MerkleProof) error {
	if err := verifyMerkle(txRootDomain, root, merkleLeaf(id[:]), proof); err != nil {
		return fmt.Errorf("tx %s: %w", id.Short(), err)
	}
	return nil
}

// SigningBytes returns what the proposer signs: "posnode/block/v3" | chainID | header bytes
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
	if !verifySig(b.Header.Proposer, b.SigningBytes(chainID), b.Sig[:]) {
		return fmt.Errorf("%w: block at height %d slot %d by %s", ErrBadSignature, b.Header.Height, b.Header.Slot, b.Header.Proposer.Short())
	}
	return nil
}

// ValidateBasic checks the rules that need neither state nor parent (PROTOCOL.md §4, §8a, §8b): height and
// slot at least 1, at most MaxBlockTxs transactions, each valid on its own, none twice, and a TxRoot that
// matches them; then the same for votes (VoteRoot) and evidence (EvidenceRoot).
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
	if err := b.validateVotes(); err != nil {
		return err
	}
	return b.validateEvidence()
}
