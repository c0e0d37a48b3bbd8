package node

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/posnode/posnode/chain"
	"github.com/posnode/posnode/node/blocksync"
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
)

// Served request limits per peer (PROTOCOL.md §10): above what an honest node asks (a status at most every
// syncPeerEvery, range requests one at a time and at most rangePace a second), so only a hammering peer meets them.
var (
	statusLimits = []p2p.HandlerOption{p2p.RateLimit(20, 40)}
	rangeLimits  = []p2p.HandlerOption{p2p.RateLimit(50, 100), p2p.ByteRate(16<<20, 32<<20)}
)

// rangePace is how many range requests a second this node makes at most, below the peers' limit of 50.
const rangePace = 40

// rateLimitWait is how long a sync waits when a peer says it is over its limit, at most
// blocksync.RateLimitRetries times in a row, before it gives up on the peer for now (without blaming it).
const rateLimitWait = time.Second

// serveStatus answers a status request with this node's head (PROTOCOL.md §10), without waiting for the event
// loop: a node whose loop is busy (a flood of gossip) still answers at once and is not taken for a staller.
func (n *Node) serveStatus(context.Context, string, []byte) ([]byte, error) {
	h := n.head.Load().tip
	return blocksync.Status{Head: h.Hash, Height: h.Height, Slot: h.Slot, Justified: h.Justified,
		Time: n.cfg.Now().UnixMilli()}.Encode(), nil
}

// serveBlocks answers a range request with canonical blocks, bounded by the request and by blocksync.MaxRangeBlocks and
// blocksync.MaxRangeBytes (PROTOCOL.md §10).
func (n *Node) serveBlocks(ctx context.Context, _ string, req []byte) ([]byte, error) {
	r, err := blocksync.DecodeRangeReq(req)
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
	if n.cfg.rangeLie != nil {
		encoded = n.cfg.rangeLie(r.From, encoded)
	}
	return blocksync.EncodeBlocks(encoded), nil
}

func (n *Node) canonicalRange(r blocksync.RangeReq) ([][]byte, error) {
	var out [][]byte
	size, bound := 0, r.ByteBound()
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

// servePruned answers a range request that starts below the oldest canonical block the node holds with a pruned
// answer (ok); a request it can serve gets ok false (PROTOCOL.md §10, §13).
func (n *Node) servePruned(ctx context.Context, r blocksync.RangeReq) (resp []byte, ok bool, err error) {
	var oldest chain.Height
	if err := n.call(ctx, func() { _, oldest, _, _ = n.tree.Retention() }); err != nil {
		return nil, false, err
	}
	if r.From >= oldest {
		return nil, false, nil
	}
	return blocksync.EncodePruned(oldest), true, nil
}
