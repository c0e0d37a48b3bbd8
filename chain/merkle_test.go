package chain

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"testing"
)

// The Certificate Transparency reference leaves and tree heads of sizes 0 to 8 (RFC 6962's tree; the same
// vectors the transparency-dev and Go checksum-database implementations test against).
var (
	ctLeaves = []string{"", "00", "10", "2021", "3031", "40414243", "5051525354555657", "606162636465666768696a6b6c6d6e6f"}
	ctRoots  = []string{
		"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
		"6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
		"fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
		"aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
		"d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
		"4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
		"76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
		"ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
		"5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
	}
	// ctPath0of8 is the reference inclusion path of leaf 0 in the tree of 8.
	ctPath0of8 = []string{
		"96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
		"5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
		"6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
	}
)

func ctLeafHashes(t *testing.T) []Hash {
	t.Helper()
	out := make([]Hash, len(ctLeaves))
	for i, s := range ctLeaves {
		b, err := hex.DecodeString(s)
		if err != nil {
			t.Fatal(err)
		}
		out[i] = merkleLeaf(b)
	}
	return out
}

func mth(leaves []Hash) Hash {
	levels := merkleLevels(leaves)
	return levels[len(levels)-1][0]
}

// TestMerkleRFC6962Vectors: the tree is RFC 6962's, byte for byte.
func TestMerkleRFC6962Vectors(t *testing.T) {
	leaves := ctLeafHashes(t)
	for n := 0; n <= len(leaves); n++ {
		if got := mth(leaves[:n]).String(); got != ctRoots[n] {
			t.Errorf("size %d: got root %s, want %s", n, got, ctRoots[n])
		}
	}
	p := merkleProve(leaves, 0)
	var got []string
	for _, h := range p.Path {
		got = append(got, h.String())
	}
	if !slices.Equal(got, ctPath0of8) {
		t.Errorf("path of leaf 0 of 8: got %v, want %v", got, ctPath0of8)
	}
}

// naiveMTH is RFC 9162 §2.1.1's recursive definition, against which the level-by-level tree is checked.
func naiveMTH(leaves []Hash) Hash {
	switch len(leaves) {
	case 0:
		return sha256.Sum256(nil)
	case 1:
		return leaves[0]
	}
	k := 1
	for k*2 < len(leaves) {
		k *= 2
	}
	return merkleNode(naiveMTH(leaves[:k]), naiveMTH(leaves[k:]))
}

func numberedLeaves(n int) []Hash {
	out := make([]Hash, n)
	for i := range out {
		out[i] = merkleLeaf(fmt.Appendf(nil, "leaf-%d", i))
	}
	return out
}

// TestMerkleProofsEverySize: for every size to 70, the root is the recursive definition's, every leaf's proof
// verifies and has the length the decoder expects, and a proof with any one change does not verify.
func TestMerkleProofsEverySize(t *testing.T) {
	for n := 1; n <= 70; n++ {
		leaves := numberedLeaves(n)
		if got, want := mth(leaves), naiveMTH(leaves); got != want {
			t.Fatalf("size %d: got root %s, want %s", n, got.Short(), want.Short())
		}
		root := merkleRoot("test/v1", leaves)
		for i := range leaves {
			p := merkleProve(leaves, i)
			if err := verifyMerkle("test/v1", root, leaves[i], p); err != nil {
				t.Fatalf("size %d leaf %d: %v", n, i, err)
			}
			if got, want := len(p.Path), merklePathLen(uint32(i), uint32(n)); got != want {
				t.Fatalf("size %d leaf %d: path of %d, merklePathLen says %d", n, i, got, want)
			}
			checkTampered(t, root, leaves, p)
		}
	}
}

// checkTampered fails t if a changed proof of leaves[p.Index] verifies against root.
func checkTampered(t *testing.T, root Hash, leaves []Hash, p MerkleProof) {
	t.Helper()
	i := int(p.Index)
	bad := map[string]error{
		"other domain": verifyMerkle("test/v2", root, leaves[i], p),
		"size + 1":     verifyMerkle("test/v1", root, leaves[i], MerkleProof{Index: p.Index, Size: p.Size + 1, Path: p.Path}),
	}
	if len(leaves) > 1 {
		bad["other leaf"] = verifyMerkle("test/v1", root, leaves[(i+1)%len(leaves)], p)
		bad["other index"] = verifyMerkle("test/v1", root, leaves[i], MerkleProof{Index: (p.Index + 1) % p.Size, Size: p.Size, Path: p.Path})
	}
	for j := range p.Path {
		q := MerkleProof{Index: p.Index, Size: p.Size, Path: slices.Clone(p.Path)}
		q.Path[j][0] ^= 1
		bad[fmt.Sprintf("path[%d] changed", j)] = verifyMerkle("test/v1", root, leaves[i], q)
	}
	for what, err := range bad {
		if !errors.Is(err, ErrBadProof) {
			t.Fatalf("leaf %d of %d, %s: got %v, want ErrBadProof", p.Index, p.Size, what, err)
		}
	}
}

// TestMerkleProofEncoding: a proof decodes to itself; a wrong depth, an index not below the size, short input
// and trailing bytes are malformed.
func TestMerkleProofEncoding(t *testing.T) {
	leaves := numberedLeaves(13)
	p := merkleProve(leaves, 12)
	enc := p.Encode()
	if len(enc) != p.EncodedSize() {
		t.Fatalf("encoding is %d bytes, EncodedSize says %d", len(enc), p.EncodedSize())
	}
	got, err := DecodeMerkleProof(enc)
	if err != nil || got.Index != p.Index || got.Size != p.Size || !slices.Equal(got.Path, p.Path) {
		t.Fatalf("round trip: got %+v, %v; want %+v", got, err, p)
	}
	deeper := slices.Clone(enc)
	deeper[8]++
	past := slices.Clone(enc)
	past[3] = 13
	for name, in := range map[string][]byte{
		"short":        enc[:len(enc)-1],
		"trailing":     append(slices.Clone(enc), 0),
		"wrong depth":  append(deeper, make([]byte, 32)...),
		"index ≥ size": past,
		"empty":        nil,
	} {
		if _, err := DecodeMerkleProof(in); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: got %v, want ErrMalformed", name, err)
		}
	}
}
