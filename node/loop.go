package node

import (
	"context"
	"encoding/binary"
	"errors"
	"time"

	"go.uber.org/zap"

	"github.com/posnode/posnode/chain"
	"github.com/posnode/posnode/consensus"
	"github.com/posnode/posnode/node/signgate"
)

const (
	// maxClockSkew is how far ahead of the local clock a block's slot may start (PROTOCOL.md §7).
	maxClockSkew = 500 * time.Millisecond
	// syncGrace is how long a node without any peer waits before it proposes on its own chain.
	syncGrace = 3 * time.Second
	// pollEvery is how often the node asks its peers for their heads, to fill whatever gossip lost.
	pollEvery = 3 * time.Second
	// regossipEvery is how often the node publishes pending transactions again, at most regossipMax: one
	// gossip message (regossip.go).
	regossipEvery = 10 * time.Second
	regossipMax   = chain.MaxTxBatch
)

// loop is production's event loop: the only goroutine that touches loopState. It runs what the Runtime queued —
// timers, the network's callbacks, calls from the API and the gossip validators — one at a time.
func (n *Node) loop(ctx context.Context, rt *loopRuntime) {
	for {
		select {
		case <-ctx.Done():
			n.stopTimers()
			n.flush("shutdown")
			n.finishEvidence()
			return
		case f := <-rt.calls:
			f()
		case f := <-rt.posts:
			f()
		}
	}
}

// loopTimers are the loop's periodic duties, each re-armed when it runs.
type loopTimers struct {
	slot, vote, poll, regossip *Timer
}

// armTimers starts the loop's periodic duties; called on the loop once, by Start.
func (n *Node) armTimers() {
	t := &n.timers
	t.slot = n.after(n.untilNextSlot(), n.slotTick)
	t.vote = n.after(n.untilVoteTime(), n.voteTick)
	t.poll = n.after(pollEvery, n.pollTick)
	t.regossip = n.after(regossipEvery, n.regossipTick)
}

// stopTimers stops every timer of the loop: nothing more runs on its own.
func (n *Node) stopTimers() {
	for _, t := range []*Timer{n.timers.slot, n.timers.vote, n.timers.poll, n.timers.regossip, n.flushing.timer,
		n.regossip.timer, n.txOut.timer, n.syncs.wake, n.fill.wait} {
		t.Stop()
	}
}

func (n *Node) slotTick() {
	n.onSlot(n.currentSlot())
	n.timers.slot = n.after(n.untilNextSlot(), n.slotTick)
}

func (n *Node) voteTick() {
	n.voteDuty(n.currentSlot())
	n.timers.vote = n.after(n.untilVoteTime(), n.voteTick)
}

func (n *Node) pollTick() {
	n.pollPeers()
	n.backfill()
	n.timers.poll = n.after(pollEvery, n.pollTick)
}

func (n *Node) regossipTick() {
	n.pool.Revalidate(n.tree.HeadState()) // expiry
	n.metrics.mempool.Set(float64(n.pool.Len()))
	n.regossipRound()
	n.timers.regossip = n.after(regossipEvery, n.regossipTick)
}

// onPeer runs when a peer connected: sync compares heads with it, and the pending transactions go out to it.
func (n *Node) onPeer(id string) {
	n.log.Debug("peer connected", zap.String("peer", id))
	n.requestSync(id)
	n.peerConnected()
}

// afterEvent runs after every event of the loop.
func (n *Node) afterEvent() {
	n.scheduleFlush()
	n.keepEvidence()
}

func (n *Node) currentSlot() chain.Slot {
	g := n.cfg.Genesis
	return consensus.SlotAt(g.Time, time.Duration(g.SlotDuration), n.cfg.Now())
}

// maxSlot is the latest slot a block may carry now (PROTOCOL.md §7).
func (n *Node) maxSlot() chain.Slot {
	g := n.cfg.Genesis
	return consensus.SlotAt(g.Time, time.Duration(g.SlotDuration), n.cfg.Now().Add(maxClockSkew))
}

// timely reports whether a block of slot s that arrived at local time arrived came within the first half of its
// slot (consensus.Timely, PROTOCOL.md §8).
func (n *Node) timely(s chain.Slot, arrived time.Time) bool {
	g := n.cfg.Genesis
	return consensus.Timely(g.Time, time.Duration(g.SlotDuration), s, arrived)
}

func (n *Node) untilNextSlot() time.Duration {
	g := n.cfg.Genesis
	next := consensus.SlotStart(g.Time, time.Duration(g.SlotDuration), n.currentSlot()+1)
	return max(next.Sub(n.cfg.Now()), time.Millisecond)
}

// untilVoteTime is the time until the middle of the current slot, or of the next one when that has passed: when
// voteDuty runs (PROTOCOL.md §8a).
func (n *Node) untilVoteTime() time.Duration {
	half := time.Duration(n.cfg.Genesis.SlotDuration) / 2
	d := n.untilNextSlot()
	if d > half {
		return d - half
	}
	return d + half
}

