package node

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/posnode/posnode/chain"
	"github.com/posnode/posnode/consensus"
	"github.com/posnode/posnode/node/signgate"
	"github.com/posnode/posnode/node/view"
)

// Query and submission errors; each is the view package's kind of error, so the node's surfaces map them.
var (
	// ErrNotFound: no such block, account or transaction.
	ErrNotFound = view.ErrNotFound
	// ErrInvalidTx: a submitted transaction fails a check.
	ErrInvalidTx = view.ErrInvalidTx
	// ErrAmountOverflow: a transaction's value plus its fee exceeds the largest amount (2^64-1 tokens), so no
	// ledger can apply it (PROTOCOL.md §3, ledger rule 6).
	ErrAmountOverflow = errors.New("amount plus fee overflows")
	// ErrBadTxPrefix: a transaction ID prefix is not MinTxPrefix to 64 hex digits.
	ErrBadTxPrefix = errors.New("bad transaction id prefix")
	// ErrBadHashPrefix: a block hash prefix is not MinTxPrefix to 64 hex digits.
	ErrBadHashPrefix = errors.New("bad block hash prefix")
)

// MinTxPrefix is the fewest hex digits of a transaction ID or a block hash that FindTx and FindBlock resolve: the
// 8 the prompt, the explorer and the announcements print (chain.Hash.Short).
const MinTxPrefix = 8

// maxPrefixMatches bounds the matches of a prefix that FindTx and FindBlock collect: enough to say how many.
const maxPrefixMatches = 16

// The answers of the node's queries, as its surfaces show them; see package view.
type (
	Status        = view.Status
	TxView        = view.Tx
	BlockView     = view.Block
	AccountView   = view.Account
	ValidatorView = view.Validator
	TxStatus      = view.TxStatus
	PeerView      = view.Peer
)

// Status reports the head, the clock and the node's own account. Synced is false while the node has no peer: it
// cannot know that it is caught up; and while its clock is off (clock.go).
func (n *Node) Status(ctx context.Context) (Status, error) {
	var st Status
	if n.net == nil {
		return st, ErrStopped
	}
	peers := len(n.net.Peers())
	reach, reservations := "simulated", 0
	if n.host != nil {
		reach, reservations = n.host.Reachability().String(), n.host.RelayReservations()
	}
	err := n.call(ctx, func() {
		g, head, acct, slot := n.cfg.Genesis, n.tree.Head(), n.tree.HeadState().Account(n.self), n.currentSlot()
		st = Status{PeerID: n.self.String(), ChainID: g.ChainID, GenesisHash: n.chainID, Height: uint64(head.Height),
			Head: head.Hash, HeadSlot: uint64(head.Slot), Slot: uint64(slot), Epoch: uint64(g.EpochOf(slot)),
			Peers: peers, Synced: n.synced && !n.syncing && peers > 0 && !n.clock.off, Mempool: n.pool.Len(),
			Reachability: reach, RelayReservations: reservations, RelayService: n.cfg.RelayService,
			Balance: uint64(acct.Balance), Stake: uint64(acct.Stake), TxFee: uint64(g.TxFee),
			Doppelganger: n.doppelganger != "", WeakSubjectivity: n.outOfTouch}
		n.refreshSigning()
		st.Signing, st.SigningBlocked = n.gate.Status(), n.gate.Kinds()
		if slices.Contains(st.SigningBlocked, signgate.DoppelgangerWait.String()) {
			st.DoppelgangerWaitUntil = uint64(n.signFrom)
		}
		st.Justified, st.Finalized = n.tree.Finality()
		offset, off := n.clockOff()
		st.ClockOffsetMs, st.ClockOff = offset.Milliseconds(), off
	})
	return st, err
}

func viewTx(tx chain.Tx) TxView {
	v := TxView{ID: tx.ID(), Kind: tx.Kind.String(), From: tx.From, Value: tx.Value, Nonce: uint64(tx.Nonce), Fee: uint64(tx.Fee)}
	if !tx.To.IsZero() {
		to := tx.To
		v.To = &to
	}
	return v
}

// viewBlock shows stored block b with its VRF proof, whose output withVRFOutput adds off the event loop, and
// without its finality state, which the read snapshot gives (readSnap.finality).
func (n *Node) viewBlock(b *chain.Block) BlockView {
	h, g := b.Header, n.cfg.Genesis
	v := BlockView{Hash: b.Hash(), Height: uint64(h.Height), Slot: uint64(h.Slot), Parent: h.Parent,
		Proposer: h.Proposer, StateRoot: h.StateRoot, TxRoot: h.TxRoot, Mix: h.Mix,
		Time:     consensus.SlotStart(g.Time, time.Duration(g.SlotDuration), h.Slot).UTC(),
		VRFProof: hex.EncodeToString(h.VRFProof[:]), Txs: make([]TxView, len(b.Txs))}
	for i, tx := range b.Txs {
		v.Txs[i] = viewTx(tx)
	}
	for _, e := range b.Evidence {
		ev, hash := evidenceView(e, n.cfg.Genesis.EpochLength, "included"), v.Hash
		ev.Height, ev.Block = v.Height, &hash
		v.Evidence = append(v.Evidence, ev)
	}
	return v
}

