package node

import (
	"context"
	"errors"
	"fmt"

	"go.uber.org/zap"

	"github.com/posnode/posnode/chain"
	"github.com/posnode/posnode/node/anchorsync"
	"github.com/posnode/posnode/p2p"
)

// Checkpoint sync (PROTOCOL.md §13a): a node whose chain database is empty and that has a trusted checkpoint
// asks its sync peers, one at a time, for the anchor at the checkpoint block, in chunks; it verifies the anchor
// (chain.Anchor.Verify), writes it to its store as the floor's snapshot, opens its tree from it, and then
// syncs the blocks above it as any node does. A peer whose anchor does not verify is penalised as for an invalid
// block; a peer that does not hold it is not, and the next peer is asked.

// anchorLimits are the served limits of the anchor protocol per peer: an honest node asks one chunk at a time.
var anchorLimits = []p2p.HandlerOption{p2p.RateLimit(10, 20), p2p.ByteRate(16<<20, 32<<20)}

// errAnchorInstall: the verified anchor could not be written or opened (no fault of the peer).
var errAnchorInstall = errors.New("install the anchor")

// serveAnchor answers an anchor request with one chunk of the anchor's encoding at the block asked for, or not
// held (PROTOCOL.md §13a). The encoding is made on the loop and kept for the next chunks.
func (n *Node) serveAnchor(ctx context.Context, _ string, req []byte) ([]byte, error) {
	r, err := anchorsync.DecodeReq(req)
	if err != nil {
		return nil, err
	}
	var enc []byte
	if err := n.call(ctx, func() { enc, err = n.anchorBytes(r.Block) }); err != nil {
		return nil, err
	}
	if errors.Is(err, chain.ErrNotFound) {
		return anchorsync.Resp{NotHeld: true}.Encode(), nil
	}
	if err != nil {
		return nil, err
	}
	if n.cfg.anchorLie != nil {
		enc = n.cfg.anchorLie(enc)
	}
	return anchorsync.Serve(r, enc)
}

// anchorBytes returns the encoding of the anchor at block h, from the cache of the last one served.
func (n *Node) anchorBytes(h chain.Hash) ([]byte, error) {
	if n.anchorCache.hash == h && n.anchorCache.enc != nil {
		return n.anchorCache.enc, nil
	}
	a, err := n.tree.Anchor(h)
	if err != nil {
		return nil, err
	}
	n.anchorCache.hash, n.anchorCache.enc = h, a.Encode()
	return n.anchorCache.enc, nil
}

// requestAnchor asks the run's peer for the next chunk of the anchor at the trusted checkpoint; a peer that
// answered "not held" lately is not asked again before its backoff ends (anchorsync.Absent), and its chain is
// synced from ours instead.
func (n *Node) requestAnchor(run *syncRun) {
	if run.anchor == nil {
		run.anchor = anchorsync.NewFetch(n.cfg.Checkpoint.Hash)
	}
	if !run.anchor.Started() && n.cpNotHeld.Waits(run.Peer, n.cfg.Now()) {
		n.requestStatus(run)
		return
	}
	n.net.Request(run.Peer, anchorsync.Proto, run.anchor.Next().Encode(), rangeTimeout, func(resp []byte, err error) {
		n.post(func() { n.onAnchor(run, resp, err) })
	})
}

// onAnchor adds a chunk to the run's anchor and asks for the next, or, once whole, verifies and installs it.
func (n *Node) onAnchor(run *syncRun, resp []byte, err error) {
	if n.syncs.cur != run {
		return
	}
	switch out, err := run.anchor.OnAnswer(resp, err); out {
	case anchorsync.More:
		n.requestAnchor(run)
		return
	case anchorsync.NotHeld: // sync its chain from ours instead: it may hold every block (PROTOCOL.md §13a)
		n.log.Debug("checkpoint sync: the peer holds no anchor at the checkpoint", zap.String("peer", run.Peer))
		n.onNotHeld(run.Peer)
		n.requestStatus(run)
		return
	case anchorsync.Failed:
		n.endSync(run, fmt.Errorf("anchor: %w", err))
		return
	}
	err = n.installAnchor(run)
	n.endSync(run, err)
	if err == nil {
		n.requestSync(run.Peer) // the blocks above the anchor
		n.fill.prefer = run.Peer
		n.backfill() // and those below it (backfill.go)
	}
}

