package simnet

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"time"

	"github.com/posnode/posnode/chain"
	"github.com/posnode/posnode/node"
	"github.com/posnode/posnode/node/votepool"
)

// The memory invariant (issue 20: memory per node stays bounded): at every epoch start, everything an honest
// process that is up holds in memory — its block tree, vote pool, pending-transaction log, mempool, caches and
// per-peer maps (node.Sizes) — is within a bound made of the protocol's parameters and the run's state, the
// formulas of docs/SIMULATION.md. Growth with every block for ever breaks one of them within a few epochs of
// finality.

// memoryBound is the most transactions an honest process's mempool may hold: what the clients acknowledged in
// the run (each waits until a block holds it), plus the small place of transactions behind a nonce gap.
func (s *Sim) memoryBound() int {
	return s.stats.Acked + 1024 + gapBatch
}

// passedBound is the most entries of a pending-transaction log that its finalized state has passed, once the
// log was checked against it (PROTOCOL.md §11): fewer than the slack. A disk that fills up or fails may refuse the
// rewrite, so runs with disk faults have no bound.
func (s *Sim) passedBound() int {
	if s.cfg.Faults.DiskFullEvery > 0 || s.cfg.Faults.DiskFailEvery > 0 {
		return math.MaxInt
	}
	return cmp.Or(s.cfg.PendingSlack, node.DefaultPendingSlack) - 1
}

// memLimit is one figure of node.Sizes with its bound and the formula that makes it.
type memLimit struct {
	what    string
	held    int
	bound   int
	formula string
}

// checkMemory checks every live honest process's sizes against memLimits.
func (s *Sim) checkMemory() {
	for _, p := range s.procs {
		if !p.up || s.isByzantine(p.id) {
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		sz, err := p.node.Sizes(ctx)
		cancel()
		if err != nil {
			continue
		}
		for _, l := range s.memLimits(p, sz) {
			if l.held > l.bound {
				s.violate("memory: process %d holds %d %s, more than %d (%s)", p.id, l.held, l.what, l.bound, l.formula)
			}
		}
	}
}

// memLimits returns the bounds of what p holds (docs/SIMULATION.md, PROTOCOL.md §8b, §11, §13): slot is the
// current slot, floor the height and slot of p's floor, v the validators, n the processes.
func (s *Sim) memLimits(p *process, sz node.Sizes) []memLimit {
	t := p.node.Chain()
	slot := uint64(s.sched.now / s.cfg.Slot)
	epoch := slot / s.cfg.Epoch
	floor, _, _, _ := t.Retention()
	var floorSlot uint64
	if h, _, ok := t.CanonicalHeader(floor); ok && floor > 0 {
		floorSlot = uint64(h.Slot)
	}
	head := uint64(t.Head().Height)
	v, n := s.cfg.Validators, s.cfg.Nodes
	since := int(slot + 1 - min(slot+1, floorSlot)) // slots from the floor's to the next one
	window := int(min(epoch+1, chain.UnbondingEpochs) + 2)
	floorEpoch := int(floorSlot / s.cfg.Epoch)
	tr := sz.Tree
	return []memLimit{
		{"tree blocks below the floor's height", tr.BelowFloor, 0, "none"},
		{"tree blocks", tr.Blocks, since*v*chain.MaxVersionsPerSlot + 1,
			fmt.Sprintf("(slot %d + 1 - floor slot %d) x %d validators x %d versions + 1", slot, floorSlot, v, chain.MaxVersionsPerSlot)},
		{"tree states", tr.States, tr.InWindow + int(head-min(head, uint64(floor)))/chain.SnapshotEvery + 3,
			fmt.Sprintf("%d blocks within %d heights of the head + (head %d - floor %d)/%d + 3", tr.InWindow,
				chain.KeepStates, head, floor, chain.SnapshotEvery)},
		{"tree epochs below the floor", tr.Epochs, min(floorEpoch, chain.UnbondingEpochs) + 2,
			fmt.Sprintf("min(floor epoch %d, %d) + 2", floorEpoch, chain.UnbondingEpochs)},
		{"tree version counts", tr.Versions, since * v, fmt.Sprintf("(slot %d + 1 - floor slot %d) x %d validators", slot, floorSlot, v)},
		{"unflushed blocks", tr.Unflushed, chain.MaxUnflushed, "MaxUnflushed"},
		{"pool votes", sz.Votes, v * window, fmt.Sprintf("%d validators x %d target epochs in the window", v, window)},
		{"pool first headers", sz.Headers, v * window * int(s.cfg.Epoch),
			fmt.Sprintf("%d validators x %d epochs x %d slots", v, window, s.cfg.Epoch)},
		{"pending evidence", sz.Evidence, min(v, votepool.MaxEvidence), "one per validator"},
		{"included evidence", sz.Included, votepool.MaxIncluded, "votepool.MaxIncluded"},
		{"pending-log entries", sz.PendingLog + sz.Held, s.stats.Records, "records submitted in the run"},
		{"pending-log entries its finalized state has passed", sz.PendingPassed, s.passedBound(),
			"the pending slack - 1, once the log was checked against the finalized checkpoint"},
		{"transactions in its mempool", sz.Mempool, s.memoryBound(), fmt.Sprintf("%d acknowledged + 1024 + %d", s.stats.Acked, gapBatch)},
		{"read-index heights", sz.ReadHeights, int(slot) + 2, fmt.Sprintf("slot %d + 2", slot)},
		{"cached stake tables", sz.ReadTables, node.MaxReadTables, "MaxReadTables"},
		{"orphans for the slot grid", sz.Orphans, node.MaxOrphansKept, "MaxOrphansKept"},
		{"sync entries per peer", sz.SyncPeers, 2 * n, fmt.Sprintf("2 x %d processes", n)},
		{"clock samples of peers", sz.ClockPeers, n, fmt.Sprintf("%d processes", n)},
		{"clock samples of proposers", sz.ClockProposers, v, fmt.Sprintf("%d validators", v)},
	}
}
