package node

import (
	"context"
	"errors"
	"fmt"

	"github.com/posnode/posnode/chain"
)

// Query and submission errors.
var (
	// ErrNotFound: no such block, account or transaction.
	ErrNotFound = errors.New("not found")
	// ErrInvalidTx: a submitted transaction fails a check.
	ErrInvalidTx = errors.New("invalid transaction")
)

// Status is the node's view of the network.
type Status struct {
	PeerID   string     `json:"peer_id"`
	ChainID  chain.Hash `json:"chain_id"`
	Height   uint64     `json:"height"`
	Head     chain.Hash `json:"head"`
	HeadSlot uint64     `json:"head_slot"`
	Slot     uint64     `json:"slot"`
	Epoch    uint64     `json:"epoch"`
	Peers    int        `json:"peers"`
	Synced   bool       `json:"synced"`
	Mempool  int        `json:"mempool"`
	Balance  uint64     `json:"balance"`
	Stake    uint64     `json:"stake"`
	// Signing is "active", "waiting for the doppelganger check until slot N", or "stopped: <why>" once another
	// process was seen signing with this node's key (Doppelganger).
	Signing      string `json:"signing"`
	Doppelganger bool   `json:"doppelganger"`
}

// Status reports the head, the clock and the node's own account.
func (n *Node) Status(ctx context.Context) (Status, error) {
	var st Status
	err := n.call(ctx, func() {
		head, acct, slot := n.tree.Head(), n.tree.HeadState().Account(n.self), n.currentSlot()
		st = Status{PeerID: n.self.String(), ChainID: n.chainID, Height: uint64(head.Height), Head: head.Hash,
			HeadSlot: uint64(head.Slot), Slot: uint64(slot), Epoch: uint64(n.cfg.Genesis.EpochOf(slot)),
			Synced: n.synced && !n.syncing, Mempool: n.pool.Len(), Balance: uint64(acct.Balance), Stake: uint64(acct.Stake),
			Signing: n.signing(), Doppelganger: n.doppelganger != ""}
	})
	st.Peers = len(n.host.Peers())
	return st, err
}

// TxView is a transaction as the API shows it.
type TxView struct {
	ID    chain.Hash     `json:"id"`
	Kind  string         `json:"kind"`
	From  chain.Address  `json:"from"`
	To    *chain.Address `json:"to,omitempty"`
	Value uint64         `json:"value"`
	Nonce uint64         `json:"nonce"`
	Fee   uint64         `json:"fee"`
}

// BlockView is a block as the API shows it.
type BlockView struct {
	Hash      chain.Hash    `json:"hash"`
	Height    uint64        `json:"height"`
	Slot      uint64        `json:"slot"`
	Parent    chain.Hash    `json:"parent"`
	Proposer  chain.Address `json:"proposer"`
	StateRoot chain.Hash    `json:"state_root"`
	TxRoot    chain.Hash    `json:"tx_root"`
	Txs       []TxView      `json:"txs"`
}

func viewTx(tx chain.Tx) TxView {
	v := TxView{ID: tx.ID(), Kind: tx.Kind.String(), From: tx.From, Value: tx.Value, Nonce: uint64(tx.Nonce), Fee: uint64(tx.Fee)}
	if !tx.To.IsZero() {
		to := tx.To
		v.To = &to
	}
	return v
}

func viewBlock(b *chain.Block) BlockView {
	h := b.Header
	v := BlockView{Hash: b.Hash(), Height: uint64(h.Height), Slot: uint64(h.Slot), Parent: h.Parent,
		Proposer: h.Proposer, StateRoot: h.StateRoot, TxRoot: h.TxRoot, Txs: make([]TxView, len(b.Txs))}
	for i, tx := range b.Txs {
		v.Txs[i] = viewTx(tx)
	}
	return v
}

// Blocks returns the canonical blocks from height from to height to, inclusive (at most maxRangeBlocks).
func (n *Node) Blocks(ctx context.Context, from, to uint64) ([]BlockView, error) {
	if to < from || to-from >= maxRangeBlocks {
		return nil, fmt.Errorf("range %d..%d: at most %d blocks, to ≥ from", from, to, maxRangeBlocks)
	}
	var out []BlockView
	var err error
	callErr := n.call(ctx, func() {
		for h := from; h <= to; h++ {
			b, e := n.tree.BlockAt(chain.Height(h))
			if errors.Is(e, chain.ErrNotFound) {
				return
			}
			if e != nil {
				err = e
				return
			}
			out = append(out, viewBlock(b))
		}
	})
	return out, errors.Join(callErr, err)
}

// Block returns the canonical block at a height.
func (n *Node) Block(ctx context.Context, height uint64) (BlockView, error) {
	bs, err := n.Blocks(ctx, height, height)
	if err == nil && len(bs) == 0 {
		err = fmt.Errorf("%w: no block at height %d", ErrNotFound, height)
	}
	if err != nil {
		return BlockView{}, err
	}
	return bs[0], nil
}

// AccountView is an account as the API shows it.
type AccountView struct {
	Address chain.Address `json:"address"`
	Balance uint64        `json:"balance"`
	Stake   uint64        `json:"stake"`
	Nonce   uint64        `json:"nonce"`
	Pending int           `json:"pending"`
}

