package chain

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"slices"
)

// stateProofFixedSize is the part of an account or stake-table proof before its Merkle proof: epoch u64 | the
// other sub-root [32].
const stateProofFixedSize = 8 + 32

// AccountProof proves one account against a state root (PROTOCOL.md §4a): with the state's epoch and tables
// root, the inclusion path of the account's leaf among the accounts sorted by address gives the state root.
type AccountProof struct {
	Epoch      Epoch // the state's epoch
	TablesRoot Hash  // the state's tables root
	Path       MerkleProof
}

// StakeTableProof proves the stake table of one epoch against a state root (PROTOCOL.md §4a): the state's
// epoch and accounts root, and the inclusion path of the table's root among the tables the state keeps. The
// table proven is that of epoch Epoch + Path.Index.
type StakeTableProof struct {
	Epoch        Epoch // the state's epoch
	AccountsRoot Hash  // the state's accounts root
	Path         MerkleProof
}

// AccountProof returns the proof of a's account against s.Root(). It returns ErrNotInList when s holds no
// account for a (a proof of absence is not offered). It costs O(accounts).
func (s *State) AccountProof(a Address) (AccountProof, error) {
	addrs, leaves := s.accountLeaves()
	i, found := slices.BinarySearchFunc(addrs, a, func(x, y Address) int { return bytes.Compare(x[:], y[:]) })
	if !found {
		return AccountProof{}, fmt.Errorf("%w: account %s", ErrNotInList, a.Short())
	}
	return AccountProof{Epoch: s.epoch, TablesRoot: s.tablesRoot(), Path: merkleProve(leaves, i)}, nil
}

// VerifyAccountProof checks that acc is a's account in the state whose root is root (PROTOCOL.md §4a). It
// returns ErrBadProof, wrapped.
func VerifyAccountProof(root Hash, a Address, acc Account, p AccountProof) error {
	accountsRoot, err := merkleRootFrom(accountLeaf(a, acc), p.Path)
	if err != nil {
		return fmt.Errorf("account %s: %w", a.Short(), err)
	}
	if got := stateRootOf(p.Epoch, p.TablesRoot, wrapRoot(accountsDomain, p.Path.Size, accountsRoot)); got != root {
		return fmt.Errorf("%w: account %s gives state root %s, want %s", ErrBadProof, a.Short(), got.Short(), root.Short())
	}
	return nil
}

// StakeTableProof returns the stake table of epoch e that s keeps (PROTOCOL.md §6) and its proof against
// s.Root(). It returns ErrNotInList for an epoch before s's or StakeLag or more epochs after it.
func (s *State) StakeTableProof(e Epoch) ([]Stake, StakeTableProof, error) {
	if e < s.epoch || e-s.epoch >= Epoch(len(s.tables)) {
		return nil, StakeTableProof{}, fmt.Errorf("%w: stake table of epoch %d, state in epoch %d", ErrNotInList, e, s.epoch)
	}
	_, leaves := s.accountLeaves()
	p := StakeTableProof{Epoch: s.epoch, AccountsRoot: merkleRoot(accountsDomain, leaves),
		Path: merkleProve(s.tableLeaves(), int(e-s.epoch))}
	return slices.Clone(s.tables[e-s.epoch]), p, nil
}

// VerifyStakeTable checks that table is the stake table of epoch e in the state whose root is root
// (PROTOCOL.md §4a, §6). It returns ErrBadProof, wrapped.
func VerifyStakeTable(root Hash, e Epoch, table []Stake, p StakeTableProof) error {
	if e < p.Epoch || e-p.Epoch != Epoch(p.Path.Index) {
		return fmt.Errorf("%w: proof is of the table of epoch %d+%d, want %d", ErrBadProof, p.Epoch, p.Path.Index, e)
	}
	tr := tableRoot(table)
	tablesRoot, err := merkleRootFrom(merkleLeaf(tr[:]), p.Path)
	if err != nil {
		return fmt.Errorf("stake table of epoch %d: %w", e, err)
	}
	if got := stateRootOf(p.Epoch, wrapRoot(tablesDomain, p.Path.Size, tablesRoot), p.AccountsRoot); got != root {
		return fmt.Errorf("%w: stake table of epoch %d gives state root %s, want %s", ErrBadProof, e, got.Short(), root.Short())
	}
	return nil
}

// EncodedSize returns the length of p's encoding.
func (p *AccountProof) EncodedSize() int { return stateProofFixedSize + p.Path.EncodedSize() }

// Encode returns p's encoding (PROTOCOL.md §4a): epoch u64 | tables root [32] | merkle proof.
func (p *AccountProof) Encode() []byte {
	b := binary.BigEndian.AppendUint64(make([]byte, 0, p.EncodedSize()), uint64(p.Epoch))
	b = append(b, p.TablesRoot[:]...)
	return p.Path.AppendTo(b)
}

// DecodeAccountProof decodes exactly one account proof; its errors wrap ErrMalformed (see DecodeMerkleProof).
func DecodeAccountProof(data []byte) (AccountProof, error) {
	e, sub, path, err := decodeStateProof(data)
	if err != nil {
		return AccountProof{}, fmt.Errorf("account proof: %w", err)
	}
	return AccountProof{Epoch: e, TablesRoot: sub, Path: path}, nil
}

// EncodedSize returns the length of p's encoding.
func (p *StakeTableProof) EncodedSize() int { return stateProofFixedSize + p.Path.EncodedSize() }

// Encode returns p's encoding (PROTOCOL.md §4a): epoch u64 | accounts root [32] | merkle proof.
func (p *StakeTableProof) Encode() []byte {
	b := binary.BigEndian.AppendUint64(make([]byte, 0, p.EncodedSize()), uint64(p.Epoch))
	b = append(b, p.AccountsRoot[:]...)
	return p.Path.AppendTo(b)
}

// DecodeStakeTableProof decodes exactly one stake-table proof; its errors wrap ErrMalformed (see
// DecodeMerkleProof).
func DecodeStakeTableProof(data []byte) (StakeTableProof, error) {
	e, sub, path, err := decodeStateProof(data)
	if err != nil {
		return StakeTableProof{}, fmt.Errorf("stake table proof: %w", err)
	}
	return StakeTableProof{Epoch: e, AccountsRoot: sub, Path: path}, nil
}

// decodeStateProof decodes epoch u64 | hash [32] | merkle proof, with nothing after it.
func decodeStateProof(data []byte) (Epoch, Hash, MerkleProof, error) {
	var sub Hash
	if len(data) < stateProofFixedSize {
		return 0, sub, MerkleProof{}, fmt.Errorf("%w: %d bytes, shorter than %d", ErrMalformed, len(data), stateProofFixedSize)
	}
	path, err := DecodeMerkleProof(data[stateProofFixedSize:])
	if err != nil {
		return 0, sub, MerkleProof{}, err
	}
	copy(sub[:], data[8:stateProofFixedSize])
	return Epoch(binary.BigEndian.Uint64(data[:8])), sub, path, nil
}
