package chain

import (
	"bytes"
	"encoding/gob"
	"errors"
	"fmt"
)

// Anchor returns the anchor at block h (PROTOCOL.md §13a): h must be the floor, a block above the floor on the
// canonical chain, or a floor of a checkpoint within the last anchorEpochs epochs, whose anchor the store keeps
// (keepAnchor). It fails with ErrPruned when the tree keeps no state at h, with ErrCorruptStore (wrapped) when a
// block or a kept anchor it needs cannot be read.
func (t *Tree) Anchor(h Hash) (*Anchor, error) {
	n := t.nodes[h]
	if n == nil || n == t.root || !t.isCanonical(n) {
		return t.keptAnchor(h)
	}
	blk, heads, st, err := t.anchorParts(h, n)
	if err != nil {
		return nil, err
	}
	return anchorOf(blk, heads, st), nil
}

// anchorParts returns what the anchor at block h, node n of the tree on the canonical chain, is made of: the
// block, its ancestor headers and its post-state; the errors of Anchor.
func (t *Tree) anchorParts(h Hash, n *node) (*Block, []Header, *State, error) {
	st, err := t.stateOf(n)
	if err != nil {
		return nil, nil, nil, err
	}
	blk, _, err := t.storedBlock(h)
	if errors.Is(err, ErrNotFound) { // a canonical block of the tree that the store lacks
		return nil, nil, nil, fmt.Errorf("%w: anchor block %s: %w", ErrCorruptStore, h.Short(), err)
	} else if err != nil {
		return nil, nil, nil, fmt.Errorf("anchor block %s: %w", h.Short(), err)
	}
	heads, err := t.anchorHeaders(blk, n)
	if err != nil {
		return nil, nil, nil, err
	}
	return blk, heads, st, nil
}

// anchorOf returns the anchor of block blk, its ancestor headers heads and its post-state st.
func anchorOf(blk *Block, heads []Header, st *State) *Anchor {
	return &Anchor{Block: blk, Headers: heads, Epoch: st.epoch, Supply: st.supply, Tables: st.tables,
		Accounts: st.accounts.flat()}
}

// encodedAnchor returns the encoding of the anchor at block h (Anchor, then Encode) with its block and ancestor
// headers. For a block of the tree on the canonical chain, the encoding is a function of h and the number of
// headers: the block's hash fixes the block, its ancestors and its state (the header's state root commits to the
// epoch, the stake tables and the accounts, and the accounts to the supply). So with a StateMemo installed, the
// processes of a simulation share it (sharedAnchor) instead of each flattening and encoding every account.
func (t *Tree) encodedAnchor(h Hash) (*Block, []Header, []byte, error) {
	n := t.nodes[h]
	if n == nil || n == t.root || !t.isCanonical(n) {
		a, err := t.keptAnchor(h)
		if err != nil {
			return nil, nil, nil, err
		}
		return a.Block, a.Headers, a.Encode(), nil
	}
	blk, heads, st, err := t.anchorParts(h, n)
	if err != nil {
		return nil, nil, nil, err
	}
	enc := sharedAnchor(h, blk.Header.Height, len(heads), func() []byte { return anchorOf(blk, heads, st).Encode() })
	return blk, heads, enc, nil
}

// anchorEpochs returns how many epochs back from the finalized checkpoint the store keeps anchors: AnchorEpochs,
// but fewer than the retention window, so that the node also holds the blocks above each anchor it serves, which
// the node that installs it syncs next (PROTOCOL.md §13a).
func (t *Tree) anchorEpochs() uint64 {
	w := uint64(WeakSubjectivityEpochs)
	if t.cfg.AnchorEpochs > 0 {
		w = t.cfg.AnchorEpochs
	}
	if r := t.cfg.RetainEpochs; r > 0 {
		w = min(w, r-1)
	}
	return w
}

// keepAnchor adds to fin the anchor at the new floor, whose checkpoint is the head's finalized one, and drops the
// kept anchors older than anchorEpochs (PROTOCOL.md §13a). An anchor that cannot be made is not kept: the floor
// rises all the same.
func (t *Tree) keepAnchor(fin *Finalization) {
	e := t.head.fin.Finalized.Epoch
	if w := Epoch(t.anchorEpochs()); e > w {
		fin.AnchorsBelow = e - w
	}
	blk, heads, enc, err := t.encodedAnchor(t.floor.hash)
	if err != nil {
		return
	}
	fin.Anchors = append(fin.Anchors, AnchorRecord{Epoch: e, Hash: t.floor.hash, Enc: enc})
	t.anchorHeads = append(t.anchorHeads[:0], keptHeader{t.floor.hash, blk.Header})
	for i := len(heads) - 1; i >= 0; i-- {
		t.anchorHeads = append(t.anchorHeads, keptHeader{t.anchorHeads[len(t.anchorHeads)-1].header.Parent, heads[i]})
	}
}

