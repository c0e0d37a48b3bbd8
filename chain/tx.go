package chain

import (
	"crypto/ed25519"
	"encoding/binary"
	"fmt"
)

// TxKind says what a transaction does (PROTOCOL.md §3).
type TxKind uint8

// Transaction kinds. Their numbers are part of the encoding.
const (
	TxTransfer TxKind = 1 // move Value tokens from From to To
	TxStake    TxKind = 2 // lock Value tokens of From as stake
	TxUnstake  TxKind = 3 // return Value staked tokens of From to its balance
	TxBPM      TxKind = 4 // record a heart rate of Value beats per minute
)

// String returns the kind's name: transfer, stake, unstake or bpm.
func (k TxKind) String() string {
	switch k {
	case TxTransfer:
		return "transfer"
	case TxStake:
		return "stake"
	case TxUnstake:
		return "unstake"
	case TxBPM:
		return "bpm"
	}
	return fmt.Sprintf("kind(%d)", uint8(k))
}

// Known reports whether k is one of the defined kinds.
func (k TxKind) Known() bool { return k >= TxTransfer && k <= TxBPM }

// Limits of a bpm transaction's Value (PROTOCOL.md §3).
const (
	MinBPM = 1
	MaxBPM = 300
)

// Sizes of the transaction encoding.
const (
	TxSize       = 153 // kind | from | nonce | to | value | fee | sig
	txSignedSize = 89  // the encoding without the signature: what the sender signs
)

// txDomain separates transaction signatures from every other signed message.
const txDomain = "posnode/tx/v1"

// Tx is a signed transaction (PROTOCOL.md §3).
type Tx struct {
	Kind  TxKind
	From  Address
	Nonce Nonce   // must equal the sender's account nonce; an account's first tx has nonce 0
	To    Address // transfer recipient; zero for the other kinds
	Value uint64  // tokens for transfer/stake/unstake; beats per minute (1..300) for bpm
	Fee   Amount  // ≥ genesis TxFee, paid to the block's proposer
	Sig   [64]byte
}

// NewTx returns an unsigned transaction.
func NewTx(kind TxKind, from Address, nonce Nonce, to Address, value uint64, fee Amount) Tx {
	return Tx{Kind: kind, From: from, Nonce: nonce, To: to, Value: value, Fee: fee}
}

// Encode returns the 153-byte encoding of tx (PROTOCOL.md §3).
func (tx *Tx) Encode() []byte { return tx.AppendTo(make([]byte, 0, TxSize)) }

// AppendTo appends the 153-byte encoding of tx to b:
// kind u8 | from [32] | nonce u64 | to [32] | value u64 | fee u64 | sig [64], integers big-endian.
func (tx *Tx) AppendTo(b []byte) []byte {
	b = tx.appendUnsigned(b)
	return append(b, tx.Sig[:]...)
}

func (tx *Tx) appendUnsigned(b []byte) []byte {
	b = append(b, byte(tx.Kind))
	b = append(b, tx.From[:]...)
	b = binary.BigEndian.AppendUint64(b, uint64(tx.Nonce))
	b = append(b, tx.To[:]...)
	b = binary.BigEndian.AppendUint64(b, tx.Value)
	return binary.BigEndian.AppendUint64(b, uint64(tx.Fee))
}

// DecodeTx decodes exactly one 153-byte transaction encoding with a known kind. It checks nothing
// else: see ValidateBasic and Verify.
func DecodeTx(b []byte) (Tx, error) {
	var tx Tx
	if len(b) != TxSize {
		return tx, fmt.Errorf("%w: transaction is %d bytes, want %d", ErrMalformed, len(b), TxSize)
	}
	tx.Kind = TxKind(b[0])
	if !tx.Kind.Known() {
		return tx, fmt.Errorf("%w: unknown transaction kind %d", ErrMalformed, b[0])
	}
	copy(tx.From[:], b[1:33])
	tx.Nonce = Nonce(binary.BigEndian.Uint64(b[33:41]))
	copy(tx.To[:], b[41:73])
	tx.Value = binary.BigEndian.Uint64(b[73:81])
	tx.Fee = Amount(binary.BigEndian.Uint64(b[81:89]))
	copy(tx.Sig[:], b[89:TxSize])
	return tx, nil
}

// ID returns the transaction's identifier: SHA-256 of its full encoding, signature included.
func (tx *Tx) ID() Hash {
	var buf [TxSize]byte
	return HashBytes(tx.AppendTo(buf[:0]))
}

// SigningBytes returns what the sender signs: "posnode/tx/v1" | chainID | the first 89 bytes of the
// encoding (PROTOCOL.md §3). The chain ID keeps a signature valid on one network only.
func (tx *Tx) SigningBytes(chainID Hash) []byte {
	b := make([]byte, 0, len(txDomain)+len(chainID)+txSignedSize)
	b = append(b, txDomain...)
	b = append(b, chainID[:]...)
	return tx.appendUnsigned(b)
}

// Sign sets tx.Sig to the signature of key over tx's signing bytes. key should belong to tx.From.
func (tx *Tx) Sign(chainID Hash, key ed25519.PrivateKey) {
	copy(tx.Sig[:], ed25519.Sign(key, tx.SigningBytes(chainID)))
}

// Verify checks that tx.Sig is From's signature of tx on the chain chainID (PROTOCOL.md §3).
func (tx *Tx) Verify(chainID Hash) error {
	if tx.From.IsSmallOrder() { // checked with the signature, which a cache remembers, as it costs as much
		return fmt.Errorf("%w: sender %s is a small-order key", ErrInvalidTx, tx.From.Short())
	}
	if !verifySig(tx.From, tx.SigningBytes(chainID), tx.Sig[:]) {
		return fmt.Errorf("%w: transaction %s from %s", ErrBadSignature, tx.ID().Short(), tx.From.Short())
	}
	return nil
}

// ValidateBasic checks the rules that need no state (PROTOCOL.md §3): known kind, a sender, a bpm
// Value in 1..300, a positive Value for the token kinds, and a recipient (other than the sender) for
// transfers only.
func (tx *Tx) ValidateBasic() error {
	if !tx.Kind.Known() {
		return fmt.Errorf("%w: unknown kind %d", ErrInvalidTx, uint8(tx.Kind))
	}
	if tx.From.IsZero() {
		return fmt.Errorf("%w: zero sender", ErrInvalidTx)
	}
	if tx.Kind == TxBPM {
		if tx.Value < MinBPM || tx.Value > MaxBPM {
			return fmt.Errorf("%w: bpm %d outside %d..%d", ErrInvalidTx, tx.Value, MinBPM, MaxBPM)
		}
	} else if tx.Value == 0 {
		return fmt.Errorf("%w: %s of zero tokens", ErrInvalidTx, tx.Kind)
	}
	if tx.Kind != TxTransfer {
		if !tx.To.IsZero() {
			return fmt.Errorf("%w: %s with a recipient", ErrInvalidTx, tx.Kind)
		}
		return nil
	}
	if tx.To.IsZero() {
		return fmt.Errorf("%w: transfer without a recipient", ErrInvalidTx)
	}
	if tx.To == tx.From {
		return fmt.Errorf("%w: transfer to its sender", ErrInvalidTx)
	}
	if tx.To.IsSmallOrder() {
		return fmt.Errorf("%w: recipient %s is a small-order key, which anyone can sign for", ErrInvalidTx, tx.To.Short())
	}
	return nil
}
