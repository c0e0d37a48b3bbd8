package adversary

import (
	"context"
	"crypto/rand"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/posnode/posnode/chain"
)

// LiarStats counts what a lying peer served.
type LiarStats struct {
	StatusServed atomic.Int64 // status requests answered with the false head
	RangesServed atomic.Int64 // range requests answered with block 1
}

// lie is the false head a lying peer claims, and the block it serves for every range.
type lie struct {
	mu     sync.Mutex
	claim  Status
	block1 *chain.Block
}

// LieInSync answers every sync request with a lie until ctx ends (PROTOCOL.md §10 broken on purpose): its status
// claims a head claimAhead heights above the best head it has seen on a connected node (polled every 500 ms), a
// head it does not have, and every range request is answered with block 1, which the asker already holds. It
// returns when ctx ends, or with an error if it cannot learn block 1 from a node.
func (p *Peer) LieInSync(ctx context.Context, claimAhead chain.Height, stats *LiarStats) error {
	l := &lie{}
	if err := p.learn(ctx, l, claimAhead); err != nil {
		return err
	}
	p.host.Handle(protoStatus, func(context.Context, string, []byte) ([]byte, error) {
		stats.StatusServed.Add(1)
		l.mu.Lock()
		defer l.mu.Unlock()
		return l.claim.encode(), nil
	})
	p.host.Handle(protoBlocks, func(_ context.Context, _ string, req []byte) ([]byte, error) {
		if _, err := decodeRangeReq(req); err != nil {
			return nil, err
		}
		stats.RangesServed.Add(1)
		return encodeBlocks([]*chain.Block{l.block1}), nil
	})
	tick := time.NewTicker(500 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
			_ = p.learn(ctx, l, claimAhead) // a node busy for a moment is asked again next tick
		}
	}
}

// learn asks a connected node for its head (and, the first time, its block 1) and moves the claim above it.
func (p *Peer) learn(ctx context.Context, l *lie, claimAhead chain.Height) error {
	for {
		err := p.tryLearn(ctx, l, claimAhead)
		if err == nil || l.block1 != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("adversary: learn block 1: %w (last: %v)", ctx.Err(), err)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func (p *Peer) tryLearn(ctx context.Context, l *lie, claimAhead chain.Height) error {
	node, err := p.firstNode()
	if err != nil {
		return err
	}
	rctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	st, err := p.Status(rctx, node)
	if err != nil {
		return err
	}
	if l.block1 == nil {
		bs, err := p.Blocks(rctx, node, 1, 1)
		if err != nil || len(bs) == 0 {
			return fmt.Errorf("adversary: no block 1 yet (%v)", err)
		}
		l.block1 = bs[0]
	}
	var fake chain.Hash
	rand.Read(fake[:])
	l.mu.Lock()
	defer l.mu.Unlock()
	if st.Height+claimAhead > l.claim.Height {
		l.claim = Status{Head: fake, Height: st.Height + claimAhead, Slot: st.Slot + chain.Slot(claimAhead),
			Justified: st.Justified}
	}
	return nil
}