// keptHeader is a header and its hash.
type keptHeader struct {
	hash   Hash
	header Header
}

// recentHeader returns the header of block h if the last anchor kept (keepAnchor) holds it: the next anchor,
// an epoch up, reads most of the same headers, which the store would decode whole blocks to give.
func (t *Tree) recentHeader(h Hash) (Header, bool) {
	for i := range t.anchorHeads {
		if t.anchorHeads[i].hash == h {
			return t.anchorHeads[i].header, true
		}
	}
	return Header{}, false
}

// keptAnchor returns the anchor at h that the finalization not yet written or the store keeps, or ErrPruned.
func (t *Tree) keptAnchor(h Hash) (*Anchor, error) {
	var enc []byte
	if p := t.pending; p != nil {
		for _, r := range p.Anchors {
			if r.Hash == h && r.Epoch >= p.AnchorsBelow {
				enc = r.Enc
			}
		}
	}
	if enc == nil {
		var err error
		if enc, err = t.cfg.Store.Anchor(h); errors.Is(err, ErrNotFound) {
			return nil, fmt.Errorf("%w: no state at block %s", ErrPruned, h.Short())
		} else if err != nil {
			return nil, fmt.Errorf("kept anchor at %s: %w", h.Short(), err)
		}
	}
	a, err := DecodeAnchor(enc)
	if err != nil {
		return nil, fmt.Errorf("%w: kept anchor at %s: %w", ErrCorruptStore, h.Short(), err)
	}
	return a, nil
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
		hd, ok := t.recentHeader(p)
		if !ok {
			pb, _, err := t.storedBlock(p)
			if err != nil {
				return nil, fmt.Errorf("anchor header %s: %w", p.Short(), err)
			}
			hd = pb.Header
		}
		out = append(out, hd)
		if p == deepest {
			break
		}
		p = hd.Parent
	}
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	return out, nil
}

// Verify checks the anchor against the trusted checkpoint c of genesis g (PROTOCOL.md §13a): its block is c's
// (hash), of an epoch before c's, well formed and signed by its proposer; its headers are a chain of parents
// ending at the block's parent and reaching the block's floorStubs-th ancestor of an earlier epoch, its newest
// ancestor of epoch 0 when it has fewer, or genesis; its
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
	// A block of epoch 0 has no ancestor of an earlier epoch (genesis is none): the stubs end there.
	if st := a.stubs(g); len(st) < floorStubs && (len(st) == 0 || g.EpochOf(st[len(st)-1].Header.Slot) > 0) {
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

// Install writes the verified anchor a at the trusted checkpoint c to store as its floor (PROTOCOL.md §13a), in
// one write (Store.Finalize): its canonical index entry, the deletion of everything below it, the snapshot
// OpenTree opens from, and the block; a crash leaves the store as it was or with all of it. The floor's finality
// starts at the anchor: c justified and finalized, no vote counted.
func (a *Anchor) Install(store Store, g *Genesis, c Checkpoint) error {
	b := a.Block
	st := a.state(g)
	stubs := a.stubs(g)
	e := g.EpochOf(b.Header.Slot)
	target := Checkpoint{Epoch: e, Hash: g.Hash()}
	if len(stubs) > 0 {
		target.Hash = stubs[0].Header.Hash()
	}
	cur := newTally(target, st.Validators(e), nil)
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
	f := &Finalization{From: b.Header.Height, Canon: []Hash{c.Hash}, PruneBelow: b.Header.Height, Snapshot: buf.Bytes(),
		Blocks: []*Block{b}, Anchors: []AnchorRecord{{Epoch: c.Epoch, Hash: c.Hash, Enc: a.Encode()}}} // one write: a block stored without the snapshot has no parent, a snapshot without its block serves no anchor
	if err := store.Finalize(f); err != nil {
		return fmt.Errorf("write the anchor: %w", err)
	}
	return nil
}
