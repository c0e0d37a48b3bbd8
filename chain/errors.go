package chain

import "errors"

// Decoding and identity errors.
var (
	// ErrBadHash: a hash is not 64 hex digits.
	ErrBadHash = errors.New("bad hash")
	// ErrBadAddress: an address is not an ed25519 libp2p peer ID.
	ErrBadAddress = errors.New("bad address")
)

// Encoding errors: bytes from a peer or the store that do not decode.
var (
	// ErrMalformed: bytes are not a valid transaction or block encoding.
	ErrMalformed = errors.New("malformed encoding")
	// ErrBadVersion: a block encoding carries an unknown version byte.
	ErrBadVersion = errors.New("unknown encoding version")
	// ErrTooManyTxs: a block holds more than MaxBlockTxs transactions.
	ErrTooManyTxs = errors.New("too many transactions")
)

// Stateless validity errors (PROTOCOL.md §3, §4).
var (
	// ErrInvalidTx: a transaction breaks a rule that needs no state (kind, value, recipient).
	ErrInvalidTx = errors.New("invalid transaction")
	// ErrInvalidBlock: a block breaks a rule that needs no state (height, slot).
	ErrInvalidBlock = errors.New("invalid block")
	// ErrBadTxRoot: a header's TxRoot does not commit to the block's transactions.
	ErrBadTxRoot = errors.New("tx root mismatch")
	// ErrDuplicateTx: a block holds the same transaction twice.
	ErrDuplicateTx = errors.New("duplicate transaction")
	// ErrBadSignature: a transaction or block signature does not verify.
	ErrBadSignature = errors.New("bad signature")
)

// Ledger errors: a transaction cannot be applied to a state (PROTOCOL.md §3).
var (
	// ErrBadNonce: a transaction's nonce is not its sender's account nonce (also catches replays).
	ErrBadNonce = errors.New("bad nonce")
	// ErrFeeTooLow: a transaction's fee is below the genesis TxFee.
	ErrFeeTooLow = errors.New("fee too low")
	// ErrInsufficientBalance: the sender cannot pay value plus fee.
	ErrInsufficientBalance = errors.New("insufficient balance")
	// ErrInsufficientStake: an unstake asks for more than the sender has staked.
	ErrInsufficientStake = errors.New("insufficient stake")
	// ErrUnknownAccount: the sender has neither balance nor stake.
	ErrUnknownAccount = errors.New("unknown account")
	// ErrOverflow: an amount would exceed the range of a uint64.
	ErrOverflow = errors.New("amount overflow")
)

// Contextual validity errors: a block does not fit its parent (PROTOCOL.md §7).
var (
	// ErrWrongParent: a block's Parent is not the hash of the parent it is validated against.
	ErrWrongParent = errors.New("wrong parent")
	// ErrBadHeight: a block's height is not its parent's plus one.
	ErrBadHeight = errors.New("bad height")
	// ErrSlotNotAfterParent: a block's slot is not after its parent's slot.
	ErrSlotNotAfterParent = errors.New("slot not after parent")
	// ErrFutureSlot: a block's slot has not started yet.
	ErrFutureSlot = errors.New("slot in the future")
	// ErrWrongProposer: a block's proposer did not win its slot's lottery.
	ErrWrongProposer = errors.New("wrong proposer")
	// ErrBadStateRoot: a header's StateRoot is not the root of the state after the block.
	ErrBadStateRoot = errors.New("state root mismatch")
)

// Proof errors (PROTOCOL.md §4a).
var (
	// ErrBadProof: an inclusion proof does not lead from its leaf to the root it is checked against.
	ErrBadProof = errors.New("proof does not verify")
	// ErrNotInList: a proof is asked for a leaf the list does not hold (an index out of range, an account
	// that does not exist, an epoch whose stake table the state does not keep).
	ErrNotInList = errors.New("not in the list")
)

// ErrBadGenesis: a genesis file is unreadable or breaks a rule of PROTOCOL.md §5.
var ErrBadGenesis = errors.New("bad genesis")

// Randomness beacon errors (PROTOCOL.md §6, §7).
var (
	// ErrBadVRFProof: a block's VRF proof does not verify for its proposer and slot.
	ErrBadVRFProof = errors.New("bad vrf proof")
	// ErrBadMix: a block's mix is not SHA-256(parent mix | the VRF output of its proof).
	ErrBadMix = errors.New("mix mismatch")
)

// Finality and accountability errors (PROTOCOL.md §8a, §8b).
var (
	// ErrInvalidVote: a vote breaks a rule that needs no state.
	ErrInvalidVote = errors.New("invalid vote")
	// ErrInvalidEvidence: evidence does not prove a slashable offence.
	ErrInvalidEvidence = errors.New("invalid evidence")
)
