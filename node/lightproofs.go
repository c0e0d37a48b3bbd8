package node

import (
	"context"
	"fmt"

	"github.com/posnode/posnode/chain"
	"github.com/posnode/posnode/light"
)

// serveLightBootstrap answers a checkpoint with its block's 320-byte header, which the client checks against the
// checkpoint's hash (PROTOCOL.md §14).
func (n *Node) serveLightBootstrap(ctx context.Context, _ string, req []byte) ([]byte, error) {
	c, err := light.DecodeCheckpoint(req)
	if err != nil {
		return nil, err
	}
	b, err := n.readBlock(ctx, c.Hash)
	if err != nil {
		return nil, err
	}
	return b.Header.Encode(), nil
}

// serveLightTx answers a transaction id with the canonical block that holds it and the id's inclusion proof
// (PROTOCOL.md §4a, §14); ErrNotFound when no canonical block holds it.
func (n *Node) serveLightTx(ctx context.Context, _ string, req []byte) ([]byte, error) {
	id, err := light.DecodeHash(req)
	if err != nil {
		return nil, err
	}
	var h chain.Hash
	var ok bool
	if err := n.call(ctx, func() { _, h, ok = n.tree.TxHeight(id) }); err != nil {
		return nil, err
	}
	if !ok {
		return nil, fmt.Errorf("%w: transaction %s in no canonical block", ErrNotFound, id.Short())
	}
	b, err := n.readBlock(ctx, h)
	if err != nil {
		return nil, err
	}
	for i := range b.Txs {
		if b.Txs[i].ID() == id {
			p, err := chain.TxProof(b.Txs, i)
			if err != nil {
				return nil, err
			}
			inc := light.Inclusion{Header: b.Header, Proof: p}
			return inc.Encode(), nil
		}
	}
	return nil, fmt.Errorf("%w: transaction %s not in block %s", ErrNotFound, id.Short(), h.Short())
}

// serveLightAccount answers an account request with the account in the state after the requested checkpoint's
// block and its proof against that block's state root (PROTOCOL.md §4a, §14).
func (n *Node) serveLightAccount(ctx context.Context, _ string, req []byte) ([]byte, error) {
	r, err := light.DecodeAccountRequest(req)
	if err != nil {
		return nil, err
	}
	st, err := n.stateAfter(ctx, r.At.Hash)
	if err != nil {
		return nil, err
	}
	p, err := st.AccountProof(r.Address)
	if err != nil {
		return nil, err
	}
	a := light.AccountAnswer{Account: st.Account(r.Address), Proof: p}
	return a.Encode(), nil
}

// serveLightSubmit admits a signed transaction as Submit does (PROTOCOL.md §3) and answers its id.
func (n *Node) serveLightSubmit(ctx context.Context, _ string, req []byte) ([]byte, error) {
	tx, err := chain.DecodeTx(req)
	if err != nil {
		return nil, err
	}
	id, err := n.Submit(ctx, tx)
	if err != nil {
		return nil, err
	}
	return id[:], nil
}
