package chain

import "fmt"

// keepStates is how many heights below the head a Tree keeps post-states in memory.
const keepStates = 512

// stateOf returns the state after block n. A dropped state is rebuilt by replaying the stored blocks
// from the nearest ancestor whose state is kept, and is not kept again.
func (t *Tree) stateOf(n *node) (*State, error) {
	if n.state != nil {
		return n.state, nil
	}
	var path []*node
	m := n
	for ; m.state == nil; m = m.parent {
		path = append(path, m)
	}
	s := m.state.Clone()
	for i := len(path) - 1; i >= 0; i-- {
		b, err := t.cfg.Store.Block(path[i].hash)
		if err != nil {
			return nil, fmt.Errorf("rebuild state at height %d: %w", n.height(), err)
		}
		if err := s.ApplyBlock(b); err != nil {
			return nil, fmt.Errorf("%w: rebuild state at height %d: %w", ErrCorruptStore, n.height(), err)
		}
	}
	if root := s.Root(); root != n.header.StateRoot {
		return nil, fmt.Errorf("%w: rebuilt state of block %s has root %s, header %s",
			ErrCorruptStore, n.hash.Short(), root.Short(), n.header.StateRoot.Short())
	}
	return s, nil
}

// prune drops the states of blocks that fell more than keepStates heights below the head; n is the
// block just added. When n itself is below that window (a side chain growing from an old ancestor),
// it keeps its state, so that its child need not replay, and its parent's is dropped instead.
func (t *Tree) prune(n *node) {
	keep := n.state
	if h := t.head.height(); h > keepStates {
		for ; t.swept < h-keepStates; t.swept++ {
			for _, m := range t.levels[t.swept] {
				m.state = nil
			}
		}
	}
	if n.height() < t.swept {
		n.state = keep
		if n.parent != t.root {
			n.parent.state = nil
		}
	}
}
