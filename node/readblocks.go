package node

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/posnode/posnode/chain"
	"github.com/posnode/posnode/node/blocksync"
	"github.com/posnode/posnode/node/view"
)

// The block routes read the canonical index (readindex.go) and the store off the event loop; only a block
// accepted and not yet stored is asked of the loop, one lookup.

// Blocks returns the canonical blocks from height from to height to, inclusive (at most blocksync.MaxRangeBlocks); height
// 0 is the genesis. A range past the head is cut at the head. Errors: view.ErrBadInput, the context's.
func (n *Node) Blocks(ctx context.Context, from, to uint64) ([]BlockView, error) {
	bs, _, err := n.BlocksPage(ctx, from, to, math.MaxInt)
	return bs, err
}

// BlocksPage is Blocks with a bound on the answer: it stops before the block that would take the answer past
// maxTxs transactions (records), though it always holds the first block; next is the height to ask for next
// when it stopped so before to and the head, else 0.
func (n *Node) BlocksPage(ctx context.Context, from, to uint64, maxTxs int) (bs []BlockView, next uint64, err error) {
	if to < from || to-from >= blocksync.MaxRangeBlocks {
		return nil, 0, view.Classed(view.ErrBadInput,
			fmt.Errorf("range %d..%d: at most %d blocks, to ≥ from", from, to, blocksync.MaxRangeBlocks))
	}
	snap, err := n.readSnapshot(ctx)
	if err != nil {
		return nil, 0, err
	}
	txs := 0
	for h := from; h <= min(to, uint64(snap.headHeight())); h++ {
		v, err := n.canonicalBlock(ctx, snap, chain.Height(h))
		if err != nil {
			return nil, 0, err
		}
		if txs += len(v.Txs); txs > maxTxs && len(bs) > 0 {
			return bs, h, nil
		}
		bs = append(bs, v)
	}
	return bs, 0, nil
}

// Block returns the canonical block at a height; 0 is the genesis. Errors: ErrNotFound.
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

// canonicalBlock is the snapshot's canonical block at height h ≤ its head, with its finality state.
func (n *Node) canonicalBlock(ctx context.Context, snap *readSnap, h chain.Height) (BlockView, error) {
	if h == 0 {
		return n.genesis, nil
	}
	b, err := n.readBlock(ctx, snap.at(h).hash)
	if err != nil {
		return BlockView{}, err
	}
	v := n.viewBlock(b)
	v.Finality = snap.finality(h)
	return v, withVRFOutput(&v)
}

// readBlock reads block h from the store, or, accepted and not yet stored, from the tree in one loop call.
// Errors: ErrNotFound for a block the node does not hold.
func (n *Node) readBlock(ctx context.Context, h chain.Hash) (*chain.Block, error) {
	b, err := n.store.Block(h)
	if !errors.Is(err, chain.ErrNotFound) {
		return b, err
	}
	if callErr := n.call(ctx, func() { b, err = n.tree.Block(h) }); callErr != nil {
		return nil, callErr
	}
	if errors.Is(err, chain.ErrNotFound) {
		err = fmt.Errorf("%w: no block %s", ErrNotFound, h)
	}
	return b, err
}

// BlockByHash returns the block with hash h, canonical or not (canonical reports which); the genesis hash gives
// the genesis. Errors: ErrNotFound.
func (n *Node) BlockByHash(ctx context.Context, h chain.Hash) (b BlockView, canonical bool, err error) {
	if h == n.chainID {
		return n.genesis, true, nil
	}
	snap, err := n.readSnapshot(ctx)
	if err != nil {
		return BlockView{}, false, err
	}
	blk, err := n.readBlock(ctx, h)
	if err != nil {
		return BlockView{}, false, err
	}
	b = n.viewBlock(blk)
	canonical = snap.canonical(h, blk.Header.Height)
	b.Finality = view.BlockOrphaned
	if canonical {
		b.Finality = snap.finality(blk.Header.Height)
	}
	return b, canonical, withVRFOutput(&b)
}

