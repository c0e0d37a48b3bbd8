package node

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"go.uber.org/zap"

	"github.com/posnode/posnode/chain"
	"github.com/posnode/posnode/consensus"
	"github.com/posnode/posnode/p2p"
)

const (
	// statusTimeout and rangeTimeout bound one sync request; a peer that lets one expire is penalised.
	statusTimeout = 3 * time.Second
	rangeTimeout  = 5 * time.Second
	// pollPeersPerRound is how many random peers are asked for their heads every pollEvery.
	pollPeersPerRound = 3
	// syncPeerEvery is the shortest time between two syncs with one peer (a later request waits): it keeps this
	// node inside every peer's request limits however many gossiped blocks with unknown parents a peer sends.
	syncPeerEvery = 100 * time.Millisecond
	// maxStepsBack bounds how often a sync steps back (doubling) to find where the peer's chain joins ours.
	maxStepsBack = 64
)

// Served request limits per peer (PROTOCOL.md §10): above what an honest node asks (a status at most every
// syncPeerEvery, range requests one at a time and at most rangePace a second), so only a hammering peer meets them.
var (
	statusLimits = []p2p.HandlerOption{p2p.RateLimit(20, 40)}
	rangeLimits  = []p2p.HandlerOption{p2p.RateLimit(50, 100), p2p.ByteRate(16<<20, 32<<20)}
)

// rangePace is how many range requests a second this node makes at most, below the peers' limit of 50.
const rangePace = 40

// rateLimitWait is how long a sync waits when a peer says it is over its limit, at most rateLimitRetries times
// per sync, before it gives up on the peer for now (without blaming it).
const (
	rateLimitWait    = time.Second
	rateLimitRetries = 3
)

// serveStatus answers a status request with this node's head (PROTOCOL.md §10), without waiting for the event
// loop: a node whose loop is busy (a flood of gossip) still answers at once and is not taken for a staller.
func (n *Node) serveStatus(context.Context, string, []byte) ([]byte, error) {
	h := n.head.Load().tip
	return status{Head: h.Hash, Height: h.Height, Slot: h.Slot, Justified: h.Justified,
		Time: n.cfg.Now().UnixMilli()}.encode(), nil
}

// serveBlocks answers a range request with canonical blocks, bounded by the request and by maxRangeBlocks and
// maxRangeBytes (PROTOCOL.md §10).
func (n *Node) serveBlocks(ctx context.Context, _ string, req []byte) ([]byte, error) {
	r, err := decodeRangeReq(req)
	if err != nil {
		return nil, err
	}
	if resp, pruned, err := n.servePruned(ctx, r); pruned || err != nil { // PROTOCOL.md §13
		return resp, err
	}
	var encoded [][]byte
	err = n.call(ctx, func() { encoded, err = n.canonicalRange(r) })
	if err != nil {
		return nil, err
	}
	return encodeBlocks(encoded), nil
}

func (n *Node) canonicalRange(r rangeReq) ([][]byte, error) {
	var out [][]byte
	size, bound := 0, r.byteBound()
	for h := r.From; h < r.From+chain.Height(r.Count); h++ {
		b, err := n.tree.BlockAt(h)
		if errors.Is(err, chain.ErrNotFound) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("read block %d: %w", h, err)
		}
		e := b.Encode()
		if size += len(e); size > bound && len(out) > 0 {
			break
		}
		out = append(out, e)
	}
	return out, nil
}

// requestSync asks the syncer to compare heads with a peer; called on the loop, never blocks.
func (n *Node) requestSync(peer string) {
	select {
	case n.syncReqs <- peer:
	default:
	}
}

// pollPeers asks a few random peers for their heads now and then, so a block lost by gossip is fetched by sync.
func (n *Node) pollPeers() {
	peers := n.host.Peers()
	rand.Shuffle(len(peers), func(i, j int) { peers[i], peers[j] = peers[j], peers[i] })
	for _, p := range peers[:min(len(peers), pollPeersPerRound)] {
		n.requestSync(p.ID)
	}
}

