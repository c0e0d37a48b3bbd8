package chain

import (
	"crypto/ed25519"
	"encoding/binary"
	"fmt"

	voi "github.com/oasisprotocol/curve25519-voi/primitives/ed25519"
	"github.com/oasisprotocol/curve25519-voi/primitives/ed25519/extra/ecvrf"
)

// Sizes of the VRF values (RFC 9381 §5, suite ECVRF-EDWARDS25519-SHA512-ELL2).
const (
	VRFProofSize  = ecvrf.ProofSize  // 80 bytes: Gamma [32] | c [16] | s [32]
	VRFOutputSize = ecvrf.OutputSize // 64 bytes: beta, the VRF hash output
)

// Domain separators of the randomness beacon (PROTOCOL.md §6).
const (
	randaoDomain      = "posnode/randao/v1"
	genesisMixDomain  = "posnode/randao/genesis/v1"
	vrfInputSlotBytes = 8
)

// VRFProof is a proposer's RFC 9381 ECVRF-EDWARDS25519-SHA512-ELL2 proof over VRFInput of its slot
// (PROTOCOL.md §4, §6). One key and one input have exactly one valid proof output, so a proposer cannot
// choose the randomness it contributes; it can only publish it or withhold it.
type VRFProof [VRFProofSize]byte

// VRFOutput is the 64-byte hash output (beta) of a VRF proof.
type VRFOutput [VRFOutputSize]byte

// VRFInput returns the VRF input (alpha) of slot on chain chainID: "posnode/randao/v1" | chain_id [32] |
// slot u64 (PROTOCOL.md §6). It does not depend on the parent, so a proposer's contribution to a slot is fixed
// before it knows which block it will build on.
func VRFInput(chainID Hash, slot Slot) []byte {
	b := make([]byte, 0, len(randaoDomain)+len(chainID)+vrfInputSlotBytes)
	b = append(b, randaoDomain...)
	b = append(b, chainID[:]...)
	return binary.BigEndian.AppendUint64(b, uint64(slot))
}

// ProveVRF returns key's VRF proof for slot on chain chainID. The node's ed25519 key is the VRF key
// (PROTOCOL.md §1 says why that is safe). It is deterministic. key must be a 64-byte ed25519 private key.
func ProveVRF(key ed25519.PrivateKey, chainID Hash, slot Slot) VRFProof {
	return proveVRF(key, VRFInput(chainID, slot))
}

// proveVRF is ECVRF_prove of RFC 9381 §5.1 over any input alpha.
func proveVRF(key ed25519.PrivateKey, alpha []byte) VRFProof {
	var p VRFProof
	copy(p[:], ecvrf.Prove(voi.PrivateKey(key), alpha))
	return p
}

// verifyVRF is ECVRF_verify of RFC 9381 §5.3, with the key validation of §5.4.5, over any input alpha.
func verifyVRF(pub ed25519.PublicKey, p *VRFProof, alpha []byte) (VRFOutput, bool) {
	if m := memo.Load(); m != nil {
		return m.vrf(func() (VRFOutput, bool) { return checkVRF(pub, p, alpha) }, pub, p[:], alpha)
	}
	return checkVRF(pub, p, alpha)
}

func checkVRF(pub ed25519.PublicKey, p *VRFProof, alpha []byte) (VRFOutput, bool) {
	var out VRFOutput
	ok, beta := ecvrf.Verify(voi.PublicKey(pub), p[:], alpha)
	if ok {
		copy(out[:], beta)
	}
	return out, ok
}

// Verify checks that p is the VRF proof of the owner of addr for slot on chain chainID and returns its output.
// It fails with ErrBadVRFProof for a proof that does not verify, one made by another key or for another slot,
// or an address that is not a valid VRF key (a small-order point, RFC 9381 §5.4.5).
func (p *VRFProof) Verify(addr Address, chainID Hash, slot Slot) (VRFOutput, error) {
	out, ok := verifyVRF(addr.PublicKey(), p, VRFInput(chainID, slot))
	if !ok {
		return out, fmt.Errorf("%w: slot %d by %s", ErrBadVRFProof, slot, addr.Short())
	}
	return out, nil
}

// Output returns p's VRF output without verifying p (RFC 9381 §5.2, ECVRF_proof_to_hash). It is for proofs
// verified before, such as those of blocks replayed from the local store. A proof whose Gamma does not decode
// fails with ErrBadVRFProof.
func (p *VRFProof) Output() (VRFOutput, error) {
	var out VRFOutput
	beta, err := ecvrf.ProofToHash(p[:])
	if err != nil {
		return out, fmt.Errorf("%w: %w", ErrBadVRFProof, err)
	}
	copy(out[:], beta)
	return out, nil
}

// NextMix returns the RANDAO mix of a block: SHA-256(parent mix [32] | VRF output [64]) (PROTOCOL.md §6).
func NextMix(parent Hash, out VRFOutput) Hash { return HashBytes(parent[:], out[:]) }

// GenesisMix returns the mix of the virtual genesis block: SHA-256("posnode/randao/genesis/v1" |
// genesis hash) (PROTOCOL.md §6).
func GenesisMix(genesisHash Hash) Hash { return HashBytes([]byte(genesisMixDomain), genesisHash[:]) }
