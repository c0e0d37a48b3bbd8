package node

import (
	"errors"
	"fmt"
	"time"

	"go.uber.org/zap"

	"github.com/posnode/posnode/chain"
	"github.com/posnode/posnode/consensus"
	"github.com/posnode/posnode/node/blocksync"
	"github.com/posnode/posnode/p2p"
)

// syncQueue is how many peers may wait for a sync; a request beyond it is dropped (the poll asks again).
const syncQueue = 32

// syncState is the sync client (PROTOCOL.md §10), a state machine of the event loop: one sync at a time, each
// a status request and then range requests, every answer handled as its own event, so that the loop never
// waits for the network and the same code runs under the simulator. A sync that fails costs the peer the penalty
// its failure deserves (blocksync.Penalty, charged in syncjudge.go), and the next queued peer's turn comes.
type syncState struct {
	queue       []string             // peers waiting for a sync, oldest first, each once
	cur         *syncRun             // the running sync; nil when idle
	wake        *Timer               // armed while the first queued peer waits for syncPeerEvery
	last        map[string]time.Time // when each peer was last synced with
	conflicting map[string]time.Time // when each peer last served a branch that conflicts with finality
	told        time.Time            // when the log last said that the node does not follow (outOfTouch)
}

// syncRun is one sync with one peer.
type syncRun struct {
	peer        string
	target      blocksync.Status // the peer's head, once its status arrived
	from        chain.Height     // the next height to ask for
	back        chain.Height     // how far the next step back goes
	steps       int              // steps back so far, at most maxStepsBack
	tries       int              // retries of the current range request after the peer's rate limit
	imported    int
	anchor      []byte // checkpoint sync: the anchor's chunks so far (cpsync.go)
	anchorTotal uint64 // and its length, as the first chunk said
	started     time.Time
	lastLog     time.Time
}

