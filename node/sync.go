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
)

const (
	syncRequestTimeout = 10 * time.Second
	pollPeersPerRound  = 3
)

// serveStatus answers a status request with this node's head (PROTOCOL.md §10).
func (n *Node) serveStatus(ctx context.Context, _ string, _ []byte) ([]byte, error) {
	var st status
	if err := n.call(ctx, func() { st = n.status() }); err != nil {
		return nil, err
	}
	return st.encode(), nil
}

func (n *Node) status() status {
	h := n.tree.Head()
	return status{Head: h.Hash, Height: h.Height, Slot: h.Slot, Justified: h.Justified}
}

// serveBlocks answers a range request with canonical blocks, bounded in count and bytes (PROTOCOL.md §10).
func (n *Node) serveBlocks(ctx context.Context, _ string, req []byte) ([]byte, error) {
	r, err := decodeRangeReq(req)
	if err != nil {
		return nil, err
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
	size := 0
	for h := r.From; h < r.From+chain.Height(r.Count); h++ {
		b, err := n.tree.BlockAt(h)
		if errors.Is(err, chain.ErrNotFound) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("read block %d: %w", h, err)
		}
		e := b.Encode()
		if size += len(e); size > maxRangeBytes && len(out) > 0 {
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

// syncer runs one sync at a time, outside the event loop; the loop only imports the batches it fetches.
func (n *Node) syncer(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case peer := <-n.syncReqs:
			if err := n.syncFrom(ctx, peer); err != nil && ctx.Err() == nil {
				n.log.Debug("sync failed", zap.String("peer", peer), zap.Error(err))
			}
		}
	}
}

// syncFrom catches up with a peer whose head is better than ours: it walks the peer's canonical chain forward in
// batches from our height, stepping back (doubling) while the first block's parent is unknown to us, i.e. while
// we are on another branch (PROTOCOL.md §10).
func (n *Node) syncFrom(ctx context.Context, peer string) error {
	rctx, cancel := context.WithTimeout(ctx, syncRequestTimeout)
	resp, err := n.host.Request(rctx, peer, protoStatus, nil)
	cancel()
	if err != nil {
		return fmt.Errorf("status: %w", err)
	}
	theirs, err := decodeStatus(resp)
	if err != nil {
		return err
	}
	var ours chain.Tip
	var behind bool
	if err := n.call(ctx, func() {
		ours = n.tree.Head()
		behind = !n.tree.Has(theirs.Head) && consensus.Better(theirs.tip(), ours)
		if !behind {
			n.synced = true
		} else {
			n.syncing = true
		}
	}); err != nil || !behind {
		return err
	}
	err = n.fetchFrom(ctx, peer, ours.Height+1, theirs)
	n.call(context.WithoutCancel(ctx), func() {
		n.syncing = false
		n.synced = n.synced || err == nil
	})
	return err
}

func (n *Node) fetchFrom(ctx context.Context, peer string, from chain.Height, target status) error {
	started, imported, back := time.Now(), 0, chain.Height(1)
	lastLog := started
	for from <= target.Height {
		count := uint32(min(uint64(target.Height-from+1), maxRangeBlocks))
		rctx, cancel := context.WithTimeout(ctx, syncRequestTimeout)
		resp, err := n.host.Request(rctx, peer, protoBlocks, rangeReq{From: from, Count: count}.encode())
		cancel()
		if err != nil {
			return fmt.Errorf("blocks from %d: %w", from, err)
		}
		blocks, err := decodeBlocks(resp)
		if err != nil || len(blocks) == 0 {
			return err
		}
		res := n.importBatch(ctx, blocks)
		if res.unknownParent {
			if from == 1 {
				return errors.New("peer's chain does not start at our genesis")
			}
			from -= min(back, from-1)
			back *= 2
			continue
		}
		if res.err != nil {
			return res.err
		}
		imported += res.imported
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
	return nil
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
		if err != nil {
			res.err = fmt.Errorf("import blocks: %w", err)
		}
	})
	if callErr != nil {
		res.err = callErr
	}
	return res
}
