package chain

// KeepStates is how many heights below the head a tree keeps every post-state (PROTOCOL.md §7); below that
// window it keeps states only at snapshot heights, multiples of SnapshotEvery or of a larger power of two.
const (
	KeepStates    = keepStates
	SnapshotEvery = snapshotEvery
)

// TreeSizes is what a Tree holds in memory (PROTOCOL.md §13), counted for the simulator's memory invariant and
// for operators: each is bounded by the protocol's parameters and the chain's heights.
type TreeSizes struct {
	// Blocks is how many blocks the tree indexes, genesis excluded: the floor and its descendants.
	Blocks int
	// BelowFloor is how many of Blocks lie below the floor's height: none, once pruning ran.
	BelowFloor int
	// InWindow is how many of Blocks lie within KeepStates heights of the head (their states are all kept).
	InWindow int
	// States is how many post-states the tree keeps: of its blocks and of genesis.
	States int
	// Snapshots is how many states below the window the tree keeps as snapshots.
	Snapshots int
	// Epochs is how many epochs below the floor keep their checkpoint and stake table (at most
	// UnbondingEpochs + 1, and the trusted checkpoint's).
	Epochs int
	// Versions is how many (proposer, slot) pairs above the floor's slot the tree counts blocks of.
	Versions int
	// Unflushed is how many accepted blocks wait for the store (at most MaxUnflushed).
	Unflushed int
	// Orphans is how many stored blocks off the floor's branch wait for deletion.
	Orphans int
}

// Sizes counts what the tree holds in memory (TreeSizes). It walks the tree's index once: O(Blocks). It changes
// nothing.
func (t *Tree) Sizes() TreeSizes {
	s := TreeSizes{Snapshots: len(t.snaps.nodes), Epochs: len(t.old), Versions: len(t.versions),
		Unflushed: len(t.queue.blocks), Orphans: len(t.orphans)}
	head := t.head.height()
	for _, n := range t.nodes {
		if n.state != nil {
			s.States++
		}
		if n == t.root {
			continue
		}
		s.Blocks++
		if n.height() < t.base {
			s.BelowFloor++
		}
		if n.height()+keepStates > head {
			s.InWindow++
		}
	}
	return s
}
