package chain

import (
	"fmt"
	"slices"
)

// Which post-states a Tree keeps (PROTOCOL.md §7): every state within keepStates heights of the head, and
// below that window the states at snapshot heights (multiples of the snapshot spacing) and genesis. Any
// other state is rebuilt from the nearest kept ancestor, so a rebuild replays fewer blocks than the spacing.
const (
	// keepStates is how many heights below the head a Tree keeps every post-state in memory.
	keepStates = 512
	// snapshotEvery is the initial spacing of the states kept below the window, in heights.
	snapshotEvery = 64
	// defaultSnapshotBudget bounds the account entries of the snapshot states below the window (each entry costs
	// about 100 bytes: some 50 MB). Past it the spacing doubles and every other snapshot is dropped, so memory
	// stays bounded while replays grow only with the number of accounts times the chain's length.
	defaultSnapshotBudget = 1 << 19
)

// snapshots are the states a Tree keeps below its window of recent states.
type snapshots struct {
	every   Height  // spacing: a state below the window is kept when its height is a multiple of every
	budget  int     // bound on entries
	entries int     // account entries held by the states of nodes
	nodes   []*node // the blocks below the window whose states are kept as snapshots
}

// isSnapshot reports whether n's state is kept below the window; genesis is always one.
func (c *snapshots) isSnapshot(n *node) bool { return n.height()%c.every == 0 }

// keep records that n, below the window, keeps its state as a snapshot, and thins the snapshots while
// they are over budget.
func (c *snapshots) keep(n *node) {
	c.nodes = append(c.nodes, n)
	c.entries += n.state.Accounts()
	for c.entries > c.budget && len(c.nodes) > 1 {
		c.thin()
	}
}

// thin doubles the spacing and drops the states that no longer fall on it.
func (c *snapshots) thin() {
	c.every *= 2
	kept := c.nodes[:0]
	c.entries = 0
	for _, n := range c.nodes {
		if !c.isSnapshot(n) {
			n.state = nil
			continue
		}
		kept = append(kept, n)
		c.entries += n.state.Accounts()
	}
	clear(c.nodes[len(kept):])
	c.nodes = kept
}

// Replayed returns how many blocks the tree has replayed to rebuild dropped states since it was opened
// (PROTOCOL.md §7), not counting the replay of the store when it opened.
func (t *Tree) Replayed() uint64 { return t.replayed }

// stateOf returns the state after block n. A dropped state is rebuilt by replaying the stored blocks
// from the nearest ancestor whose state is kept, and is not kept again.
func (t *Tree) stateOf(n *node) (*State, error) { return t.stateFrom(n, nil, nil) }

// stateFrom is stateOf that may start the replay at base, an ancestor of n whose state is baseState (nil: none),
// when base is nearer to n than every ancestor whose state is kept: a walk over consecutive blocks' states
// replays each block once instead of once per state asked for.
func (t *Tree) stateFrom(n, base *node, baseState *State) (*State, error) {
	if n.state != nil {
		return n.state, nil
	}
	var path []*node
	m := n
	for ; m.state == nil && (m != base || baseState == nil); m = m.parent {
		path = append(path, m)
	}
	from := m.state
	if m.state == nil {
		from = baseState
	}
	s := from.Clone()
	for i := len(path) - 1; i >= 0; i-- {
		b, err := t.load(path[i].hash)
		if err != nil {
			return nil, fmt.Errorf("rebuild state at height %d: %w", n.height(), err)
		}
		if err := s.ApplyBlock(b); err != nil {
			return nil, fmt.Errorf("%w: rebuild state at height %d: %w", ErrCorruptStore, n.height(), err)
		}
		t.replayed++
	}
	if root := s.Root(); root != n.header.StateRoot {
		return nil, fmt.Errorf("%w: rebuilt state of block %s has root %s, header %s",
			ErrCorruptStore, n.hash.Short(), root.Short(), n.header.StateRoot.Short())
	}
	return s, nil
}

