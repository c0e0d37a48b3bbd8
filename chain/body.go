package chain

import (
	"encoding/binary"
	"fmt"
)

// Bounds of a block's vote and evidence sections (PROTOCOL.md §4, §8a, §8b). With MaxBlockTxs they keep the
// largest block at 816,600 bytes, below gossipsub's 1 MiB message limit.
const (
	MaxBlockVotes    = 256
	MaxBlockEvidence = 8
)

// Domain separators of the vote and evidence roots.
const (
	voteListDomain     = "posnode/votes/v1"
	evidenceListDomain = "posnode/evidence/v1"
)

// Body errors.
var errBodyCounts = fmt.Errorf("%w: section count over its limit", ErrMalformed)

// evidenceSize returns the encoded size of evidence of kind k, or 0 for an unknown kind.
func evidenceSize(k EvidenceKind) int {
	switch k {
	case EvidenceDoubleProposal:
		return doubleProposalSize
	case EvidenceDoubleVote:
		return doubleVoteSize
	}
	return 0
}

// reader walks the sections of a block encoding.
type reader struct {
	data []byte
	off  int
}

func (r *reader) take(n int, what string) ([]byte, error) {
	if n < 0 || len(r.data)-r.off < n {
		return nil, fmt.Errorf("%w: %s: need %d bytes, %d left (short)", ErrMalformed, what, n, len(r.data)-r.off)
	}
	b := r.data[r.off : r.off+n]
	r.off += n
	return b, nil
}

func (r *reader) txs(b *Block) error {
	hdr, err := r.take(4, "transaction count")
	if err != nil {
		return err
	}
	n := binary.BigEndian.Uint32(hdr)
	if n > MaxBlockTxs {
		return fmt.Errorf("%w: %w: %d, limit %d", ErrMalformed, ErrTooManyTxs, n, MaxBlockTxs)
	}
	raw, err := r.take(int(n)*TxSize, fmt.Sprintf("%d transactions", n))
	if err != nil {
		return err
	}
	if n > 0 {
		b.Txs = make([]Tx, n)
	}
	for i := range b.Txs {
		if b.Txs[i], err = DecodeTx(raw[i*TxSize : (i+1)*TxSize]); err != nil {
			return fmt.Errorf("tx %d: %w", i, err)
		}
	}
	return nil
}

func (r *reader) votes(b *Block) error {
	hdr, err := r.take(2, "vote count")
	if err != nil {
		return err
	}
	n := int(binary.BigEndian.Uint16(hdr))
	if n > MaxBlockVotes {
		return fmt.Errorf("%w: %d votes, limit %d", errBodyCounts, n, MaxBlockVotes)
	}
	raw, err := r.take(n*VoteSize, fmt.Sprintf("%d votes", n))
	if err != nil {
		return err
	}
	if n > 0 {
		b.Votes = make([]Vote, n)
	}
	for i := range b.Votes {
		if b.Votes[i], err = DecodeVote(raw[i*VoteSize : (i+1)*VoteSize]); err != nil {
			return fmt.Errorf("vote %d: %w", i, err)
		}
	}
	return nil
}

func (r *reader) evidence(b *Block) error {
	hdr, err := r.take(1, "evidence count")
	if err != nil {
		return err
	}
	n := int(hdr[0])
	if n > MaxBlockEvidence {
		return fmt.Errorf("%w: %d evidence, limit %d", errBodyCounts, n, MaxBlockEvidence)
	}
	for i := range n {
		kind, err := r.take(1, "evidence kind")
		if err != nil {
			return err
		}
		size := evidenceSize(EvidenceKind(kind[0]))
		if size == 0 {
			return fmt.Errorf("%w: evidence %d of unknown kind %d", ErrMalformed, i, kind[0])
		}
		r.off--
		raw, err := r.take(size, fmt.Sprintf("evidence %d", i))
		if err != nil {
			return err
		}
		e, err := DecodeEvidence(raw)
		if err != nil {
			return fmt.Errorf("evidence %d: %w", i, err)
		}
		b.Evidence = append(b.Evidence, e)
	}
	return nil
}

// VoteRoot returns SHA-256("posnode/votes/v1" | u32 count | vote id…) (PROTOCOL.md §4).
func VoteRoot(votes []Vote) Hash {
	buf := make([]byte, 0, len(voteListDomain)+4+32*len(votes))
	buf = append(buf, voteListDomain...)
	buf = binary.BigEndian.AppendUint32(buf, uint32(len(votes)))
	for i := range votes {
		id := votes[i].ID()
		buf = append(buf, id[:]...)
	}
	return HashBytes(buf)
}

// EvidenceRoot returns SHA-256("posnode/evidence/v1" | u32 count | evidence id…) (PROTOCOL.md §4).
func EvidenceRoot(ev []Evidence) Hash {
	buf := make([]byte, 0, len(evidenceListDomain)+4+32*len(ev))
	buf = append(buf, evidenceListDomain...)
	buf = binary.BigEndian.AppendUint32(buf, uint32(len(ev)))
	for i := range ev {
		id := ev[i].ID()
		buf = append(buf, id[:]...)
	}
	return HashBytes(buf)
}

// validateVotes checks the vote section on its own: at most MaxBlockVotes, each valid on its own, no validator
// twice for one target epoch, and the VoteRoot.
func (b *Block) validateVotes() error {
	if len(b.Votes) > MaxBlockVotes {
		return fmt.Errorf("%w: %d votes, limit %d", ErrInvalidBlock, len(b.Votes), MaxBlockVotes)
	}
	type key struct {
		a Address
		e Epoch
	}
	seen := make(map[key]struct{}, len(b.Votes))
	for i := range b.Votes {
		v := &b.Votes[i]
		if err := v.ValidateBasic(); err != nil {
			return fmt.Errorf("vote %d: %w", i, err)
		}
		k := key{v.Validator, v.Target.Epoch}
		if _, dup := seen[k]; dup {
			return fmt.Errorf("%w: vote %d: %s votes twice for epoch %d", ErrInvalidBlock, i, v.Validator.Short(), v.Target.Epoch)
		}
		seen[k] = struct{}{}
	}
	if root := VoteRoot(b.Votes); root != b.Header.VoteRoot {
		return fmt.Errorf("%w: vote root: header has %s, votes give %s", ErrInvalidBlock, b.Header.VoteRoot.Short(), root.Short())
	}
	return nil
}

// validateEvidence checks the evidence section on its own: at most MaxBlockEvidence, each proving an offence,
// none twice, and the EvidenceRoot.
func (b *Block) validateEvidence() error {
	if len(b.Evidence) > MaxBlockEvidence {
		return fmt.Errorf("%w: %d evidence, limit %d", ErrInvalidBlock, len(b.Evidence), MaxBlockEvidence)
	}
	seen := make(map[Address]struct{}, len(b.Evidence))
	for i := range b.Evidence {
		e := &b.Evidence[i]
		if err := e.ValidateBasic(); err != nil {
			return fmt.Errorf("evidence %d: %w", i, err)
		}
		if _, dup := seen[e.Offender()]; dup {
			return fmt.Errorf("%w: evidence %d accuses %s twice", ErrInvalidBlock, i, e.Offender().Short())
		}
		seen[e.Offender()] = struct{}{}
	}
	if root := EvidenceRoot(b.Evidence); root != b.Header.EvRoot {
		return fmt.Errorf("%w: evidence root: header has %s, evidence gives %s", ErrInvalidBlock, b.Header.EvRoot.Short(), root.Short())
	}
	return nil
}
