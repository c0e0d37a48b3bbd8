package client

import (
	"errors"
	"fmt"

	"github.com/posnode/posnode/chain"
)

// ErrWrongHeader: a node answered with a header other than the one the client trusts.
var ErrWrongHeader = errors.New("header is not the trusted one")

// Inclusion is a node's answer to "where is this transaction": the header of the block that holds it and the
// inclusion proof of its id under the header's tx_root (PROTOCOL.md §4a).
type Inclusion struct {
	Header chain.Header
	Proof  chain.MerkleProof
}

// VerifyInclusion checks that the transaction id is in the block whose hash the client trusts (a header it
// checked, such as a finalized one): that inc.Header is that block's header (ErrWrongHeader) and that the proof
// leads from id to its tx_root (chain.ErrBadProof). Both errors are wrapped.
func VerifyInclusion(trusted chain.Hash, id chain.Hash, inc Inclusion) error {
	if h := inc.Header.Hash(); h != trusted {
		return fmt.Errorf("%w: got block %s, trust %s", ErrWrongHeader, h.Short(), trusted.Short())
	}
	if err := chain.VerifyTxProof(inc.Header.TxRoot, id, inc.Proof); err != nil {
		return fmt.Errorf("block %s at height %d: %w", trusted.Short(), inc.Header.Height, err)
	}
	return nil
}

// VerifyAccount checks that acc is a's account after the block whose hash the client trusts: that header is
// that block's header (ErrWrongHeader) and that the proof leads from the account to its state_root
// (chain.ErrBadProof).
func VerifyAccount(trusted chain.Hash, header chain.Header, a chain.Address, acc chain.Account, p chain.AccountProof) error {
	if h := header.Hash(); h != trusted {
		return fmt.Errorf("%w: got block %s, trust %s", ErrWrongHeader, h.Short(), trusted.Short())
	}
	if err := chain.VerifyAccountProof(header.StateRoot, a, acc, p); err != nil {
		return fmt.Errorf("block %s at height %d: %w", trusted.Short(), header.Height, err)
	}
	return nil
}
