package node

import (
	"context"

	"github.com/posnode/posnode/chain"
)

// Bounds of the node's own caches, for the simulator's memory invariant (docs/SIMULATION.md).
const (
	// MaxOrphansKept is how many blocks off the canonical chain the node remembers for the slot grid.
	MaxOrphansKept = maxOrphans
	// MaxReadTables is how many old epochs' stake tables the read routes cache.
	MaxReadTables = maxCachedTables
	// DefaultPendingSlack is how many entries the finalized state has passed the pending-transaction log keeps
	// before it rewrites itself without them, unless Config.PendingSlack says otherwise (PROTOCOL.md §11).
	DefaultPendingSlack = pendingSlack
)

// Sizes is what a node holds in memory that could grow with the chain or with its peers: the block tree's parts
// (chain.TreeSizes, PROTOCOL.md §13), the vote pool's (§8b), the pending-transaction log's (§11), the mempool's
// (§3) and the node's own caches and per-peer maps. Each is a count of entries, not of bytes.
type Sizes struct {
	Tree chain.TreeSizes
	// Mempool is how many transactions the mempool holds.
	Mempool int
	// Votes, Headers and Evidence are the vote pool's checkpoint votes, first signed headers per proposer and
	// slot, and pending evidence; Included is the included evidence it remembers (at most votepool.MaxIncluded).
	Votes, Headers, Evidence, Included int
	// PendingLog is how many entries the pending-transaction log holds; Held how many admitted transactions
	// wait to be durable in it.
	PendingLog, Held int
	// PendingPassed is how many of the log's entries the finalized state has passed, once the log was checked
	// against the current finalized checkpoint (compactPending): fewer than the slack (Config.PendingSlack or
	// DefaultPendingSlack) unless the rewrite failed. -1 while that check has not run.
	PendingPassed int
	// ReadHeights is how many canonical heights the read routes' index holds (genesis included); ReadTables how
	// many stake tables their cache holds (at most MaxReadTables).
	ReadHeights, ReadTables int
	// Orphans is how many blocks off the canonical chain the slot grid remembers (at most MaxOrphansKept).
	Orphans int
	// SyncPeers is how many entries the sync client keeps per peer (last sync, and conflicting branch); ClockPeers and
	// ClockProposers how many peers and proposers the clock watch keeps a sample of.
	SyncPeers, ClockPeers, ClockProposers int
}

// Sizes counts what the node holds in memory (Sizes), on the event loop. It changes nothing, draws no random
// number and schedules nothing. Errors: ErrStopped, or the context's.
func (n *Node) Sizes(ctx context.Context) (Sizes, error) {
	var s Sizes
	err := n.call(ctx, func() {
		s.Tree = n.tree.Sizes()
		s.Mempool = n.pool.Len()
		p := n.ffg.Pool()
		s.Votes, s.Headers, s.Evidence = p.Size()
		s.Included = len(p.Included())
		s.PendingLog, s.Held = n.pendingLog.Len(), len(n.held)
		s.PendingPassed = n.pendingPassed()
		if snap := n.reads.snap.Load(); snap != nil {
			s.ReadHeights = snap.n
		}
		n.tables.mu.Lock()
		s.ReadTables = len(n.tables.tables)
		n.tables.mu.Unlock()
		s.Orphans = len(n.orphans.blocks)
		s.SyncPeers = len(n.syncs.last) + len(n.syncs.conflicting)
		s.ClockPeers, s.ClockProposers = len(n.clock.peers), len(n.clock.blocks)
	})
	return s, err
}

// pendingPassed counts the log's entries that the finalized state has passed, once compactPending has checked the
// log against the current finalized checkpoint; else -1. Called on the event loop.
func (n *Node) pendingPassed() int {
	if _, fin := n.tree.Finality(); fin != n.pending.checked || n.pending.busy {
		return -1
	}
	final, _, err := n.tree.FinalizedState()
	if err != nil {
		return -1
	}
	passed, count := passedBy(final), 0
	n.pendingLog.Each(func(tx *chain.Tx) {
		if passed(tx) {
			count++
		}
	})
	return count
}
