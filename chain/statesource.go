package chain

import "fmt"

// StateSource is what rebuilding the state after one block takes, captured on the tree's goroutine so that the
// replay itself (Tree.stateOf's, PROTOCOL.md §7) can run on another: the nearest ancestor's kept state, which the
// tree never modifies, and the blocks to apply on top of it, read from the store (safe for concurrent use) or
// held as queued (accepted, not yet stored; never modified either).
type StateSource struct {
	base   *State
	path   []Hash          // the blocks to apply, oldest first
	queued map[Hash]*Block // blocks of path not yet stored
	root   Hash            // the state root the block's header commits to
	height Height          // the block's height, for errors
	store  Store
}

// StateSourceOf captures what rebuilding the state after block h takes: O(blocks to replay), no replay and no
// store read. It fails with ErrNotFound for a block not in the tree. Run the result anywhere.
func (t *Tree) StateSourceOf(h Hash) (StateSource, error) {
	n, ok := t.nodes[h]
	if !ok {
		return StateSource{}, fmt.Errorf("%w: block %s", ErrNotFound, h.Short())
	}
	src := StateSource{root: n.header.StateRoot, height: n.height(), store: t.cfg.Store}
	m := n
	for ; m.state == nil; m = m.parent {
		src.path = append(src.path, m.hash)
		if b, ok := t.queue.byHash[m.hash]; ok {
			if src.queued == nil {
				src.queued = map[Hash]*Block{}
			}
			src.queued[m.hash] = b
		}
	}
	src.base = m.state
	for i, j := 0, len(src.path)-1; i < j; i, j = i+1, j-1 {
		src.path[i], src.path[j] = src.path[j], src.path[i]
	}
	return src, nil
}

// Replays is how many blocks Run applies.
func (s StateSource) Replays() int { return len(s.path) }

// Run returns the state after the block: the kept state itself when nothing is to replay (the caller must not
// modify it), else a new one rebuilt from the stored blocks. It is safe to call from any goroutine. It fails with
// ErrCorruptStore when a stored block does not decode, does not match its header, does not apply, or the rebuilt
// state's root is not the header's.
func (s StateSource) Run() (*State, error) {
	if len(s.path) == 0 {
		return s.base, nil
	}
	st := s.base.Clone()
	for _, h := range s.path {
		b, err := s.block(h)
		if err != nil {
			return nil, fmt.Errorf("rebuild state at height %d: %w", s.height, err)
		}
		if err := st.ApplyBlock(b); err != nil {
			return nil, fmt.Errorf("%w: rebuild state at height %d: %w", ErrCorruptStore, s.height, err)
		}
	}
	if root := st.Root(); root != s.root {
		return nil, fmt.Errorf("%w: rebuilt state at height %d has root %s, header %s", ErrCorruptStore, s.height,
			root.Short(), s.root.Short())
	}
	return st, nil
}

// block reads block h as Tree.load does: queued from memory, stored with its transactions checked against the
// header's tx_root (PROTOCOL.md §7).
func (s StateSource) block(h Hash) (*Block, error) {
	if b, ok := s.queued[h]; ok {
		return b, nil
	}
	b, err := s.store.Block(h)
	if err != nil {
		return nil, err
	}
	if root := TxRoot(b.Txs); root != b.Header.TxRoot {
		return nil, fmt.Errorf("%w: block %s: %w", ErrCorruptStore, h.Short(), ErrBadTxRoot)
	}
	return b, nil
}