// Account returns an account's state at the head.
func (n *Node) Account(ctx context.Context, addr chain.Address) (AccountView, error) {
	var v AccountView
	err := n.call(ctx, func() {
		st := n.tree.HeadState()
		a := st.Account(addr)
		v = AccountView{Address: addr, Balance: uint64(a.Balance), Stake: uint64(a.Stake), Nonce: uint64(a.Nonce),
			Pending: int(n.pool.NextNonce(addr, st) - a.Nonce)}
	})
	return v, err
}

// ValidatorView is one entry of a stake table.
type ValidatorView struct {
	Address chain.Address `json:"address"`
	Stake   uint64        `json:"stake"`
	Share   string        `json:"share"` // of the table's total, for people; consensus never uses it
}

// Validators returns the stake table in force for the current slot's epoch (PROTOCOL.md §6).
func (n *Node) Validators(ctx context.Context) (epoch uint64, vals []ValidatorView, err error) {
	err = n.call(ctx, func() {
		e := n.cfg.Genesis.EpochOf(n.currentSlot())
		epoch = uint64(e)
		table := n.tree.HeadState().Validators(e)
		var total uint64
		for _, s := range table {
			total += uint64(s.Amount)
		}
		for _, s := range table {
			share := fmt.Sprintf("%.2f%%", 100*float64(s.Amount)/float64(max(total, 1)))
			vals = append(vals, ValidatorView{Address: s.Addr, Stake: uint64(s.Amount), Share: share})
		}
	})
	return epoch, vals, err
}

// TxStatus tells where a transaction is.
type TxStatus struct {
	ID     chain.Hash  `json:"id"`
	Status string      `json:"status"` // pending | committed | dropped
	Height uint64      `json:"height,omitempty"`
	Block  *chain.Hash `json:"block,omitempty"`
	Reason string      `json:"reason,omitempty"` // why a dropped transaction left the mempool
}

// Tx finds a transaction in the mempool, on the canonical chain, or among the transactions the mempool recently
// dropped because they could no longer apply (with the reason).
func (n *Node) Tx(ctx context.Context, id chain.Hash) (TxStatus, error) {
	st := TxStatus{ID: id}
	found := false
	err := n.call(ctx, func() {
		if n.pool.Has(id) {
			st.Status, found = "pending", true
			return
		}
		if h, blk, ok := n.tree.TxHeight(id); ok {
			st.Status, st.Height, st.Block, found = "committed", uint64(h), &blk, true
			return
		}
		if reason, ok := n.pool.DropReason(id); ok {
			st.Status, st.Reason, found = "dropped", reason, true
		}
	})
	if err == nil && !found {
		err = fmt.Errorf("%w: transaction %s", ErrNotFound, id)
	}
	return st, err
}

// PeerView is a connected peer as the API shows it.
type PeerView struct {
	ID        string `json:"id"`
	Addr      string `json:"addr"`
	Direction string `json:"direction"` // inbound | outbound
}

// Peers lists the connected peers.
func (n *Node) Peers() []PeerView {
	peers := n.host.Peers()
	out := make([]PeerView, len(peers))
	for i, p := range peers {
		out[i] = PeerView{ID: p.ID, Addr: p.Addr, Direction: p.Direction}
	}
	return out
}

// Connect dials a peer by multiaddr.
func (n *Node) Connect(ctx context.Context, addr string) error { return n.host.Connect(ctx, addr) }

// Submit admits a transaction signed elsewhere (PROTOCOL.md §3) and gossips it.
func (n *Node) Submit(ctx context.Context, tx chain.Tx) (chain.Hash, error) {
	if err := tx.ValidateBasic(); err != nil {
		return chain.Hash{}, fmt.Errorf("%w: %w", ErrInvalidTx, err)
	}
	if err := n.sigs.Verify(&tx); err != nil {
		return chain.Hash{}, fmt.Errorf("%w: %w", ErrInvalidTx, err)
	}
	var seq uint64
	var err error
	if callErr := n.call(ctx, func() { seq, err = n.submit(tx) }); callErr != nil {
		return chain.Hash{}, callErr
	}
	if err != nil {
		return chain.Hash{}, fmt.Errorf("%w: %w", ErrInvalidTx, err)
	}
	return tx.ID(), n.journal.Sync(seq)
}

// SubmitOwn signs a transaction of the node's own account with the next free nonce and submits it. The mempool
// checks it against what the node's pending transactions leave of the account, so a user hears at once that a
// stake or a transfer is too large (PROTOCOL.md §3). Once another process was seen signing with the node's key it
// fails with ErrDoppelganger.
func (n *Node) SubmitOwn(ctx context.Context, kind chain.TxKind, to chain.Address, value uint64) (chain.Hash, error) {
	var id chain.Hash
	var seq uint64
	var err error
	callErr := n.call(ctx, func() {
		if n.doppelganger != "" {
			err = fmt.Errorf("%w: %s", ErrDoppelganger, n.doppelganger)
			return
		}
		st := n.tree.HeadState()
		tx := chain.Tx{Kind: kind, From: n.self, Nonce: n.pool.NextNonce(n.self, st), To: to, Value: value,
			Fee: n.cfg.Genesis.TxFee}
		if err = tx.ValidateBasic(); err != nil {
			return
		}
		tx.Sign(n.chainID, n.key)
		id = tx.ID()
		seq, err = n.submit(tx)
	})
	if callErr != nil {
		return chain.Hash{}, callErr
	}
	if err != nil {
		return chain.Hash{}, fmt.Errorf("%w: %w", ErrInvalidTx, err)
	}
	return id, n.journal.Sync(seq)
}
