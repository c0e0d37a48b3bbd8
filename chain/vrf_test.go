package chain

import (
	"crypto/ed25519"
	"encoding/hex"
	"errors"
	"testing"
)

// rfc9381Vectors are Examples 19–21 of RFC 9381 Appendix B.4, ECVRF-EDWARDS25519-SHA512-ELL2: secret key,
// public key, alpha, pi and beta, in hex.
var rfc9381Vectors = []struct{ sk, pk, alpha, pi, beta string }{
	{
		"9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
		"d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
		"",
		"7d9c633ffeee27349264cf5c667579fc583b4bda63ab71d001f89c10003ab46f14adf9a3cd8b8412d9038531e865c341cafa73589b023d14311c331a9ad15ff2fb37831e00f0acaa6d73bc9997b06501",
		"9d574bf9b8302ec0fc1e21c3ec5368269527b87b462ce36dab2d14ccf80c53cccf6758f058c5b1c856b116388152bbe509ee3b9ecfe63d93c3b4346c1fbc6c54",
	},
	{
		"4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
		"3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c",
		"72",
		"47b327393ff2dd81336f8a2ef10339112401253b3c714eeda879f12c509072ef055b48372bb82efbdce8e10c8cb9a2f9d60e93908f93df1623ad78a86a028d6bc064dbfc75a6a57379ef855dc6733801",
		"38561d6b77b71d30eb97a062168ae12b667ce5c28caccdf76bc88e093e4635987cd96814ce55b4689b3dd2947f80e59aac7b7675f8083865b46c89b2ce9cc735",
	},
	{
		"c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7",
		"fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025",
		"af82",
		"926e895d308f5e328e7aa159c06eddbe56d06846abf5d98c2512235eaa57fdce35b46edfc655bc828d44ad09d1150f31374e7ef73027e14760d42e77341fe05467bb286cc2c9d7fde29120a0b2320d04",
		"121b7f9b9aaaa29099fc04a94ba52784d44eac976dd1a3cca458733be5cd090a7b5fbd148444f17f8daf1fb55cb04b1ae85a626e30a54b4b0f8abf4a43314a58",
	},
}

func unhex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestVRFRFC9381Vectors(t *testing.T) {
	for i, v := range rfc9381Vectors {
		key := ed25519.NewKeyFromSeed(unhex(t, v.sk))
		if got := hex.EncodeToString(key.Public().(ed25519.PublicKey)); got != v.pk {
			t.Fatalf("vector %d: public key got %s, want %s", i, got, v.pk)
		}
		alpha := unhex(t, v.alpha)
		p := proveVRF(key, alpha)
		if got := hex.EncodeToString(p[:]); got != v.pi {
			t.Errorf("vector %d: pi got %s, want %s", i, got, v.pi)
		}
		out, ok := verifyVRF(key.Public().(ed25519.PublicKey), &p, alpha)
		if !ok {
			t.Fatalf("vector %d: verify got false, want true", i)
		}
		if got := hex.EncodeToString(out[:]); got != v.beta {
			t.Errorf("vector %d: beta from verify got %s, want %s", i, got, v.beta)
		}
		out2, err := p.Output()
		if err != nil || out2 != out {
			t.Errorf("vector %d: proof to hash got (%x, %v), want the verified beta", i, out2[:4], err)
		}
		if _, ok := verifyVRF(key.Public().(ed25519.PublicKey), &p, append(alpha, 0)); ok {
			t.Errorf("vector %d: proof verified for another input, want false", i)
		}
	}
}

func TestVRFProofRules(t *testing.T) {
	chainID := testGenesis().Hash()
	p := ProveVRF(testKey(1), chainID, 7)
	if _, err := p.Verify(testAddr(1), chainID, 7); err != nil {
		t.Fatalf("own proof: got %v, want nil", err)
	}
	if again := ProveVRF(testKey(1), chainID, 7); again != p {
		t.Error("proving twice gave two proofs, want one (uniqueness)")
	}
	flipped := p
	flipped[40] ^= 1
	var smallOrder Address
	smallOrder[0] = 1 // the identity point: small order, never a VRF key
	tests := []struct {
		name    string
		p       VRFProof
		addr    Address
		chainID Hash
		slot    Slot
	}{
		{"another key", p, testAddr(2), chainID, 7},
		{"another slot", p, testAddr(1), chainID, 8},
		{"another chain", p, testAddr(1), Hash{1}, 7},
		{"flipped bit", flipped, testAddr(1), chainID, 7},
		{"zero proof", VRFProof{}, testAddr(1), chainID, 7},
		{"small-order key", p, smallOrder, chainID, 7},
	}
	for _, tc := range tests {
		if _, err := tc.p.Verify(tc.addr, tc.chainID, tc.slot); !errors.Is(err, ErrBadVRFProof) {
			t.Errorf("%s: got %v, want ErrBadVRFProof", tc.name, err)
		}
	}
}

// TestSigningBytesNeverCollideWithVRFNonce guards the reuse of the ed25519 key as the VRF key (PROTOCOL.md
// §1): RFC 9381's edwards25519 nonce is SHA-512(key prefix | 32-byte point), ed25519's is SHA-512(key prefix |
// message), so the two collide only if the key ever signs a 32-byte message. Every message a posnode key
// signs is longer.
func TestSigningBytesNeverCollideWithVRFNonce(t *testing.T) {
	chainID := testGenesis().Hash()
	b := goldenBlock(t)
	tx := goldenTxs(chainID)[0]
	for name, msg := range map[string][]byte{"block": b.SigningBytes(chainID), "tx": tx.SigningBytes(chainID)} {
		if len(msg) <= 32 {
			t.Errorf("%s signing bytes are %d bytes, want more than 32", name, len(msg))
		}
	}
}

func BenchmarkVRFProve(b *testing.B) {
	chainID := testGenesis().Hash()
	key := testKey(1)
	for i := 0; b.Loop(); i++ {
		ProveVRF(key, chainID, Slot(i))
	}
}

func BenchmarkVRFVerify(b *testing.B) {
	chainID := testGenesis().Hash()
	p := ProveVRF(testKey(1), chainID, 9)
	addr := testAddr(1)
	for b.Loop() {
		if _, err := p.Verify(addr, chainID, 9); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVRFOutput(b *testing.B) {
	p := ProveVRF(testKey(1), testGenesis().Hash(), 9)
	for b.Loop() {
		if _, err := p.Output(); err != nil {
			b.Fatal(err)
		}
	}
}
