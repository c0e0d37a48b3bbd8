package node

import (
	"errors"
	"fmt"
	"time"

	"go.uber.org/zap"

	"github.com/posnode/posnode/chain"
	"github.com/posnode/posnode/node/anchorsync"
	"github.com/posnode/posnode/node/blocksync"
)

// syncQueue is how many peers may wait for a sync; a request beyond it is dropped (the poll asks again).
const syncQueue = 32

// syncState is the sync client (PROTOCOL.md §10) on the event loop: one sync at a time, each a blocksync.Run —
// a status request and then range requests, every answer handed to the run as its own event and its decision
// carried out here (carryOut), so that the loop never waits for the network and the same code runs under the
// simulator. A sync that fails costs the peer the penalty its failure deserves (blocksync.Penalty, charged in
// syncjudge.go), and the next queued peer's turn comes.
type syncState struct {
	queue       []string             // peers waiting for a sync, oldest first, each once
	cur         *syncRun             // the running sync; nil when idle
	wake        *Timer               // armed while the first queued peer waits for syncPeerEvery
	last        map[string]time.Time // when each peer was last synced with
	conflicting map[string]time.Time // when each peer last served a branch that conflicts with finality
	told        time.Time            // when the log last said that the node does not follow (outOfTouch)
}

// syncRun is one sync with one peer: blocksync's run, and what the loop keeps beside it.
type syncRun struct {
	blocksync.Run
	anchor  *anchorsync.Fetch // checkpoint sync: the anchor's chunks so far (cpsync.go); nil before the first
	started time.Time
	lastLog time.Time
}

// requestSync queues a sync with peer; called on the loop, never blocks.
func (n *Node) requestSync(peer string) {
	s := &n.syncs
	if len(s.queue) >= syncQueue || (s.cur != nil && s.cur.Peer == peer) {
		return
	}
	for _, p := range s.queue {
		if p == peer {
			return
		}
	}
	s.queue = append(s.queue, peer)
	n.nextSync()
}

// pollPeers asks a few random peers for their heads now and then, so a block lost by gossip is fetched by sync.
func (n *Node) pollPeers() {
	peers := n.net.Peers()
	n.rand.Shuffle(len(peers), func(i, j int) { peers[i], peers[j] = peers[j], peers[i] })
	for _, p := range peers[:min(len(peers), pollPeersPerRound)] {
		n.requestSync(p.ID)
	}
}

// nextSync starts the sync with the first queued peer when none runs, skipping the peers sync leaves alone and
// waiting out syncPeerEvery since the last sync with it.
func (n *Node) nextSync() {
	s := &n.syncs
	for s.cur == nil && s.wake == nil && len(s.queue) > 0 {
		peer, now := s.queue[0], n.cfg.Now()
		if n.outOfTouch != "" { // PROTOCOL.md §12
			if now.Sub(s.told) > outOfTouchLogEvery {
				s.told = now
				n.log.Error("not syncing: not following the network without a recent checkpoint", zap.String("peer", peer),
					zap.String("why", n.outOfTouch))
			}
			s.queue = s.queue[1:]
			continue
		}
		if now.Sub(s.conflicting[peer]) < conflictBackoff {
			s.queue = s.queue[1:]
			continue
		}
		if wait := syncPeerEvery - now.Sub(s.last[peer]); wait > 0 {
			s.wake = n.after(wait, func() { s.wake = nil; n.nextSync() })
			return
		}
		s.queue = s.queue[1:]
		run := &syncRun{Run: blocksync.NewRun(peer), started: now, lastLog: now}
		s.cur = run
		if n.cpWanted && n.tree.Has(n.cfg.Checkpoint.Hash) {
			n.cpWanted = false // a genesis sync reached it
		}
		if n.cpWanted { // PROTOCOL.md §13a
			n.requestAnchor(run)
			continue
		}
		n.requestStatus(run)
	}
}

// requestStatus asks the run's peer for its head (PROTOCOL.md §10).
func (n *Node) requestStatus(run *syncRun) {
	sent := n.cfg.Now()
	n.net.Request(run.Peer, blocksync.ProtoStatus, nil, statusTimeout, func(resp []byte, err error) {
		n.post(func() { n.onStatus(run, sent, resp, err) })
	})
}

// onStatus hands the peer's head to the run, which fetches it when it is better. The peer's clock is read at the
// middle of the exchange; an answer without time or after clockMaxRTT tells nothing of it.
func (n *Node) onStatus(run *syncRun, sent time.Time, resp []byte, err error) {
	if n.syncs.cur != run {
		return
	}
	rtt := n.cfg.Now().Sub(sent)
	theirs, d := run.OnStatus(resp, err, n.chainID, n.tree)
	if d.Kind == blocksync.Done && d.Err != nil {
		n.endSync(run, d.Err)
		return
	}
	if theirs.Time != 0 && rtt <= clockMaxRTT {
		n.noteStatusClock(run.Peer, time.UnixMilli(theirs.Time).Sub(sent.Add(rtt/2)), true)
	} else {
		n.noteStatusClock(run.Peer, 0, false)
	}
	if d.Kind == blocksync.UpToDate {
		n.synced, n.ownNonceUnknown = true, false
		n.endSync(run, nil)
		return
	}
	n.syncing, n.syncActive = true, n.cfg.Now()
	n.carryOut(run, d)
}

// carryOut does what the run decided: a range request (at most rangePace a second), a retry after rateLimitWait,
// an import through the tree, or the run's end.
func (n *Node) carryOut(run *syncRun, d blocksync.Decision) {
	switch d.Kind {
	case blocksync.Ask:
		n.requestRange(run, d.Req)
	case blocksync.Retry:
		n.after(rateLimitWait, func() {
			if n.syncs.cur == run {
				n.carryOut(run, run.Next())
			}
		})
	case blocksync.Import:
		n.importRange(run, d.Blocks)
	default:
		n.endSync(run, d.Err)
	}
}