// requestSync queues a sync with peer; called on the loop, never blocks.
func (n *Node) requestSync(peer string) {
	s := &n.syncs
	if len(s.queue) >= syncQueue || (s.cur != nil && s.cur.peer == peer) {
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
		run := &syncRun{peer: peer, back: 1, started: now, lastLog: now}
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
	n.net.Request(run.peer, blocksync.ProtoStatus, nil, statusTimeout, func(resp []byte, err error) {
		n.post(func() { n.onStatus(run, sent, resp, err) })
	})
}

// onStatus compares the peer's head with ours: sync fetches it when it is better. The peer's clock is read at the
// middle of the exchange; an answer without time or after clockMaxRTT tells nothing of it.
func (n *Node) onStatus(run *syncRun, sent time.Time, resp []byte, err error) {
	if n.syncs.cur != run {
		return
	}
	if err != nil {
		n.endSync(run, fmt.Errorf("status: %w", err))
		return
	}
	rtt := n.cfg.Now().Sub(sent)
	theirs, err := blocksync.DecodeStatus(resp)
	if err != nil {
		n.endSync(run, err)
		return
	}
	if theirs.Height == 0 && theirs.Head != n.chainID {
		n.endSync(run, fmt.Errorf("%w: a head at height 0 that is not our genesis", blocksync.ErrForeignChain))
		return
	}
	if theirs.Time != 0 && rtt <= clockMaxRTT {
		n.noteStatusClock(run.peer, time.UnixMilli(theirs.Time).Sub(sent.Add(rtt/2)), true)
	} else {
		n.noteStatusClock(run.peer, 0, false)
	}
	ours := n.tree.Head()
	ours.Timely = false // a better head by height is worth fetching; fork choice weighs it once here
	if n.tree.Has(theirs.Head) || !consensus.Better(theirs.Tip(), ours) {
		n.synced, n.ownNonceUnknown = true, false
		n.endSync(run, nil)
		return
	}
	n.syncing, n.syncActive = true, n.cfg.Now()
	run.target = theirs
	// From the first height we lack, or from their head when it is no higher than ours (a better branch of the
	// same height): its parent is then unknown, and the fetch steps back to where the branches join.
	run.from = min(ours.Height+1, theirs.Height)
	n.requestRange(run)
}

// requestRange asks the run's peer for the next blocks of its chain, at most rangePace requests a second.
func (n *Node) requestRange(run *syncRun) {
	if run.from > run.target.Height {
		n.endSync(run, nil)
		return
	}
	r := blocksync.RangeReq{From: run.from, Count: uint32(min(uint64(run.target.Height-run.from+1), blocksync.MaxRangeBlocks)),
		MaxBytes: blocksync.MaxRangeBytes}
	send := func() {
		n.net.Request(run.peer, blocksync.ProtoBlocks, r.Encode(), rangeTimeout, func(resp []byte, err error) {
			n.post(func() { n.onRange(run, r, resp, err) })
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

// onRange imports an answer to a range request: every answer either moves the run forward (it starts at from and
// is a chain) or steps back, at most maxStepsBack times, so a peer cannot keep it busy without delivering. A peer
// that says it is over its limit is asked again after rateLimitWait, at most rateLimitRetries times.
func (n *Node) onRange(run *syncRun, r blocksync.RangeReq, resp []byte, err error) {
	if n.syncs.cur != run {
		return
	}
	if errors.Is(err, p2p.ErrRateLimited) && run.tries < rateLimitRetries {
		run.tries++
		n.after(rateLimitWait, func() {
			if n.syncs.cur == run {
				n.requestRange(run)
			}
		})
		return
	}
	run.tries = 0
	var blocks []*chain.Block
	if err == nil {
		blocks, err = blocksync.DecodeBlocks(resp)
	}
	if err == nil {
		err = blocksync.CheckRange(r, blocks)
	}
	if err != nil {
		n.endSync(run, fmt.Errorf("blocks from %d: %w", r.From, err))
		return
	}
	if len(blocks) == 0 {
		n.endSync(run, fmt.Errorf("%w: nothing at height %d of the %d it claimed", blocksync.ErrUndelivered, run.from, run.target.Height))
		return
	}
	n.importRange(run, blocks)
}

// importRange imports the blocks of one answer and asks for the next ones.
func (n *Node) importRange(run *syncRun, blocks []*chain.Block) {
	res := n.importBatch(blocks)
	if res.unknownParent {
		low := max(n.tree.SyncFloor(), 1) // below it no block can join ours (PROTOCOL.md §10, §13)
		if run.steps++; run.from <= low || run.steps > maxStepsBack {
			n.endSync(run, fmt.Errorf("%w: its chain does not join ours", blocksync.ErrForeignChain))
			return
		}
		run.from -= min(run.back, run.from-low)
		run.back *= 2
		n.requestRange(run)
		return
	}
	run.imported += res.imported
	if res.err != nil {
		n.endSync(run, res.err)
		return
	}
	run.from = blocks[len(blocks)-1].Header.Height + 1
	if now := n.cfg.Now(); now.Sub(run.lastLog) > 2*time.Second {
		run.lastLog = now
		n.log.Info("syncing", zap.String("peer", run.peer), zap.Uint64("height", uint64(run.from-1)),
			zap.Uint64("target", uint64(run.target.Height)), zap.Int("imported", run.imported))
	}
	n.requestRange(run)
}

// endSync ends the running sync with err (nil: it succeeded), charges the peer for a failure, and starts the
// next one.
func (n *Node) endSync(run *syncRun, err error) {
	s := &n.syncs
	now := n.cfg.Now()
	if run.target.Head != (chain.Hash{}) { // it fetched
		n.syncing = false
		if err == nil && run.imported == 0 && !n.tree.Has(run.target.Head) {
			err = fmt.Errorf("%w: head %s at height %d", blocksync.ErrUndelivered, run.target.Head.Short(), run.target.Height)
		}
		n.synced = n.synced || err == nil
		n.ownNonceUnknown = n.ownNonceUnknown && err != nil
		if run.imported > 0 {
			n.log.Info("synced", zap.String("peer", run.peer), zap.Int("blocks", run.imported),
				zap.Uint64("height", uint64(run.from-1)), zap.Duration("took", now.Sub(run.started)))
		}
	}
	s.last[run.peer] = now
	forgetBefore(s.last, now.Add(-time.Minute))
	if errors.Is(err, blocksync.ErrConflictingFinality) {
		s.conflicting[run.peer] = now
	}
	if c := n.cfg.Checkpoint; errors.Is(err, blocksync.ErrPrunedRange) && c != nil && c.Epoch > 0 && !n.tree.Has(c.Hash) && !n.cpWanted {
		n.cpWanted = true // PROTOCOL.md §13: the blocks below the checkpoint are gone; fetch the state at it
		n.log.Info("checkpoint sync: a peer pruned the blocks this node lacks; fetching the state at the trusted checkpoint",
			zap.String("peer", run.peer), zap.String("checkpoint", c.Text()), zap.Error(err))
	}
	forgetBefore(s.conflicting, now.Add(-conflictBackoff))
	if err != nil {
		n.judgeSync(run.peer, err)
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
	if !n.tree.Has(blocks[0].Header.Parent) {
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
