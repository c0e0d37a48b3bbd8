package chain

import (
	"fmt"
	"slices"
)

// What the node asks of the tree about finality (PROTOCOL.md §8a, §8b): the head branch's checkpoints and
// stake tables, to vote; which blocks are final, to tell users; what evidence did, to show it.

// Finality returns the justified and finalized checkpoints of the head's branch (PROTOCOL.md §8a).
func (t *Tree) Finality() (justified, finalized Checkpoint) {
	return t.head.fin.Justified, t.head.fin.Finalized
}

// FinalityOf returns the justified and finalized checkpoints of the branch that ends at block h; ok is false
// for a block not in the tree.
func (t *Tree) FinalityOf(h Hash) (justified, finalized Checkpoint, ok bool) {
	n, ok := t.nodes[h]
	if !ok {
		return Checkpoint{}, Checkpoint{}, false
	}
	return n.fin.Justified, n.fin.Finalized, true
}

// HoldsVote reports whether the head's branch holds a vote of a for target (PROTOCOL.md §8a); false also for a
// target outside the branch's newest two epochs.
func (t *Tree) HoldsVote(target Checkpoint, a Address) bool { return t.head.fin.Holds(target, a) }

// Checkpoint returns the checkpoint of epoch e on the head's branch (PROTOCOL.md §8a): the newest block of the
// branch whose slot is before e's first slot, or genesis for epoch 0. For an epoch after the head's, that is the
// head itself, and stays so unless a block of an earlier slot than e's first extends the branch.
// Below the floor it is the one the tree recorded, within UnbondingEpochs of the floor; for an older epoch the
// hash is zero (PROTOCOL.md §13).
func (t *Tree) Checkpoint(e Epoch) Checkpoint {
	if n := t.checkpointNode(e); n != nil {
		return Checkpoint{Epoch: e, Hash: n.hash}
	}
	return Checkpoint{Epoch: e, Hash: t.old[e].ckpt}
}

// checkpointNode returns the block of the head's branch that is epoch e's checkpoint; lastBefore skips a
// whole epoch per step (it is nil in epoch 0, whose only earlier block is genesis). It is nil for a checkpoint
// below the floor.
func (t *Tree) checkpointNode(e Epoch) *node { return t.checkpointOf(t.head, e) }

// StakeTable returns the stake table of epoch e on the head's branch (PROTOCOL.md §6): the one the votes for
// epoch e's checkpoint are counted against (§8a), read from the checkpoint block's state. It fails with
// ErrCorruptStore if that state cannot be rebuilt from the store. Below the floor it is the table the tree
// recorded, within UnbondingEpochs of the floor (§8b), or ErrPruned for an older epoch (§13). The slice is the
// caller's.
func (t *Tree) StakeTable(e Epoch) ([]Stake, error) {
	n := t.checkpointNode(e)
	if n == nil {
		o, ok := t.old[e]
		if !ok {
			return nil, fmt.Errorf("%w: stake table of epoch %d", ErrPruned, e)
		}
		return slices.Clone(o.table), nil
	}
	st, err := t.stateOf(n)
	if err != nil {
		return nil, err
	}
	return st.Validators(e), nil
}

// InStakeTable reports whether a is in StakeTable(e), without copying the table (a vote's admission asks it of
// every vote). It fails as StakeTable does.
func (t *Tree) InStakeTable(e Epoch, a Address) (bool, error) {
	st, err := t.stateOf(t.checkpointNode(e))
	if err != nil {
		return false, err
	}
	return st.IsValidator(e, a), nil
}

// IsFinal reports whether block h is on the canonical chain at or below the finalized checkpoint of the head's
// branch: no block the tree accepts can revert it (ErrConflictsFinalized, PROTOCOL.md §8). Genesis is final.
func (t *Tree) IsFinal(h Hash) bool {
	n, ok := t.nodes[h]
	if !ok {
		return t.belowFloor(h)
	}
	if n == t.root || n == t.floor {
		return true
	}
	if !t.isCanonical(n) {
		return false
	}
	fin, ok := t.nodes[t.head.fin.Finalized.Hash]
	return ok && n.height() <= fin.height()
}

// FinalizedState returns the state after the finalized checkpoint block of the head's branch (PROTOCOL.md §8a),
// and that block's height: what no block the tree accepts can change. It belongs to the tree: callers must not
// modify it. It fails with ErrCorruptStore if the state must be rebuilt and cannot be.
func (t *Tree) FinalizedState() (*State, Height, error) {
	n, ok := t.nodes[t.head.fin.Finalized.Hash]
	if !ok || n.height() < t.base {
		n = t.floor
	}
	s, err := t.stateOf(n)
	return s, n.height(), err
}

// Slashings returns what each piece of evidence of block h did to the ledger (PROTOCOL.md §8b), in the order of
// the block's evidence section: the block applied again to a copy of its parent's state. It fails with
// ErrNotFound for a block not in the tree, and with ErrCorruptStore if a state cannot be rebuilt.
func (t *Tree) Slashings(h Hash) ([]Slashing, error) {
	n, ok := t.nodes[h]
	if !ok || n == t.root {
		if t.belowFloor(h) {
			return nil, fmt.Errorf("%w: slashings of block %s below the floor", ErrPruned, h.Short())
		}
		return nil, fmt.Errorf("%w: block %s", ErrNotFound, h.Short())
	}
	if n == t.floor {
		return nil, fmt.Errorf("%w: slashings of the floor block %s", ErrPruned, h.Short())
	}
	b, err := t.load(h)
	if err != nil {
		return nil, err
	}
	if len(b.Evidence) == 0 {
		return nil, nil
	}
	ps, err := t.stateOf(n.parent)
	if err != nil {
		return nil, err
	}
	var out []Slashing
	if err := ps.Clone().applyBlock(b, nil, &out); err != nil {
		return nil, fmt.Errorf("%w: reapply block %s: %w", ErrCorruptStore, h.Short(), err)
	}
	return out, nil
}
