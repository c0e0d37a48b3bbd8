package node

import (
	"context"
	"errors"
	"time"

	"go.uber.org/zap"

	"github.com/posnode/posnode/chain"
	"github.com/posnode/posnode/node/blocksync"
	"github.com/posnode/posnode/p2p"
)

// validateBlockMsg is the block topic's validator (PROTOCOL.md §10). Stateless checks and the signature run
// here, on the gossip goroutine; the event loop then imports the block, and the outcome decides whether gossip
// passes it on: Reject only what is provably bad, Ignore what is known or cannot be judged yet. A valid block is
// accepted in memory and passed on before it reaches the disk (PROTOCOL.md §11). The import is two calls to the
// loop: one takes what the validation reads from the tree (chain.Tree.PrepareInsert), the other inserts the
// block; the validation itself (records, roots, state: hundreds of milliseconds for 5,000 records) runs here in
// between, off the loop.
func (n *Node) validateBlockMsg(ctx context.Context, from string, data []byte) p2p.Verdict {
	arrived := n.cfg.Now()
	b, err := chain.DecodeBlock(data)
	if err == nil {
		err = b.ValidateBasic()
	}
	if err == nil {
		err = b.Verify(n.chainID)
	}
	if err != nil {
		n.log.Info("rejected gossiped block", zap.String("peer", from), zap.Error(err))
		return n.verdict("blocks", p2p.Reject)
	}
	var v p2p.Verdict
	var c *chain.Check
	callErr := n.call(ctx, func() { c, v = n.blockPrepare(b, from, arrived) })
	if callErr == nil && c != nil {
		c.SkipStateless() // ValidateBasic and Verify passed above
		c.Run()
		ids := hashTxs(b)
		callErr = n.call(ctx, func() { v = n.blockCommit(c, ids, from, arrived) })
	}
	if callErr != nil {
		return n.verdict("blocks", p2p.Ignore)
	}
	return n.verdict("blocks", v)
}

// blockPrepare starts the import of a gossiped block on the event loop: it returns the check to run off the loop,
// or no check and the verdict when the block cannot be imported. Its signature has verified, so if it is signed
// with this node's key and new here, another process holds the key, whether the block is valid or not. arrived is
// when the message reached the node: it tells the clock check (noteBlockClock) and fork choice (consensus.Timely)
// how early or late the block came.
func (n *Node) blockPrepare(b *chain.Block, from string, arrived time.Time) (*chain.Check, p2p.Verdict) {
	if n.outOfTouch != "" {
		return nil, p2p.Ignore // the node does not follow the network (PROTOCOL.md §12)
	}
	if !n.tree.Has(b.Hash()) {
		n.checkOwnKey(b)
		n.noteBlockClock(b, arrived)
	}
	c, err := n.tree.PrepareInsert(b, n.maxSlot())
	if err != nil {
		return nil, n.blockGrade(b, from, err)
	}
	return c, p2p.Accept
}

// blockCommit inserts a gossiped block whose check ran, with the IDs of its records, on the event loop, and
// grades the result.
func (n *Node) blockCommit(c *chain.Check, ids hashedTxs, from string, arrived time.Time) p2p.Verdict {
	b := c.Block()
	n.hashed = ids
	defer func() { n.hashed = hashedTxs{} }()
	change, err := n.tree.InsertChecked(c, n.timely(b.Header.Slot, arrived))
	if err != nil {
		return n.blockGrade(b, from, err)
	}
	n.observe(b, false)
	n.applyChange(change)
	return p2p.Accept
}

// blockGrade grades the failed import of a gossiped block. Called on the event loop.
func (n *Node) blockGrade(b *chain.Block, from string, err error) p2p.Verdict {
	switch {
	case errors.Is(err, chain.ErrKnownBlock), errors.Is(err, chain.ErrFutureSlot), errors.Is(err, chain.ErrTooManyVersions):
		return p2p.Ignore // a third version of a proposer's slot is the proposer's fault, not the relay's
	case errors.Is(err, chain.ErrStoreFailed): // ErrFlushBehind: the chain database has failed for a while (flush.go)
		n.log.Error("could not accept a gossiped block", zap.Stringer("hash", b.Hash()), zap.Error(err))
		return p2p.Ignore // the sender did nothing wrong
	case errors.Is(err, chain.ErrConflictsFinalized):
		// Read for evidence before it is dropped (PROTOCOL.md §8b). A relay of an accountable proposer's block may
		// be honest, on the other side of a conflicting finalization: not passed on, not penalised.
		if err = n.glean(b); errors.Is(err, blocksync.ErrConflictingFinality) {
			n.log.Debug("ignored a gossiped block of a conflicting branch", zap.String("peer", from), zap.Error(err))
			return p2p.Ignore
		}
		n.log.Info("rejected gossiped block", zap.String("peer", from), zap.Uint64("slot", uint64(b.Header.Slot)),
			zap.Stringer("hash", b.Hash()), zap.Error(err))
		return p2p.Reject
	case errors.Is(err, chain.ErrUnknownParent):
		// We are behind or on another branch: fetch the ancestors from the peer that sent it. We cannot judge
		// the block yet, so we do not forward it; peers that know its parent do.
		n.requestSync(from)
		return p2p.Ignore
	default:
		n.log.Info("rejected gossiped block", zap.String("peer", from), zap.Uint64("slot", uint64(b.Header.Slot)),
			zap.Stringer("hash", b.Hash()), zap.Error(err))
		return p2p.Reject
	}
}

func (n *Node) verdict(topic string, v p2p.Verdict) p2p.Verdict {
	n.metrics.countVerdict(topic, v)
	return v
}
