package chain

import (
	"bytes"
	"encoding/gob"
	"fmt"
)

// Anchor returns the anchor at block h (PROTOCOL.md §13a): h must be the floor, one of the pastFloors floors
// below it, or a block above the floor on the canonical chain. It fails with ErrPruned when the tree keeps no state
// at h, and with ErrCorruptStore (wrapped) when a block it needs cannot be read.
func (t *Tree) Anchor(h Hash) (*Anchor, error) {
	n := t.nodes[h]
	if n == nil || n == t.root || !t.isCanonical(n) {
		n = nil
		for _, p := range t.past {
			if p.hash == h {
				n = p
			}
		}
	}
	if n == nil {
		return nil, fmt.Errorf("%w: no state at block %s", ErrPruned, h.Short())
	}
	st, err := t.stateOf(n)
	if err != nil {
		return nil, err
	}
	blk, _, err := t.storedBlock(h)
	if err != nil {
		return nil, fmt.Errorf("anchor block %s: %w", h.Short(), err)
	}
	heads, err := t.anchorHeaders(blk, n)
	if err != nil {
		return nil, err
	}
	return &Anchor{Block: blk, Headers: heads, Epoch: st.epoch, Supply: st.supply, Tables: st.tables,
		Accounts: st.accounts.flat()}, nil
}

// anchorHeaders returns the headers of b's ancestors back to n's floorStubs-th ancestor of an earlier epoch, oldest
// first; to genesis when n has fewer such ancestors (a block of epoch 1, 2 or 3: epoch 0 has none before it), as
// Verify wants them.
func (t *Tree) anchorHeaders(b *Block, n *node) ([]Header, error) {
	var deepest Hash
	i := 0
	for s := n.lastBefore; s != nil && i < floorStubs; s, i = s.lastBefore, i+1 {
		deepest = s.hash
	}
	if i < floorStubs {
		deepest = Hash{} // the walk below stops at genesis
	}
	var out []Header
	for p := b.Header.Parent; p != t.root.hash; {
		if len(out) == MaxAnchorHeaders {
			return nil, fmt.Errorf("%w: more than %d headers below block %s", ErrPruned, MaxAnchorHeaders, b.Hash().Short())
		}
		pb, _, err := t.storedBlock(p)
		if err != nil {
			return nil, fmt.Errorf("anchor header %s: %w", p.Short(), err)
		}
		out = append(out, pb.Header)
		if p == deepest {
			break
		}
		p = pb.Header.Parent
	}
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	return out, nil
}

// Verify checks the anchor against the trusted checkpoint c of genesis g (PROTOCOL.md §13a): its block is c's
// (hash), of an epoch before c's, well formed and signed by its proposer; its headers are a chain of parents
// ending at the block's parent and reaching the block's floorStubs-th ancestor of an earlier epoch or genesis; its
// state's root is the block's state root. It fails with ErrBadAnchor.
func (a *Anchor) Verify(g *Genesis, c Checkpoint) error {
	b := a.Block
	switch {
	case c.Epoch == 0:
		return fmt.Errorf("%w: the checkpoint of epoch 0 is genesis", ErrBadAnchor)
	case b.Hash() != c.Hash:
		return fmt.Errorf("%w: block %s, trusted checkpoint %s", ErrBadAnchor, b.Hash().Short(), c.Hash.Short())
	case g.EpochOf(b.Header.Slot) >= c.Epoch:
		return fmt.Errorf("%w: block of epoch %d is no checkpoint of epoch %d", ErrBadAnchor, g.EpochOf(b.Header.Slot), c.Epoch)
	}
	if err := b.ValidateBasic(); err != nil {
		return fmt.Errorf("%w: block: %w", ErrBadAnchor, err)
	}
	if err := b.Verify(g.Hash()); err != nil {
		return fmt.Errorf("%w: block: %w", ErrBadAnchor, err)
	}
	if err := a.verifyHeaders(g); err != nil {
		return err
	}
	if sum, ok := a.sum(); !ok || sum != a.Supply {
		return fmt.Errorf("%w: supply %d, accounts hold %d", ErrBadAnchor, a.Supply, sum)
	}
	if root := a.state(g).Root(); root != b.Header.StateRoot {
		return fmt.Errorf("%w: state root %s, block's %s", ErrBadAnchor, root.Short(), b.Header.StateRoot.Short())
	}
	return nil
}