// syncer runs one sync at a time, outside the event loop; the loop only imports the batches it fetches. A sync
// that fails costs the peer the penalty its failure deserves, and the syncer moves on to the next request.
func (n *Node) syncer(ctx context.Context) {
	last := map[string]time.Time{}        // when each peer was last synced with
	conflicting := map[string]time.Time{} // when each peer last served a branch that conflicts with finality
	var told time.Time                    // when the log last said that the node does not follow (outOfTouch)
	for {
		select {
		case <-ctx.Done():
			return
		case peer := <-n.syncReqs:
			if n.outOfTouch != "" { // PROTOCOL.md §12
				if time.Since(told) > outOfTouchLogEvery {
					told = time.Now()
					n.log.Error("not syncing: not following the network without a recent checkpoint", zap.String("peer", peer),
						zap.String("why", n.outOfTouch))
				}
				continue
			}
			if time.Since(conflicting[peer]) < conflictBackoff {
				continue
			}
			if !sleepCtx(ctx, syncPeerEvery-time.Since(last[peer])) {
				return
			}
			err := n.syncFrom(ctx, peer)
			last[peer] = time.Now()
			forgetBefore(last, time.Now().Add(-time.Minute))
			if errors.Is(err, errConflictingFinality) {
				conflicting[peer] = time.Now()
			}
			forgetBefore(conflicting, time.Now().Add(-conflictBackoff))
			if err != nil && ctx.Err() == nil {
				n.judgeSync(peer, err)
			}
		}
	}
}

