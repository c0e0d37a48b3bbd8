package chain

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"math/bits"
)

// Merkle trees (PROTOCOL.md §4a). A list of n leaves has the root
//
//	MerkleRoot(domain, leaves) = H(domain | n u32 | MTH(leaves))
//
// where MTH is the Merkle Tree Hash of RFC 9162 §2.1.1: MTH({}) = H(), a leaf hashes as H(0x00 | data) and an
// inner node as H(0x01 | left | right), the left subtree holding the largest power of two below n. The domain
// names the list (transactions, accounts, stakes) and its version; the count pins the tree's shape, so that an
// inclusion proof proves a leaf's index in a list of exactly that length.

// MaxMerkleDepth bounds an inclusion path: a list has fewer than 2^32 leaves.
const MaxMerkleDepth = 32

// merkleProofFixedSize is the encoding of a proof without its path: index u32 | size u32 | depth u8.
const merkleProofFixedSize = 4 + 4 + 1

const (
	merkleLeafPrefix = 0x00
	merkleNodePrefix = 0x01
)

// MerkleProof is an inclusion proof of the leaf at Index in a list of Size leaves: the RFC 9162 §2.1.3
// inclusion path, the sibling hashes from the leaf up.
type MerkleProof struct {
	Index uint32
	Size  uint32
	Path  []Hash
}

// merkleLeaf returns H(0x00 | data) (RFC 9162 §2.1.1).
func merkleLeaf(data []byte) Hash {
	var buf [1 + 128]byte // every leaf of this package is shorter; longer data still hashes correctly
	return sha256.Sum256(append(append(buf[:0], merkleLeafPrefix), data...))
}

// merkleNode returns H(0x01 | left | right) (RFC 9162 §2.1.1).
func merkleNode(left, right Hash) Hash {
	var buf [1 + 2*len(Hash{})]byte
	buf[0] = merkleNodePrefix
	copy(buf[1:], left[:])
	copy(buf[1+len(left):], right[:])
	return sha256.Sum256(buf[:])
}

// merkleLevels returns the tree over leaf hashes, bottom level first: level k+1 pairs the nodes of level k, and
// an odd last node moves up unpaired, which gives RFC 9162's tree (its left subtrees are perfect). The top level
// holds the MTH; an empty list has one level holding H().
func merkleLevels(leaves []Hash) [][]Hash {
	if len(leaves) == 0 {
		return [][]Hash{{sha256.Sum256(nil)}}
	}
	levels := [][]Hash{leaves}
	for cur := leaves; len(cur) > 1; {
		next := make([]Hash, (len(cur)+1)/2)
		for i := range next {
			if 2*i+1 < len(cur) {
				next[i] = merkleNode(cur[2*i], cur[2*i+1])
			} else {
				next[i] = cur[2*i]
			}
		}
		levels = append(levels, next)
		cur = next
	}
	return levels
}

// wrapRoot returns H(domain | n u32 | mth).
func wrapRoot(domain string, n uint32, mth Hash) Hash {
	var buf [64]byte
	b := append(buf[:0], domain...)
	b = binary.BigEndian.AppendUint32(b, n)
	return sha256.Sum256(append(b, mth[:]...))
}

// merkleRoot returns MerkleRoot(domain, leaves) of the leaves' hashes (PROTOCOL.md §4a).
func merkleRoot(domain string, leaves []Hash) Hash {
	levels := merkleLevels(leaves)
	return wrapRoot(domain, uint32(len(leaves)), levels[len(levels)-1][0])
}

// merkleProve returns the inclusion proof of leaf i; i must be an index of leaves.
func merkleProve(leaves []Hash, i int) MerkleProof {
	p := MerkleProof{Index: uint32(i), Size: uint32(len(leaves))}
	levels := merkleLevels(leaves)
	for _, level := range levels[:len(levels)-1] {
		if sib := i ^ 1; sib < len(level) {
			p.Path = append(p.Path, level[sib])
		}
		i >>= 1
	}
	return p
}

// merklePathLen returns the length of the inclusion path of leaf index in a list of size leaves, or -1 when index is
// not below size.
func merklePathLen(index, size uint32) int {
	if index >= size {
		return -1
	}
	n := 0
	for fn, sn := index, size-1; sn > 0; fn, sn = fn>>1, sn>>1 {
		if fn&1 == 0 && fn == sn {
			shift := bits.TrailingZeros32(fn)
			fn, sn = fn>>shift, sn>>shift
		}
		n++
	}
	return n
}