// verifyHeaders checks that the headers are the block's ancestry and reach far enough for its stubs.
func (a *Anchor) verifyHeaders(g *Genesis) error {
	child := &a.Block.Header
	for i := len(a.Headers) - 1; i >= 0; i-- {
		h := &a.Headers[i]
		if h.Hash() != child.Parent || h.Height+1 != child.Height {
			return fmt.Errorf("%w: header %d is not the parent of the one above it", ErrBadAnchor, i)
		}
		child = h
	}
	if child.Height == 1 {
		if child.Parent != g.Hash() {
			return fmt.Errorf("%w: the headers reach height 1 but not genesis", ErrBadAnchor)
		}
		return nil
	}
	if len(a.stubs(g)) < floorStubs {
		return fmt.Errorf("%w: the headers stop at height %d, short of the block's ancestors of earlier epochs",
			ErrBadAnchor, child.Height)
	}
	return nil
}

// stubs returns the block's ancestors of earlier epochs among the headers, newest first, floorStubs at most.
func (a *Anchor) stubs(g *Genesis) []stubRecord {
	var out []stubRecord
	e := g.EpochOf(a.Block.Header.Slot)
	for i := len(a.Headers) - 1; i >= 0 && len(out) < floorStubs; i-- {
		if h := a.Headers[i]; g.EpochOf(h.Slot) < e {
			out = append(out, stubRecord{Header: h, Mix: h.Mix})
			e = g.EpochOf(h.Slot)
		}
	}
	return out
}

// sum returns the tokens the accounts hold (balances, stakes and unbonding tokens), which is the supply after
// a block (no root covers the supply); false when it overflows.
func (a *Anchor) sum() (Amount, bool) {
	var sum Amount
	for _, acc := range a.Accounts {
		for _, v := range []Amount{acc.Balance, acc.Stake, acc.Unbonding} {
			if sum+v < sum {
				return 0, false
			}
			sum += v
		}
	}
	return sum, true
}

func (a *Anchor) state(g *Genesis) *State {
	st := &State{params: g.State().params, accounts: cowMapOf(a.Accounts), supply: a.Supply, epoch: a.Epoch,
		tables: a.Tables}
	return st
}

// Install writes the verified anchor a at the trusted checkpoint c to store as its floor (PROTOCOL.md §13a): in
// one write, its canonical index entry, the deletion of everything below it, and the snapshot OpenTree opens
// from; then the block (a crash between the two leaves a store that opens at the anchor without its block). The floor's finality starts at the anchor: c justified and finalized, no vote counted.
func (a *Anchor) Install(store Store, g *Genesis, c Checkpoint) error {
	b := a.Block
	st := a.state(g)
	stubs := a.stubs(g)
	e := g.EpochOf(b.Header.Slot)
	target := Checkpoint{Epoch: e, Hash: g.Hash()}
	if len(stubs) > 0 {
		target.Hash = stubs[0].Header.Hash()
	}
	cur := newTally(target, st.Validators(e))
	var slashed []Address
	for ad := range cur.stake {
		if st.accounts.at(ad).Slashed {
			slashed = append(slashed, ad)
		}
	}
	r := snapshotRecord{Version: snapshotVersion, Floor: stubRecord{b.Header, b.Header.Mix}, Stubs: stubs,
		Epoch: st.epoch, Supply: st.supply, Tables: st.tables, Accounts: st.accounts.flat(), Oldest: b.Header.Height,
		Old: map[Epoch]oldRecord{c.Epoch: {Ckpt: c.Hash, Table: st.Validators(c.Epoch)}},
		Fin: finRecord{Justified: c, Finalized: c, JustifiedAll: []Checkpoint{c}, Cur: tallyOut(cur), Slashed: slashed}}
	var buf bytes.Buffer
	if err := gob.NewEncoder(&buf).Encode(&r); err != nil {
		return fmt.Errorf("encode the anchor's snapshot: %w", err)
	}
	f := &Finalization{From: b.Header.Height, Canon: []Hash{c.Hash}, PruneBelow: b.Header.Height, Snapshot: buf.Bytes()}
	if err := store.Finalize(f); err != nil {
		return fmt.Errorf("write the anchor's snapshot: %w", err)
	}
	if err := store.PutBlock(b); err != nil { // after the snapshot: without it a lone stored block has no parent
		return fmt.Errorf("store the anchor block: %w", err)
	}
	return nil
}