// withVRFOutput adds to v the output of its VRF proof (chain.VRFProof.Output: RFC 9381 proof_to_hash, 64 bytes),
// off the event loop: the tree verified the proof when it accepted the block. The genesis has no proof. It fails
// with chain.ErrBadVRFProof for a proof whose point does not decode, which a stored block cannot hold.
func withVRFOutput(v *BlockView) error {
	if v.VRFProof == "" {
		return nil
	}
	var p chain.VRFProof
	if _, err := hex.Decode(p[:], []byte(v.VRFProof)); err != nil {
		return fmt.Errorf("%w: block %s: %w", chain.ErrBadVRFProof, v.Hash.Short(), err)
	}
	out, err := p.Output()
	if err != nil {
		return fmt.Errorf("block %s: %w", v.Hash.Short(), err)
	}
	v.VRFOutput = hex.EncodeToString(out[:])
	return nil
}

// genesisView is the genesis as block 0: its hash names the network; it has no proposer, no VRF proof and no
// transactions, and it is final. Its mix is the genesis mix and its time the genesis time (PROTOCOL.md §5, §6).
func genesisView(g *chain.Genesis) BlockView {
	h := g.Hash()
	return BlockView{Hash: h, StateRoot: g.State().Root(), Time: g.Time.UTC(), Finality: view.BlockFinal,
		Mix: chain.GenesisMix(h), Txs: []TxView{}}
}

// Mempool reports the size of the mempool and the transaction that has waited longest in it.
func (n *Node) Mempool(ctx context.Context) (view.Mempool, error) {
	var m view.Mempool
	err := n.call(ctx, func() {
		m.Size = n.pool.Len()
		if tx, since, ok := n.pool.Oldest(); ok {
			m.Oldest = &view.PendingTx{Tx: viewTx(tx), Since: since.UTC()}
		}
	})
	return m, err
}

// Account returns an account's state at the head.
func (n *Node) Account(ctx context.Context, addr chain.Address) (AccountView, error) {
	var v AccountView
	err := n.call(ctx, func() {
		st := n.tree.HeadState()
		a := st.Account(addr)
		next, _ := n.nextNonce(addr, st)
		v = AccountView{Address: addr, Balance: uint64(a.Balance), Stake: uint64(a.Stake), Nonce: uint64(a.Nonce),
			Pending: int(next - a.Nonce), Unbonding: uint64(a.Unbonding),
			UnbondEpoch: uint64(a.UnbondEpoch), Slashed: a.Slashed}
	})
	return v, err
}

// Validators returns the stake table in force for the current slot's epoch (PROTOCOL.md §6).
func (n *Node) Validators(ctx context.Context) (epoch uint64, vals []ValidatorView, err error) {
	err = n.call(ctx, func() {
		e := n.cfg.Genesis.EpochOf(n.currentSlot())
		epoch = uint64(e)
		vals = validatorViews(n.tree.HeadState().Validators(e))
	})
	return epoch, vals, err
}

// validatorViews shows a stake table with each validator's share of its total.
func validatorViews(table []chain.Stake) []ValidatorView {
	var total uint64
	for _, s := range table {
		total += uint64(s.Amount)
	}
	vals := make([]ValidatorView, 0, len(table))
	for _, s := range table {
		share := float64(s.Amount) / float64(max(total, 1))
		vals = append(vals, ValidatorView{Address: s.Addr, Stake: uint64(s.Amount), Share: share})
	}
	return vals
}

// hexPrefix checks that prefix (lower case) is MinTxPrefix to 64 hex digits and returns its whole bytes; the
// error wraps kind and is of the kind view.ErrBadInput.
func hexPrefix(prefix string, kind error) ([]byte, error) {
	even, err := hex.DecodeString(prefix[:len(prefix)&^1])
	if err != nil || len(prefix) < MinTxPrefix || len(prefix) > 2*len(chain.Hash{}) || !isHex(prefix) {
		return nil, view.Classed(view.ErrBadInput,
			fmt.Errorf("%w: want %d to 64 hex digits, got %q", kind, MinTxPrefix, prefix))
	}
	return even, nil
}

// matching returns the distinct IDs among ids whose hex starts with prefix, in the order first seen.
func matching(ids []chain.Hash, prefix string) []chain.Hash {
	var out []chain.Hash
	for _, id := range ids {
		if strings.HasPrefix(id.String(), prefix) && !containsHash(out, id) {
			out = append(out, id)
		}
	}
	return out
}

func isHex(s string) bool {
	return strings.Trim(s, "0123456789abcdef") == ""
}

func containsHash(hs []chain.Hash, h chain.Hash) bool {
	for _, x := range hs {
		if x == h {
			return true
		}
	}
	return false
}

// Peers lists the connected peers.
func (n *Node) Peers() []PeerView {
	if n.net == nil {
		return nil
	}
	peers := n.net.Peers()
	out := make([]PeerView, len(peers))
	for i, p := range peers {
		out[i] = PeerView{ID: p.ID, Addr: p.Addr, Direction: p.Direction}
	}
	return out
}

// Connect dials a peer by multiaddr. For a peer already connected, it still checks that the address given
// answers as that peer, so a dead address is reported as such.
func (n *Node) Connect(ctx context.Context, addr string) error {
	if n.host == nil {
		return errors.New("connect: no libp2p host (a simulated node)")
	}
	return n.host.Connect(ctx, addr)
}
