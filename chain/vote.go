package chain

import (
	"crypto/ed25519"
	"encoding/binary"
	"fmt"
)

// Checkpoint is an epoch and the hash of its checkpoint block: the newest block of the branch whose slot is
// before the epoch's first slot; genesis for epoch 0 (PROTOCOL.md §8a).
type Checkpoint struct {
	Epoch Epoch `json:"epoch"`
	Hash  Hash  `json:"hash"`
}

// String returns "epoch/hash-prefix", for logs and the prompt.
func (c Checkpoint) String() string { return fmt.Sprintf("%d/%s", c.Epoch, c.Hash.Short()) }

// Sizes of the vote encoding.
const (
	VoteSize       = 176 // validator | source | target | sig
	voteSignedSize = 112 // the encoding without the signature
	checkpointSize = 40  // epoch u64 | hash [32]
)

// Domain separators of votes.
const (
	voteDomain     = "posnode/vote/v1"
	voteRootDomain = "posnode/voteroot/v1"
)

// Vote is a validator's signed checkpoint vote, a Casper FFG link from Source to Target (PROTOCOL.md §8a).
type Vote struct {
	Validator Address
	Source    Checkpoint // the newest justified checkpoint the validator knows
	Target    Checkpoint // the checkpoint of the epoch it votes in, on its head's branch
	Sig       [64]byte
}

// AppendTo appends the 176-byte encoding of v to b (PROTOCOL.md §8a):
// validator [32] | source epoch u64 | source hash [32] | target epoch u64 | target hash [32] | sig [64].
func (v *Vote) AppendTo(b []byte) []byte { return append(v.appendUnsigned(b), v.Sig[:]...) }

func (v *Vote) appendUnsigned(b []byte) []byte {
	b = append(b, v.Validator[:]...)
	b = appendCheckpoint(b, v.Source)
	return appendCheckpoint(b, v.Target)
}

func appendCheckpoint(b []byte, c Checkpoint) []byte {
	b = binary.BigEndian.AppendUint64(b, uint64(c.Epoch))
	return append(b, c.Hash[:]...)
}

func readCheckpoint(b []byte) Checkpoint {
	var c Checkpoint
	c.Epoch = Epoch(binary.BigEndian.Uint64(b[:8]))
	copy(c.Hash[:], b[8:checkpointSize])
	return c
}

// Encode returns the 176-byte encoding of v.
func (v *Vote) Encode() []byte { return v.AppendTo(make([]byte, 0, VoteSize)) }

// DecodeVote decodes exactly one 176-byte vote encoding. Errors wrap ErrMalformed. It checks nothing else: see
// ValidateBasic and Verify.
func DecodeVote(b []byte) (Vote, error) {
	var v Vote
	if len(b) != VoteSize {
		return v, fmt.Errorf("%w: vote is %d bytes, want %d", ErrMalformed, len(b), VoteSize)
	}
	copy(v.Validator[:], b[:32])
	v.Source = readCheckpoint(b[32:72])
	v.Target = readCheckpoint(b[72:112])
	copy(v.Sig[:], b[112:])
	return v, nil
}

// Root returns the vote's signing root, SHA-256("posnode/voteroot/v1" | first 112 bytes): what slashing
// protection records and what tells two votes apart (EIP-3076's signing_root).
func (v *Vote) Root() Hash {
	var buf [voteSignedSize]byte
	return HashBytes([]byte(voteRootDomain), v.appendUnsigned(buf[:0]))
}

// ID returns SHA-256 of the full encoding, signature included.
func (v *Vote) ID() Hash {
	var buf [VoteSize]byte
	return HashBytes(v.AppendTo(buf[:0]))
}

// SigningBytes returns what the validator signs: "posnode/vote/v1" | chainID | the first 112 bytes.
func (v *Vote) SigningBytes(chainID Hash) []byte {
	b := make([]byte, 0, len(voteDomain)+len(chainID)+voteSignedSize)
	b = append(b, voteDomain...)
	b = append(b, chainID[:]...)
	return v.appendUnsigned(b)
}

// Sign sets v.Sig with key, which should belong to v.Validator.
func (v *Vote) Sign(chainID Hash, key ed25519.PrivateKey) {
	copy(v.Sig[:], ed25519.Sign(key, v.SigningBytes(chainID)))
}

// Verify checks v.Sig against v.Validator on chain chainID (ErrBadSignature).
func (v *Vote) Verify(chainID Hash) error {
	if !verifySig(v.Validator, v.SigningBytes(chainID), v.Sig[:]) {
		return fmt.Errorf("%w: vote %s by %s", ErrBadSignature, v.Target, v.Validator.Short())
	}
	return nil
}

// ValidateBasic checks the rules that need no state (PROTOCOL.md §8a): a validator, and a source epoch below the
// target epoch, since a vote links an earlier checkpoint to a later one (ErrInvalidVote).
func (v *Vote) ValidateBasic() error {
	switch {
	case v.Validator.IsZero() || v.Validator.IsSmallOrder():
		return fmt.Errorf("%w: no validator, or a small-order key", ErrInvalidVote)
	case v.Source.Epoch >= v.Target.Epoch:
		return fmt.Errorf("%w: source epoch %d not below target epoch %d", ErrInvalidVote, v.Source.Epoch, v.Target.Epoch)
	}
	return nil
}

// Slashable reports whether one validator signing both a and b breaks a Casper FFG commandment (PROTOCOL.md
// §8b, the Gasper paper's slashing conditions): a double vote (two different votes for one target epoch) or a
// surround vote (a.source < b.source and b.target < a.target, or the other way round). It does not look at the
// validators or the signatures.
func Slashable(a, b Vote) bool {
	if a.Source == b.Source && a.Target == b.Target {
		return false
	}
	if a.Target.Epoch == b.Target.Epoch {
		return true
	}
	surrounds := func(x, y Vote) bool { return x.Source.Epoch < y.Source.Epoch && y.Target.Epoch < x.Target.Epoch }
	return surrounds(a, b) || surrounds(b, a)
}
