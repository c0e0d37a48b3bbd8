package chain

import (
	"bytes"
	"fmt"
)

// EvidenceKind names the offence a piece of evidence proves (PROTOCOL.md §8b).
type EvidenceKind uint8

// The offences.
const (
	// EvidenceDoubleProposal: two different signed headers by one proposer for one slot.
	EvidenceDoubleProposal EvidenceKind = 1
	// EvidenceDoubleVote: two votes by one validator that are Slashable (same target epoch, or surround).
	EvidenceDoubleVote EvidenceKind = 2
)

// String returns the offence's name.
func (k EvidenceKind) String() string {
	switch k {
	case EvidenceDoubleProposal:
		return "double-proposal"
	case EvidenceDoubleVote:
		return "double-vote"
	}
	return fmt.Sprintf("evidence-kind-%d", uint8(k))
}

// Sizes of the evidence encodings: kind u8 | two signed headers, or kind u8 | two votes.
const (
	signedHeaderSize     = HeaderSize + 64
	doubleProposalSize   = 1 + 2*signedHeaderSize
	doubleVoteSize       = 1 + 2*VoteSize
	MaxEvidenceSize      = doubleProposalSize
	evidenceLenFieldSize = 2
)

// Evidence proves that one validator signed two things that together are slashable (PROTOCOL.md §8b). The pair
// is stored in a canonical order (A's hash below B's), so each offence has one encoding and one ID.
type Evidence struct {
	Kind             EvidenceKind
	HeaderA, HeaderB Header   // EvidenceDoubleProposal
	SigA, SigB       [64]byte // EvidenceDoubleProposal
	VoteA, VoteB     Vote     // EvidenceDoubleVote
}

// NewDoubleProposal returns the evidence of two signed blocks by one proposer for one slot, in canonical order.
func NewDoubleProposal(a, b *Block) Evidence {
	if ha, hb := a.Hash(), b.Hash(); bytes.Compare(ha[:], hb[:]) > 0 {
		a, b = b, a
	}
	return Evidence{Kind: EvidenceDoubleProposal, HeaderA: a.Header, SigA: a.Sig, HeaderB: b.Header, SigB: b.Sig}
}

// NewDoubleVote returns the evidence of two slashable votes, in canonical order.
func NewDoubleVote(a, b Vote) Evidence {
	if ia, ib := a.ID(), b.ID(); bytes.Compare(ia[:], ib[:]) > 0 {
		a, b = b, a
	}
	return Evidence{Kind: EvidenceDoubleVote, VoteA: a, VoteB: b}
}

// Offender returns the validator the evidence accuses.
func (e *Evidence) Offender() Address {
	if e.Kind == EvidenceDoubleProposal {
		return e.HeaderA.Proposer
	}
	return e.VoteA.Validator
}

// Epoch returns the epoch of the offence: the slot's epoch for a double proposal, the later target epoch for
// votes. Nodes keep the signed messages of an offence while Retained says so; the evidence stays valid while its
// offender is locked (PROTOCOL.md §8b).
func (e *Evidence) Epoch(epochLength uint64) Epoch {
	if e.Kind == EvidenceDoubleProposal {
		return epochOf(e.HeaderA.Slot, epochLength)
	}
	return max(e.VoteA.Target.Epoch, e.VoteB.Target.Epoch)
}

// AppendTo appends the encoding of e (PROTOCOL.md §8b): kind u8 = 1 | header_a [320] | sig_a [64] |
// header_b [320] | sig_b [64], or kind u8 = 2 | vote_a [176] | vote_b [176].
func (e *Evidence) AppendTo(b []byte) []byte {
	b = append(b, byte(e.Kind))
	if e.Kind == EvidenceDoubleProposal {
		b = append(e.HeaderA.AppendTo(b), e.SigA[:]...)
		return append(e.HeaderB.AppendTo(b), e.SigB[:]...)
	}
	return e.VoteB.AppendTo(e.VoteA.AppendTo(b))
}