// installAnchor verifies the run's anchor against the trusted checkpoint, writes it to the store and opens the
// tree from it (PROTOCOL.md §13a).
func (n *Node) installAnchor(run *syncRun) error {
	c := *n.cfg.Checkpoint
	enc := run.anchor.Bytes()
	a, err := chain.DecodeAnchor(enc)
	if err == nil {
		err = a.Verify(n.cfg.Genesis, c)
	}
	if err != nil {
		return fmt.Errorf("anchor at %s: %w", c.Text(), err)
	}
	n.flush("checkpoint sync")
	if err := a.Install(n.treeCfg.Store, n.cfg.Genesis, c); err != nil {
		return fmt.Errorf("%w: %w", errAnchorInstall, err)
	}
	tree, err := chain.OpenTree(n.treeCfg)
	if err != nil {
		return fmt.Errorf("%w: open the tree: %w", errAnchorInstall, err)
	}
	n.tree, n.cpWanted = tree, false
	n.publishHead()
	n.log.Info("checkpoint sync: opened the chain at the trusted checkpoint", zap.String("peer", run.Peer),
		zap.String("checkpoint", c.Text()), zap.Uint64("height", uint64(a.Block.Header.Height)),
		zap.Int("bytes", len(enc)), zap.Int("accounts", len(a.Accounts)), zap.Duration("took", n.cfg.Now().Sub(run.started)))
	return nil
}

// onNotHeld records that peer holds no anchor at the trusted checkpoint and, once every connected peer has said
// so since the last warning, warns the operator in one line, on the log and the prompt (PROTOCOL.md §13a).
func (n *Node) onNotHeld(peer string) {
	peers := n.net.Peers()
	ids := make([]string, len(peers))
	for i, q := range peers {
		ids[i] = q.ID
	}
	if !n.cpNotHeld.NotHeld(peer, n.cfg.Now(), ids) {
		return
	}
	c, age := n.cfg.Checkpoint, n.checkpointAge()
	n.log.Warn(notHeldMsg, zap.String("checkpoint", c.Text()), zap.Uint64("age_epochs", uint64(age)),
		zap.Int("peers", len(peers)), zap.String("do", notHeldDo))
	n.announce("%s at %d:%s, %d epochs old (nodes keep anchors for at most %d epochs): %s", notHeldMsg, c.Epoch,
		c.Hash.Short(), age, n.cfg.wsPeriod(), notHeldDo)
}

// The warning that no peer holds the anchor at the trusted checkpoint (PROTOCOL.md §13a).
const (
	notHeldMsg = "checkpoint sync: no peer holds the anchor at the trusted checkpoint; still asking"
	notHeldDo  = "take a newer checkpoint from any operator's /api/finality or the explorer and restart with --checkpoint EPOCH:HASH"
)

// checkpointAge returns how many epochs the current epoch is after the trusted checkpoint's.
func (n *Node) checkpointAge() chain.Epoch {
	if now, c := n.cfg.Genesis.EpochOf(n.currentSlot()), n.cfg.Checkpoint.Epoch; now > c {
		return now - c
	}
	return 0
}

// wantsAnchor reports whether the node should sync from its trusted checkpoint: it has one, of an epoch after
// 0, its block is not in the tree, and the tree holds nothing but genesis.
func wantsAnchor(cfg Config, tree *chain.Tree) bool {
	c := cfg.Checkpoint
	if c == nil || c.Epoch == 0 || tree.Has(c.Hash) {
		return false
	}
	floor, _, _, _ := tree.Retention()
	return floor == 0 && tree.Head().Height == 0
}
