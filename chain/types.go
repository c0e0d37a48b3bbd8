package chain

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"fmt"

	"github.com/mr-tron/base58"
)

// Height is a block's distance from genesis (genesis is height 0).
type Height uint64

// Slot is a numbered interval of SlotDuration since genesis time (PROTOCOL.md §2).
type Slot uint64

// Epoch is a run of EpochLength consecutive slots (PROTOCOL.md §2).
type Epoch uint64

// Amount is a number of tokens.
type Amount uint64

// Nonce counts the transactions an account has sent (PROTOCOL.md §3).
type Nonce uint64

// Hash is a SHA-256 digest.
type Hash [32]byte

// HashBytes returns SHA-256 of the concatenation of parts.
func HashBytes(parts ...[]byte) Hash {
	h := sha256.New()
	for _, p := range parts {
		h.Write(p)
	}
	var out Hash
	h.Sum(out[:0])
	return out
}

// String returns the hash in lowercase hex.
func (h Hash) String() string { return hex.EncodeToString(h[:]) }

// Short returns the first 8 hex digits, for logs and the prompt.
func (h Hash) Short() string { return hex.EncodeToString(h[:4]) }

// IsZero reports whether h is all zero bytes.
func (h Hash) IsZero() bool { return h == Hash{} }

// MarshalText encodes the hash as hex.
func (h Hash) MarshalText() ([]byte, error) { return []byte(h.String()), nil }

// UnmarshalText decodes a hex hash.
func (h *Hash) UnmarshalText(b []byte) error {
	p, err := ParseHash(string(b))
	*h = p
	return err
}

// ParseHash decodes a 64-digit hex string.
func ParseHash(s string) (Hash, error) {
	var h Hash
	b, err := hex.DecodeString(s)
	if err != nil || len(b) != len(h) {
		return h, fmt.Errorf("%w: want 64 hex digits, got %q", ErrBadHash, s)
	}
	copy(h[:], b)
	return h, nil
}

// Address identifies an account: the raw ed25519 public key of its owner, which is also the node's
// libp2p identity. Its text form is the libp2p peer ID (PROTOCOL.md §1).
type Address [ed25519.PublicKeySize]byte

// peerIDPrefix is the identity multihash (0x00, length 36) of the protobuf-encoded libp2p public key
// (field 1 KeyType = 1 Ed25519; field 2 Data of 32 bytes).
var peerIDPrefix = []byte{0x00, 0x24, 0x08, 0x01, 0x12, 0x20}

// AddressOf returns the address of an ed25519 public key.
func AddressOf(pub ed25519.PublicKey) Address {
	var a Address
	copy(a[:], pub)
	return a
}

// PublicKey returns the ed25519 public key the address is.
func (a Address) PublicKey() ed25519.PublicKey { return ed25519.PublicKey(a[:]) }

// IsZero reports whether a is the zero address (used for "no recipient" and the genesis proposer).
func (a Address) IsZero() bool { return a == Address{} }

// String returns the libp2p peer ID of the address ("12D3KooW…").
func (a Address) String() string {
	b := make([]byte, 0, len(peerIDPrefix)+len(a))
	b = append(append(b, peerIDPrefix...), a[:]...)
	return base58.Encode(b)
}

// Short returns the last 6 characters of the peer ID, for logs and the prompt.
func (a Address) Short() string {
	s := a.String()
	return s[len(s)-6:]
}

// MarshalText encodes the address as its peer ID.
func (a Address) MarshalText() ([]byte, error) { return []byte(a.String()), nil }

// UnmarshalText decodes a peer ID.
func (a *Address) UnmarshalText(b []byte) error {
	p, err := ParseAddress(string(b))
	*a = p
	return err
}

// ParseAddress decodes a libp2p peer ID of an ed25519 key.
func ParseAddress(s string) (Address, error) {
	var a Address
	b, err := base58.Decode(s)
	if err != nil || len(b) != len(peerIDPrefix)+len(a) || string(b[:len(peerIDPrefix)]) != string(peerIDPrefix) {
		return a, fmt.Errorf("%w: %q is not an ed25519 peer ID", ErrBadAddress, s)
	}
	copy(a[:], b[len(peerIDPrefix):])
	return a, nil
}

// Stake is one validator's entry in a stake table.
type Stake struct {
	Addr   Address `json:"address"`
	Amount Amount  `json:"stake"`
}

// Tip summarises a block for fork choice (PROTOCOL.md §8), with the RANDAO mix its children build on
// (PROTOCOL.md §6), which fork choice does not read.
type Tip struct {
	Hash      Hash
	Height    Height
	Slot      Slot
	Mix       Hash
	Justified Epoch // the epoch of the newest checkpoint the tip's branch justified (PROTOCOL.md §8a)
	// Timely is set when the node received the tip's block within the first half of its slot (its own blocks
	// included); a local observation, not part of the block, that fork choice weighs (PROTOCOL.md §8).
	Timely bool
}