// onSlot proposes a block when this node won slot s and is caught up.
func (n *Node) onSlot(s chain.Slot) {
	n.metrics.slot.Set(float64(s))
	n.checkClock()
	if s == 0 {
		return
	}
	if !n.synced && !n.syncing && !n.cpWanted && n.cfg.Now().Sub(n.startedAt) > syncGrace && len(n.net.Peers()) == 0 {
		n.log.Info("no peers; proposing on the local chain")
		n.synced = true
	}
	n.refreshSigning()
	n.ffgSlot(s)
	leader, ok := n.tree.Leader(s)
	if !ok || leader != n.self {
		return
	}
	if !n.maySign(signgate.Block, s) || s <= n.lastSigned {
		n.metrics.slotsMissed.Inc()
		return
	}
	if err := n.propose(s); err != nil {
		n.missed(s, err)
	}
}

// busySyncing reports whether a running sync is making progress: it started, or imported a block, within the
// last slot. A sync that stalls (a peer that claims a head and is slow to deliver it) does not keep the node from
// proposing on what it has (PROTOCOL.md §10).
func (n *Node) busySyncing() bool {
	return n.syncing && n.cfg.Now().Sub(n.syncActive) < time.Duration(n.cfg.Genesis.SlotDuration)
}

// importBlock validates and accepts a block from a peer, moving the head if fork choice says so; it reaches
// chain.db with the next flush (flush.go).
func (n *Node) importBlock(b *chain.Block) error { return n.importArrived(b, n.cfg.Now()) }

// importArrived is importBlock for a block that arrived at local time arrived, which fork choice weighs
// (consensus.Timely, PROTOCOL.md §8).
func (n *Node) importArrived(b *chain.Block, arrived time.Time) error {
	change, err := n.tree.InsertTimely(b, n.maxSlot(), n.timely(b.Header.Slot, arrived))
	if err != nil {
		return err
	}
	n.observe(b, false)
	n.applyChange(change)
	return nil
}

func (n *Node) observe(b *chain.Block, local bool) {
	n.watchHeader(b)
	if !local {
		n.checkOwnKey(b)
	}
	n.noteOrphan(b)
	if n.cfg.OnBlock != nil {
		n.cfg.OnBlock(b, local)
	}
}

// applyChange brings the mempool, metrics and prompt up to date after the head moved. Transactions of blocks that
// left the canonical chain go back to the pool unless the new chain already holds them (PROTOCOL.md §8), and into
// the pending-transaction log (§11).
func (n *Node) applyChange(c chain.Change) {
	if len(c.Applied) == 0 && len(c.Reverted) == 0 {
		return
	}
	if n.cfg.OnHead != nil {
		n.cfg.OnHead(c)
	}
	for _, b := range c.Reverted {
		n.orphans.add(b)
	}
	if len(c.Reverted) > 0 {
		n.metrics.reorgs.Inc()
		n.log.Info("reorg", zap.Int("depth", len(c.Reverted)), zap.Uint64("height", uint64(c.Head.Height)),
			zap.Stringer("head", c.Head.Hash))
		n.announce("reorg: %d block(s) replaced, head #%d %s", len(c.Reverted), c.Head.Height, c.Head.Hash.Short())
	}
	for _, b := range c.Applied {
		n.removeFromPool(b)
		n.log.Debug("block", zap.Uint64("height", uint64(b.Header.Height)), zap.Uint64("slot", uint64(b.Header.Slot)),
			zap.Stringer("proposer", b.Header.Proposer), zap.Int("txs", len(b.Txs)))
	}
	for _, line := range n.newBlocks.Applied(n.cfg.Now(), n.currentSlot(), c.Applied, n.self) {
		n.announce("%s", line)
	}
	n.noticeChange(c)
	n.publishHead()
	head := n.tree.HeadState()
	requeued := 0
	for _, b := range c.Reverted {
		for _, tx := range b.Txs {
			if n.pool.Readmit(tx, head) == nil {
				requeued++
			}
		}
	}
	n.pool.Revalidate(head) // after the readmissions: one check per sender
	if requeued > 0 {
		n.log.Info("transactions of abandoned blocks returned to the mempool", zap.Int("txs", requeued))
	}
	n.keepReturned(c.Reverted)
	n.ffgChange(c)
	n.compactPending()
	n.metrics.height.Set(float64(c.Head.Height))
	n.metrics.mempool.Set(float64(n.pool.Len()))
	n.tell(c)
}

// publishHead publishes the tree's head for readers off the loop (headView); called on the loop.
func (n *Node) publishHead() { n.head.Store(&headView{tip: n.tree.Head(), state: n.tree.HeadState()}) }

func decodeSlot(b []byte) (chain.Slot, error) {
	if len(b) != 8 {
		return 0, errors.New("want 8 bytes")
	}
	return chain.Slot(binary.BigEndian.Uint64(b)), nil
}
