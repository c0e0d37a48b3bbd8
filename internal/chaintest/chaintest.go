// Package chaintest gives the tests of packages that judge votes deterministic keys, addresses, checkpoints and
// signed votes, so that each package's tests name validators by number. Tests only.
package chaintest

import (
	"crypto/ed25519"
	"crypto/sha256"
	"fmt"

	"github.com/posnode/posnode/chain"
)

// Keys are the deterministic keys of one test package: validator i's key is drawn from the seed
// SHA-256("<ns>-key-<i>"), and the package's votes are signed for chain ID SHA-256("<ns>-test").
type Keys string

// ChainID is the chain ID the package's votes are signed for.
func (k Keys) ChainID() chain.Hash { return chain.HashBytes([]byte(string(k) + "-test")) }

// Key returns validator i's private key.
func (k Keys) Key(i int) ed25519.PrivateKey {
	seed := sha256.Sum256(fmt.Appendf(nil, "%s-key-%d", string(k), i))
	return ed25519.NewKeyFromSeed(seed[:])
}

// Addr returns validator i's address.
func (k Keys) Addr(i int) chain.Address {
	return chain.AddressOf(k.Key(i).Public().(ed25519.PublicKey))
}

// Vote returns validator i's vote source→target, signed.
func (k Keys) Vote(i int, source, target chain.Checkpoint) chain.Vote {
	v := chain.Vote{Validator: k.Addr(i), Source: source, Target: target}
	v.Sign(k.ChainID(), k.Key(i))
	return v
}

// Checkpoint returns a checkpoint of epoch e whose hash is made of e and tag: tags tell apart checkpoints of one
// epoch on different branches.
func Checkpoint(e chain.Epoch, tag byte) chain.Checkpoint {
	return chain.Checkpoint{Epoch: e, Hash: chain.HashBytes([]byte{byte(e), tag})}
}