// load reads block h back from the store and checks that its transactions are those its header commits to
// (tx_root, PROTOCOL.md §7), so that a block damaged on disk is never replayed, reverted or served to a peer. A
// block accepted and not yet stored comes from memory, as validated.
func (t *Tree) load(h Hash) (*Block, error) {
	b, queued, err := t.storedBlock(h)
	if err != nil || queued {
		return b, err
	}
	if root := TxRoot(b.Txs); root != b.Header.TxRoot {
		return nil, fmt.Errorf("%w: block %s: %w: header has %s, stored transactions give %s",
			ErrCorruptStore, h.Short(), ErrBadTxRoot, b.Header.TxRoot.Short(), root.Short())
	}
	return b, nil
}

// prune drops the states of blocks that fell more than keepStates heights below the head, except at
// snapshots; n is the block just added. When n itself is below that window (a side chain growing from an
// old ancestor), it keeps its state, so that its child need not replay, and its parent's is dropped instead
// unless it is a snapshot.
func (t *Tree) prune(n *node) {
	keep, unswept := n.state, n.height() < t.swept // unswept: below the window, so sweep never saw n
	if h := t.head.height(); h > keepStates {
		for ; t.swept < h-keepStates; t.swept++ {
			for _, m := range t.levels[t.swept-t.base] {
				t.sweep(m)
			}
		}
	}
	if n.height() >= t.swept || keep == nil {
		return
	}
	n.state = keep
	if unswept && t.snaps.isSnapshot(n) {
		t.snaps.keep(n)
	}
	if p := n.parent; p != nil && p != t.root && p != t.floor && p.state != nil && !t.snaps.isSnapshot(p) {
		p.state = nil
	}
}

// sweep drops m's state as m leaves the window, unless m is a snapshot.
func (t *Tree) sweep(m *node) {
	switch {
	case m.state == nil, m == t.floor:
	case t.snaps.isSnapshot(m):
		t.snaps.keep(m)
	default:
		m.state = nil
	}
}

// precheck runs the checks that need no state of the parent, cheapest first, so that a block on a parent whose
// state was dropped costs a replay only when it could be valid (PROTOCOL.md §7): the link to the parent, the
// clock, that the proposer could be in any stake table of the parent at all, and the block signature. A parent
// that does not descend from the finalized checkpoint is rejected before, by admit.
func (t *Tree) precheck(parent *node, b *Block, maxSlot Slot) error {
	if err := checkLink(parent, b); err != nil {
		return err
	}
	if b.Header.Slot > maxSlot {
		return fmt.Errorf("%w: slot %d, now %d", ErrFutureSlot, b.Header.Slot, maxSlot)
	}
	if !t.mayPropose(parent, b.Header.Proposer) {
		return fmt.Errorf("%w: %s has no stake on the branch of parent %s at height %d",
			ErrWrongProposer, b.Header.Proposer.Short(), parent.hash.Short(), parent.height())
	}
	return b.Verify(t.chainID)
}

// mayPropose reports whether a could be in a stake table of a child of parent, without rebuilding parent's
// state. Let A be the nearest ancestor of parent whose state is kept. Each stake table of parent is a table of
// A or the live stakes of a state between A and parent (§6), and an address joins the live stakes only if it
// already had them at A or sends a stake transaction after A. So a is possible only if it is in A's tables,
// has at least MinStake at A, or sent a stake transaction in a block between A and parent.
func (t *Tree) mayPropose(parent *node, a Address) bool {
	m := parent
	for ; m.state == nil; m = m.parent {
		if slices.Contains(m.stakers, a) {
			return true
		}
	}
	return m.state.mayStake(a)
}

// stakersOf returns the senders of b's stake transactions, or nil when it has none.
func stakersOf(b *Block) []Address {
	var out []Address
	for i := range b.Txs {
		if tx := &b.Txs[i]; tx.Kind == TxStake && !slices.Contains(out, tx.From) {
			out = append(out, tx.From)
		}
	}
	return out
}