// sleepCtx waits d (nothing when d ≤ 0) and reports whether ctx is still live.
func sleepCtx(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
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

// syncFrom catches up with a peer whose head is better than ours: it walks the peer's canonical chain forward in
// batches from our height, stepping back (doubling) while the first block's parent is unknown to us, i.e. while
// we are on another branch (PROTOCOL.md §10). It fails with errUndelivered when the peer claimed a better head
// but gave us nothing new.
func (n *Node) syncFrom(ctx context.Context, peer string) error {
	theirs, offset, timed, err := n.requestStatus(ctx, peer)
	if err != nil {
		return err
	}
	if theirs.Height == 0 && theirs.Head != n.chainID {
		return fmt.Errorf("%w: a head at height 0 that is not our genesis", errForeignChain)
	}
	var ours chain.Tip
	var behind bool
	if err := n.call(ctx, func() {
		n.noteStatusClock(peer, offset, timed)
		ours = n.tree.Head()
		ours.Timely = false // a better head by height is worth fetching; fork choice weighs it once here
		behind = !n.tree.Has(theirs.Head) && consensus.Better(theirs.tip(), ours)
		if !behind {
			n.synced = true
			return
		}
		n.syncing, n.syncActive = true, n.cfg.Now()
	}); err != nil || !behind {
		return err
	}
	// From the first height we lack, or from their head when it is no higher than ours (a better branch of the
	// same height): its parent is then unknown, and the fetch steps back to where the branches join.
	imported, err := n.fetchFrom(ctx, peer, min(ours.Height+1, theirs.Height), theirs)
	n.call(context.WithoutCancel(ctx), func() {
		n.syncing = false
		n.synced = n.synced || err == nil
		if err == nil && imported == 0 && !n.tree.Has(theirs.Head) {
			err = fmt.Errorf("%w: head %s at height %d", errUndelivered, theirs.Head.Short(), theirs.Height)
		}
	})
	return err
}

// requestStatus asks peer for its head. offset is how far the peer's clock is ahead of ours, taken at the middle
// of the exchange; timed is false when the answer carries no time or the exchange took over clockMaxRTT.
func (n *Node) requestStatus(ctx context.Context, peer string) (s status, offset time.Duration, timed bool, err error) {
	rctx, cancel := context.WithTimeout(ctx, statusTimeout)
	defer cancel()
	sent := n.cfg.Now()
	resp, err := n.host.Request(rctx, peer, protoStatus, nil)
	if err != nil {
		return status{}, 0, false, fmt.Errorf("status: %w", err)
	}
	rtt := n.cfg.Now().Sub(sent)
	if s, err = decodeStatus(resp); err != nil || s.Time == 0 || rtt > clockMaxRTT {
		return s, 0, false, err
	}
	return s, time.UnixMilli(s.Time).Sub(sent.Add(rtt / 2)), true, nil
}

// requestRange asks peer for the blocks of r, at most rangePace requests a second and waiting out the peer's
// limit when it says so, and checks that the answer matches r.
func (n *Node) requestRange(ctx context.Context, peer string, r rangeReq) ([]*chain.Block, error) {
	var resp []byte
	var err error
	for try := 0; ; try++ {
		if err := n.rangePace.Wait(ctx); err != nil {
			return nil, err
		}
		rctx, cancel := context.WithTimeout(ctx, rangeTimeout)
		resp, err = n.host.Request(rctx, peer, protoBlocks, r.encode())
		cancel()
		if !errors.Is(err, p2p.ErrRateLimited) || try == rateLimitRetries || !sleepCtx(ctx, rateLimitWait) {
			break
		}
	}
	if err != nil {
		return nil, fmt.Errorf("blocks from %d: %w", r.From, err)
	}
	blocks, err := decodeBlocks(resp)
	if err == nil {
		err = checkRange(r, blocks)
	}
	return blocks, err
}

// fetchFrom imports the peer's canonical chain from height from up to target and returns how many blocks were
// new. Every round either moves from forward (the answer starts at from and is a chain) or steps back, at most
// maxStepsBack times, so a peer cannot keep it busy without delivering.
func (n *Node) fetchFrom(ctx context.Context, peer string, from chain.Height, target status) (int, error) {
	started, imported, back, steps := time.Now(), 0, chain.Height(1), 0
	lastLog := started
	for from <= target.Height {
		r := rangeReq{From: from, Count: uint32(min(uint64(target.Height-from+1), maxRangeBlocks)), MaxBytes: maxRangeBytes}
		blocks, err := n.requestRange(ctx, peer, r)
		if err != nil {
			return imported, err
		}
		if len(blocks) == 0 {
			return imported, fmt.Errorf("%w: nothing at height %d of the %d it claimed", errUndelivered, from, target.Height)
		}
		res := n.importBatch(ctx, blocks)
		if res.unknownParent {
			if steps++; from == 1 || steps > maxStepsBack {
				return imported, fmt.Errorf("%w: its chain does not join ours", errForeignChain)
			}
			from -= min(back, from-1)
			back *= 2
			continue
		}
		imported += res.imported
		if res.err != nil {
			return imported, res.err
		}
		from = blocks[len(blocks)-1].Header.Height + 1
		if time.Since(lastLog) > 2*time.Second {
			lastLog = time.Now()
			n.log.Info("syncing", zap.String("peer", peer), zap.Uint64("height", uint64(from-1)),
				zap.Uint64("target", uint64(target.Height)), zap.Int("imported", imported))
		}
	}
	if imported > 0 {
		n.log.Info("synced", zap.String("peer", peer), zap.Int("blocks", imported),
			zap.Uint64("height", uint64(from-1)), zap.Duration("took", time.Since(started)))
	}
	return imported, nil
}

type batchResult struct {
	imported      int
	unknownParent bool
	err           error
}

// importBatch imports fetched blocks on the event loop, oldest first, with one durable write for the batch
// (chain.Tree.InsertBatch); blocks already known are skipped.
func (n *Node) importBatch(ctx context.Context, blocks []*chain.Block) batchResult {
	var res batchResult
	callErr := n.call(ctx, func() {
		if !n.tree.Has(blocks[0].Header.Parent) {
			res.unknownParent = true
			return
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
	})
	if callErr != nil {
		res.err = callErr
	}
	return res
}