// Encode returns the encoding of e.
func (e *Evidence) Encode() []byte { return e.AppendTo(nil) }

// ID returns SHA-256 of the encoding: one ID per offence, since the pair is in canonical order.
func (e *Evidence) ID() Hash { return HashBytes(e.Encode()) }

// DecodeEvidence decodes exactly one evidence encoding of a known kind. Errors wrap ErrMalformed.
func DecodeEvidence(b []byte) (Evidence, error) {
	var e Evidence
	if len(b) == 0 {
		return e, fmt.Errorf("%w: empty evidence", ErrMalformed)
	}
	e.Kind = EvidenceKind(b[0])
	switch {
	case e.Kind == EvidenceDoubleProposal && len(b) == doubleProposalSize:
		e.HeaderA = decodeHeader(b[1 : 1+HeaderSize])
		copy(e.SigA[:], b[1+HeaderSize:1+signedHeaderSize])
		e.HeaderB = decodeHeader(b[1+signedHeaderSize : 1+signedHeaderSize+HeaderSize])
		copy(e.SigB[:], b[1+signedHeaderSize+HeaderSize:])
	case e.Kind == EvidenceDoubleVote && len(b) == doubleVoteSize:
		var err error
		if e.VoteA, err = DecodeVote(b[1 : 1+VoteSize]); err != nil {
			return e, err
		}
		if e.VoteB, err = DecodeVote(b[1+VoteSize:]); err != nil {
			return e, err
		}
	default:
		return e, fmt.Errorf("%w: evidence kind %d of %d bytes", ErrMalformed, b[0], len(b))
	}
	return e, nil
}

// ValidateBasic checks that the pair proves an offence (ErrInvalidEvidence): for a double proposal, one
// proposer, one slot and two different headers; for votes, one validator and a Slashable pair; and in both
// cases the canonical order. It does not check the signatures: see Verify.
func (e *Evidence) ValidateBasic() error {
	switch e.Kind {
	case EvidenceDoubleProposal:
		a, b := e.HeaderA.Hash(), e.HeaderB.Hash()
		switch {
		case e.HeaderA.Proposer != e.HeaderB.Proposer:
			return fmt.Errorf("%w: headers by two proposers", ErrInvalidEvidence)
		case e.HeaderA.Slot != e.HeaderB.Slot:
			return fmt.Errorf("%w: headers of slots %d and %d", ErrInvalidEvidence, e.HeaderA.Slot, e.HeaderB.Slot)
		case bytes.Compare(a[:], b[:]) >= 0:
			return fmt.Errorf("%w: headers not two, or not in canonical order", ErrInvalidEvidence)
		}
	case EvidenceDoubleVote:
		a, b := e.VoteA.ID(), e.VoteB.ID()
		switch {
		case e.VoteA.Validator != e.VoteB.Validator:
			return fmt.Errorf("%w: votes by two validators", ErrInvalidEvidence)
		case !Slashable(e.VoteA, e.VoteB):
			return fmt.Errorf("%w: votes %s→%s and %s→%s are not slashable", ErrInvalidEvidence,
				e.VoteA.Source, e.VoteA.Target, e.VoteB.Source, e.VoteB.Target)
		case bytes.Compare(a[:], b[:]) >= 0:
			return fmt.Errorf("%w: votes not in canonical order", ErrInvalidEvidence)
		}
	default:
		return fmt.Errorf("%w: unknown kind %d", ErrInvalidEvidence, e.Kind)
	}
	return nil
}

// Verify checks both signatures against the offender on chain chainID (ErrBadSignature).
func (e *Evidence) Verify(chainID Hash) error {
	if e.Kind == EvidenceDoubleProposal {
		a, b := Block{Header: e.HeaderA, Sig: e.SigA}, Block{Header: e.HeaderB, Sig: e.SigB}
		if err := a.Verify(chainID); err != nil {
			return err
		}
		return b.Verify(chainID)
	}
	if err := e.VoteA.Verify(chainID); err != nil {
		return err
	}
	return e.VoteB.Verify(chainID)
}