// FindBlock finds a block by its hash or a prefix of it of at least MinTxPrefix hex digits, canonical or not
// (canonical says which); the genesis hash gives the genesis. A prefix is looked for, off the event loop, among
// the canonical blocks and the orphan log's (the newest maxOrphans blocks off the canonical chain); a whole hash
// finds any block the node holds. Errors: ErrBadHashPrefix, ErrNotFound, view.ErrAmbiguous when the prefix starts
// more than one block's hash.
func (n *Node) FindBlock(ctx context.Context, prefix string) (b BlockView, canonical bool, err error) {
	prefix = strings.ToLower(prefix)
	even, err := hexPrefix(prefix, ErrBadHashPrefix)
	if err != nil {
		return BlockView{}, false, err
	}
	if len(even) == len(chain.Hash{}) {
		return n.BlockByHash(ctx, chain.Hash(even))
	}
	snap, err := n.readSnapshot(ctx)
	if err != nil {
		return BlockView{}, false, err
	}
	switch matches := matching(snap.hashesWith(even), prefix); {
	case len(matches) == 0:
		return BlockView{}, false, fmt.Errorf("%w: no block %s", ErrNotFound, prefix)
	case len(matches) > 1:
		return BlockView{}, false, fmt.Errorf("%w: %d blocks start with %s; give more digits", view.ErrAmbiguous,
			len(matches), prefix)
	default:
		return n.BlockByHash(ctx, matches[0])
	}
}

// hashesWith returns up to maxPrefixMatches hashes of the snapshot's canonical and orphaned blocks that start
// with prefix: a scan of the index, O(height), off the event loop.
func (s *readSnap) hashesWith(prefix []byte) []chain.Hash {
	var out []chain.Hash
	for h := chain.Height(0); h <= s.headHeight() && len(out) < maxPrefixMatches; h++ {
		if e := s.at(h); bytes.HasPrefix(e.hash[:], prefix) {
			out = append(out, e.hash)
		}
	}
	for _, o := range s.orphans {
		if bytes.HasPrefix(o.Hash[:], prefix) && len(out) < maxPrefixMatches {
			out = append(out, o.Hash)
		}
	}
	return out
}

// maxTableSlots bounds the slots of one StakeTables query: a window of blocks of the explorer, with room.
const maxTableSlots = 4 * blocksync.MaxRangeBlocks

// StakeTables returns the stake tables in force on the canonical chain for the epochs of the given slots
// (PROTOCOL.md §6), one per epoch, oldest first: what the lottery drew each of those slots' leaders from. At
// most maxTableSlots slots (view.ErrBadInput beyond). Old epochs' tables are rebuilt off the event loop, once
// (epochTables).
func (n *Node) StakeTables(ctx context.Context, slots []uint64) ([]view.EpochTable, error) {
	if len(slots) > maxTableSlots {
		return nil, view.Classed(view.ErrBadInput, fmt.Errorf("%d slots: at most %d", len(slots), maxTableSlots))
	}
	g := n.cfg.Genesis
	var epochs []chain.Epoch
	for _, s := range slots {
		epochs = append(epochs, g.EpochOf(chain.Slot(s)))
	}
	slices.Sort(epochs)
	epochs = slices.Compact(epochs)
	snap, err := n.readSnapshot(ctx)
	if err != nil {
		return nil, err
	}
	tables, err := n.epochTables(ctx, snap, epochs, nil)
	if err != nil {
		return nil, err
	}
	out := make([]view.EpochTable, 0, len(epochs))
	for _, e := range epochs {
		first := uint64(e) * g.EpochLength
		out = append(out, view.EpochTable{Epoch: uint64(e), FirstSlot: first, LastSlot: first + g.EpochLength - 1,
			Validators: validatorViews(tables[e])})
	}
	return out, nil
}