// requestRange asks the run's peer for r, at most rangePace requests a second.
func (n *Node) requestRange(run *syncRun, r blocksync.RangeReq) {
	send := func() {
		n.net.Request(run.Peer, blocksync.ProtoBlocks, r.Encode(), rangeTimeout, func(resp []byte, err error) {
			blocks, err := n.readRange(r, resp, err)
			n.post(func() {
				if n.syncs.cur == run {
					n.carryOut(run, run.OnRange(r, blocks, err))
				}
			})
		})
	}
	now := n.cfg.Now()
	if wait := n.rangePace.ReserveN(now, 1).DelayFrom(now); wait > 0 {
		n.after(wait, func() {
			if n.syncs.cur == run {
				send()
			}
		})
		return
	}
	send()
}

// readRange reads an answer to range request r off the event loop (blocksync.ReadRange) and verifies the
// signatures of its records into the signature cache, so that the loop's validation of the blocks
// (chain.Tree.InsertBatch) finds them verified: for blocks of 5,000 records, that is most of the work. A bad
// signature is left for the validation to name.
func (n *Node) readRange(r blocksync.RangeReq, resp []byte, err error) ([]*chain.Block, error) {
	blocks, err := blocksync.ReadRange(r, resp, err)
	for _, b := range blocks {
		_ = n.sigs.VerifyAll(b.Txs)
	}
	return blocks, err
}

// importRange imports the blocks of one answer — the one seam between a run and the tree's import — and hands
// the outcome to the run.
func (n *Node) importRange(run *syncRun, blocks []*chain.Block) {
	res := n.importBatch(blocks)
	d := run.OnImport(blocks, res.unknownParent, res.imported, res.err, n.tree)
	if now := n.cfg.Now(); !res.unknownParent && res.err == nil && now.Sub(run.lastLog) > 2*time.Second {
		run.lastLog = now
		n.log.Info("syncing", zap.String("peer", run.Peer), zap.Uint64("height", uint64(run.From-1)),
			zap.Uint64("target", uint64(run.Target.Height)), zap.Int("imported", run.Imported))
	}
	n.carryOut(run, d)
}

// endSync ends the running sync with err (nil: it succeeded), charges the peer for a failure, and starts the
// next one.
func (n *Node) endSync(run *syncRun, err error) {
	s := &n.syncs
	now := n.cfg.Now()
	if run.Fetched() {
		n.syncing = false
		err = run.Finish(err, n.tree)
		n.synced = n.synced || err == nil
		n.ownNonceUnknown = n.ownNonceUnknown && err != nil
		if run.Imported > 0 {
			n.log.Info("synced", zap.String("peer", run.Peer), zap.Int("blocks", run.Imported),
				zap.Uint64("height", uint64(run.From-1)), zap.Duration("took", now.Sub(run.started)))
		}
	}
	s.last[run.Peer] = now
	forgetBefore(s.last, now.Add(-time.Minute))
	if errors.Is(err, blocksync.ErrConflictingFinality) {
		s.conflicting[run.Peer] = now
	}
	if c := n.cfg.Checkpoint; errors.Is(err, blocksync.ErrPrunedRange) && c != nil && c.Epoch > 0 && !n.tree.Has(c.Hash) && !n.cpWanted {
		n.cpWanted = true // PROTOCOL.md §13: the blocks below the checkpoint are gone; fetch the state at it
		n.log.Info("checkpoint sync: a peer pruned the blocks this node lacks; fetching the state at the trusted checkpoint",
			zap.String("peer", run.Peer), zap.String("checkpoint", c.Text()), zap.Error(err))
	}
	forgetBefore(s.conflicting, now.Add(-conflictBackoff))
	if err != nil {
		n.judgeSync(run.Peer, err)
	}
	s.cur = nil
	n.nextSync()
}

// forgetBefore drops the entries of m older than t once it holds many.
func forgetBefore(m map[string]time.Time, t time.Time) {
	if len(m) < 256 {
		return
	}
	for k, v := range m {
		if v.Before(t) {
			delete(m, k)
		}
	}
}

type batchResult struct {
	imported      int
	unknownParent bool
	err           error
}

// importBatch imports fetched blocks, oldest first, with one durable write for the batch (chain.Tree.InsertBatch);
// blocks already known are skipped. Called on the event loop.
func (n *Node) importBatch(blocks []*chain.Block) batchResult {
	var res batchResult
	// At or below the sync floor a block whose parent the tree lacks is not one to step back from: its branch left
	// ours below the floor, and the tree refuses it for finality or for the trusted checkpoint (PROTOCOL.md §10, §12).
	if !n.tree.Has(blocks[0].Header.Parent) && blocks[0].Header.Height > n.tree.SyncFloor() {
		res.unknownParent = true
		return res
	}
	change, inserted, err := n.tree.InsertBatch(blocks, n.maxSlot())
	for _, b := range inserted {
		n.observe(b, false)
	}
	n.applyChange(change)
	res.imported = len(inserted)
	if len(inserted) > 0 {
		n.syncActive = n.cfg.Now()
	}
	if errors.Is(err, chain.ErrConflictsFinalized) {
		err = n.gleanBatch(blocks) // read for evidence before they are dropped (PROTOCOL.md §8b)
	}
	if err != nil {
		res.err = fmt.Errorf("import blocks: %w", err)
	}
	return res
}
