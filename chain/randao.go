package chain

import "fmt"

// SeedSource returns the 32 bytes that seed the lottery of slot on top of the block parent (PROTOCOL.md §6):
//
//   - parent-hash: the parent's hash;
//   - randao: the mix of the newest block of parent's chain that lies in an epoch before epoch(slot) − 1,
//     that is the mix at the end of epoch(slot) − 2; the genesis mix for epochs 0 and 1.
//
// Under randao every slot of an epoch has its seed fixed a whole epoch ahead, like the stake table (§6), so a
// proposer's only lever is to withhold the last blocks before an epoch boundary. It fails with ErrNotFound for
// a parent not in the tree.
func (t *Tree) SeedSource(parent Hash, slot Slot) (Hash, error) {
	n, ok := t.nodes[parent]
	if !ok {
		return Hash{}, fmt.Errorf("%w: parent %s", ErrNotFound, parent.Short())
	}
	return t.seedSource(n, slot), nil
}

func (t *Tree) seedSource(parent *node, slot Slot) Hash {
	g := t.cfg.Genesis
	if g.Rule() == SeedParentHash {
		return parent.hash
	}
	e := g.EpochOf(slot)
	if e < 2 {
		return t.root.mix
	}
	n := parent
	for n != nil && g.EpochOf(n.header.Slot) >= e-1 {
		n = n.lastBefore
	}
	if n == nil {
		return t.root.mix
	}
	return n.mix
}

// leaderOn returns the lottery winner of slot on top of parent, whose post-state is ps (PROTOCOL.md §6): the
// stake table of slot's epoch in ps, seeded by seedSource.
func (t *Tree) leaderOn(parent *node, ps *State, slot Slot) (Address, bool) {
	return electShared(t.cfg.Elect, ps, t.cfg.Genesis.EpochOf(slot), t.seedSource(parent, slot), slot)
}

// LeaderOn returns the lottery winner of slot on top of the block parent (PROTOCOL.md §6); ok is false when
// nobody has stake. It fails with ErrNotFound for a parent not in the tree, or with the error of rebuilding
// an old parent's state.
func (t *Tree) LeaderOn(parent Hash, slot Slot) (leader Address, ok bool, err error) {
	n, found := t.nodes[parent]
	if !found {
		return Address{}, false, fmt.Errorf("%w: parent %s", ErrNotFound, parent.Short())
	}
	ps, err := t.stateOf(n)
	if err != nil {
		return Address{}, false, err
	}
	leader, ok = t.leaderOn(n, ps, slot)
	return leader, ok, nil
}