// verifyMerkle checks that leaf is at p.Index of a list of p.Size leaves whose MerkleRoot under domain is root.
// It returns ErrBadProof, wrapped.
func verifyMerkle(domain string, root, leaf Hash, p MerkleProof) error {
	mth, err := merkleRootFrom(leaf, p)
	if err != nil {
		return err
	}
	if got := wrapRoot(domain, p.Size, mth); got != root {
		return fmt.Errorf("%w: leaf %d of %d gives root %s, want %s", ErrBadProof, p.Index, p.Size, got.Short(), root.Short())
	}
	return nil
}

// merkleRootFrom returns the MTH that leaf at p.Index of p.Size leaves and its inclusion path give, by the
// algorithm of RFC 9162 §2.1.3.2. It returns ErrBadProof when the path's length does not fit the index and
// size.
func merkleRootFrom(leaf Hash, p MerkleProof) (Hash, error) {
	if want := merklePathLen(p.Index, p.Size); want != len(p.Path) {
		return Hash{}, fmt.Errorf("%w: path of %d hashes for leaf %d of %d, want %d", ErrBadProof, len(p.Path), p.Index, p.Size, want)
	}
	r := leaf
	fn, sn := p.Index, p.Size-1
	for _, sib := range p.Path {
		if fn&1 == 1 || fn == sn {
			r = merkleNode(sib, r)
			if fn&1 == 0 {
				shift := bits.TrailingZeros32(fn)
				fn, sn = fn>>shift, sn>>shift
			}
		} else {
			r = merkleNode(r, sib)
		}
		fn, sn = fn>>1, sn>>1
	}
	return r, nil
}

// EncodedSize returns the length of p's encoding.
func (p *MerkleProof) EncodedSize() int { return merkleProofFixedSize + len(p.Path)*len(Hash{}) }

// AppendTo appends p's encoding to b (PROTOCOL.md §4a): index u32 | size u32 | depth u8 | depth × hash [32].
func (p *MerkleProof) AppendTo(b []byte) []byte {
	b = binary.BigEndian.AppendUint32(b, p.Index)
	b = binary.BigEndian.AppendUint32(b, p.Size)
	b = append(b, byte(len(p.Path)))
	for _, h := range p.Path {
		b = append(b, h[:]...)
	}
	return b
}

// Encode returns p's encoding.
func (p *MerkleProof) Encode() []byte { return p.AppendTo(make([]byte, 0, p.EncodedSize())) }

// DecodeMerkleProof decodes exactly one proof encoding. It rejects short input, trailing bytes, an index not
// below the size and a depth other than the path length RFC 9162 §2.1.3.2 gives that index and size; every
// error wraps ErrMalformed. It checks no hash: see the Verify functions.
func DecodeMerkleProof(data []byte) (MerkleProof, error) {
	p, n, err := decodeMerkleProof(data)
	if err == nil && n != len(data) {
		err = fmt.Errorf("%w: %d trailing bytes after merkle proof", ErrMalformed, len(data)-n)
	}
	if err != nil {
		return MerkleProof{}, err
	}
	return p, nil
}

// decodeMerkleProof decodes the proof at the start of data and returns its length.
func decodeMerkleProof(data []byte) (MerkleProof, int, error) {
	if len(data) < merkleProofFixedSize {
		return MerkleProof{}, 0, fmt.Errorf("%w: merkle proof is %d bytes, shorter than %d", ErrMalformed, len(data), merkleProofFixedSize)
	}
	p := MerkleProof{Index: binary.BigEndian.Uint32(data[0:4]), Size: binary.BigEndian.Uint32(data[4:8])}
	depth := int(data[8])
	if want := merklePathLen(p.Index, p.Size); want != depth {
		return MerkleProof{}, 0, fmt.Errorf("%w: merkle proof of leaf %d of %d has depth %d, want %d", ErrMalformed, p.Index, p.Size, depth, want)
	}
	n := merkleProofFixedSize + depth*len(Hash{})
	if len(data) < n {
		return MerkleProof{}, 0, fmt.Errorf("%w: merkle proof is %d bytes, want %d", ErrMalformed, len(data), n)
	}
	if depth > 0 {
		p.Path = make([]Hash, depth)
		for i := range p.Path {
			copy(p.Path[i][:], data[merkleProofFixedSize+i*len(Hash{}):])
		}
	}
	return p, n, nil
}
