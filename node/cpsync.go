package node

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"go.uber.org/zap"

	"github.com/posnode/posnode/chain"
	"github.com/posnode/posnode/node/blocksync"
	"github.com/posnode/posnode/p2p"
)

// Checkpoint sync (PROTOCOL.md §13a): a node whose chain database is empty and that has a trusted checkpoint
// asks its sync peers, one at a time, for the anchor at the checkpoint block, in chunks; it verifies the anchor
// (chain.Anchor.Verify), writes it to its store as the floor's snapshot, opens its tree from it, and then
// syncs the blocks above it as any node does. A peer whose anchor does not verify is penalised as for an invalid
// block; a peer that does not hold it is not, and the next peer is asked.

// protoAnchor is the anchor protocol's name (PROTOCOL.md §10, §13a).
const protoAnchor = "anchor"

// Anchor limits (PROTOCOL.md §13a).
const (
	anchorChunk    = 1 << 20 // bytes of the anchor's encoding per answer
	maxAnchorBytes = 1 << 30 // the largest anchor a node fetches
	anchorReqSize  = 32 + 4
	anchorHeld     = 0 // answer status: a chunk follows
	anchorNotHeld  = 1 // answer status: the responder keeps no state at that block
)

// anchorLimits are the served limits of the anchor protocol per peer: an honest node asks one chunk at a time.
var anchorLimits = []p2p.HandlerOption{p2p.RateLimit(10, 20), p2p.ByteRate(16<<20, 32<<20)}

// errAnchorInstall: the verified anchor could not be written or opened (no fault of the peer).
var errAnchorInstall = errors.New("install the anchor")

type anchorReq struct {
	Block chain.Hash
	Chunk uint32
}

func (r anchorReq) encode() []byte {
	return binary.BigEndian.AppendUint32(append([]byte(nil), r.Block[:]...), r.Chunk)
}

// decodeAnchorReq parses an anchor request: block hash | chunk u32 (PROTOCOL.md §13a).
func decodeAnchorReq(b []byte) (anchorReq, error) {
	var r anchorReq
	if len(b) != anchorReqSize {
		return r, fmt.Errorf("%w: anchor request is %d bytes, want %d", blocksync.ErrBadMessage, len(b), anchorReqSize)
	}
	copy(r.Block[:], b)
	r.Chunk = binary.BigEndian.Uint32(b[32:])
	return r, nil
}

// anchorResp is one answer: the anchor's whole length and one chunk of it, or not held.
type anchorResp struct {
	NotHeld bool
	Total   uint64
	Data    []byte
}

func (r anchorResp) encode() []byte {
	if r.NotHeld {
		return []byte{anchorNotHeld}
	}
	b := binary.BigEndian.AppendUint64(append(make([]byte, 0, 9+len(r.Data)), anchorHeld), r.Total)
	return append(b, r.Data...)
}

// decodeAnchorResp parses an anchor answer for chunk: status u8 (1: not held, nothing follows) | total u64 |
// data, where total ≤ maxAnchorBytes and data is the chunk's bytes: anchorChunk of them, fewer for the last
// (PROTOCOL.md §13a).
func decodeAnchorResp(b []byte, chunk uint32) (anchorResp, error) {
	var r anchorResp
	switch {
	case len(b) == 1 && b[0] == anchorNotHeld:
		r.NotHeld = true
		return r, nil
	case len(b) < 9 || b[0] != anchorHeld:
		return r, fmt.Errorf("%w: anchor answer of %d bytes", blocksync.ErrBadMessage, len(b))
	}
	r.Total, r.Data = binary.BigEndian.Uint64(b[1:]), b[9:]
	off := uint64(chunk) * anchorChunk
	if r.Total > maxAnchorBytes || off >= r.Total || uint64(len(r.Data)) != min(anchorChunk, r.Total-off) {
		return r, fmt.Errorf("%w: chunk %d of %d bytes, anchor of %d", blocksync.ErrBadMessage, chunk, len(r.Data), r.Total)
	}
	return r, nil
}

// serveAnchor answers an anchor request with one chunk of the anchor's encoding at the block asked for, or not
// held (PROTOCOL.md §13a). The encoding is made on the loop and kept for the next chunks.
func (n *Node) serveAnchor(ctx context.Context, _ string, req []byte) ([]byte, error) {
	r, err := decodeAnchorReq(req)
	if err != nil {
		return nil, err
	}
	var enc []byte
	if err := n.call(ctx, func() { enc, err = n.anchorBytes(r.Block) }); err != nil {
		return nil, err
	}
	if errors.Is(err, chain.ErrNotFound) {
		return anchorResp{NotHeld: true}.encode(), nil
	}
	if err != nil {
		return nil, err
	}
	off := uint64(r.Chunk) * anchorChunk
	if off >= uint64(len(enc)) {
		return nil, fmt.Errorf("%w: chunk %d of an anchor of %d bytes", blocksync.ErrBadMessage, r.Chunk, len(enc))
	}
	if n.cfg.anchorLie != nil {
		enc = n.cfg.anchorLie(enc)
	}
	return anchorResp{Total: uint64(len(enc)), Data: enc[off:min(off+anchorChunk, uint64(len(enc)))]}.encode(), nil
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
// answered "not held" lately is not asked again before its backoff ends (notHeld.wait), and its chain is synced
// from ours instead.
func (n *Node) requestAnchor(run *syncRun) {
	if p, ok := n.cpNotHeld.peers[run.Peer]; len(run.anchor) == 0 && ok && n.cfg.Now().Before(p.retry) {
		n.requestStatus(run)
		return
	}
	r := anchorReq{Block: n.cfg.Checkpoint.Hash, Chunk: uint32(len(run.anchor) / anchorChunk)}
	n.net.Request(run.Peer, protoAnchor, r.encode(), rangeTimeout, func(resp []byte, err error) {
		n.post(func() { n.onAnchor(run, r, resp, err) })
	})
}

// onAnchor adds a chunk to the run's anchor and asks for the next, or, once whole, verifies and installs it.
func (n *Node) onAnchor(run *syncRun, r anchorReq, resp []byte, err error) {
	if n.syncs.cur != run {
		return
	}
	var a anchorResp
	if err == nil {
		a, err = decodeAnchorResp(resp, r.Chunk)
	}
	switch {
	case err != nil:
	case a.NotHeld: // sync its chain from ours instead: it may hold every block (PROTOCOL.md §13a)
		n.log.Debug("checkpoint sync: the peer holds no anchor at the checkpoint", zap.String("peer", run.Peer))
		n.onNotHeld(run.Peer)
		n.requestStatus(run)
		return
	case r.Chunk > 0 && a.Total != run.anchorTotal:
		err = fmt.Errorf("%w: chunk %d of an anchor of %d bytes, the first said %d", blocksync.ErrBadMessage, r.Chunk, a.Total, run.anchorTotal)
	}
	if err != nil {
		n.endSync(run, fmt.Errorf("anchor: %w", err))
		return
	}
	run.anchorTotal, run.anchor = a.Total, append(run.anchor, a.Data...)
	if uint64(len(run.anchor)) < a.Total {
		n.requestAnchor(run)
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
	a, err := chain.DecodeAnchor(run.anchor)
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
		zap.Int("bytes", len(run.anchor)), zap.Int("accounts", len(a.Accounts)), zap.Duration("took", n.cfg.Now().Sub(run.started)))
	return nil
}

// Waits of checkpoint sync when peers hold no anchor at the checkpoint (PROTOCOL.md §13a): a peer that answered
// "not held" is asked again after anchorRetryFirst, doubling up to anchorRetryMax; the warning that no peer holds
// it comes again after anchorWarnFirst, doubling up to anchorWarnMax.
const (
	anchorRetryFirst = 3 * time.Second
	anchorRetryMax   = 5 * time.Minute
	anchorWarnFirst  = time.Minute
	anchorWarnMax    = time.Hour
)

// notHeld is what a node seeking the anchor at its trusted checkpoint knows of the peers that hold none.
type notHeld struct {
	peers map[string]notHeldPeer
	round map[string]bool // the peers that answered "not held" since the last warning
	next  time.Time       // no warning before
	wait  time.Duration   // the wait between the last warning and the next
}

type notHeldPeer struct {
	retry time.Time     // not asked again before
	wait  time.Duration // the last backoff
}

// onNotHeld records that peer holds no anchor at the trusted checkpoint and, once every connected peer has said
// so since the last warning, warns the operator in one line, on the log and the prompt (PROTOCOL.md §13a).
func (n *Node) onNotHeld(peer string) {
	w, now := &n.cpNotHeld, n.cfg.Now()
	if w.peers == nil {
		w.peers, w.round = map[string]notHeldPeer{}, map[string]bool{}
	}
	p := w.peers[peer]
	p.wait = min(max(2*p.wait, anchorRetryFirst), anchorRetryMax)
	p.retry = now.Add(p.wait)
	w.peers[peer], w.round[peer] = p, true
	peers := n.net.Peers()
	for _, q := range peers {
		if !w.round[q.ID] {
			return
		}
	}
	if len(peers) == 0 || now.Before(w.next) {
		return
	}
	w.round = map[string]bool{}
	w.wait = min(max(2*w.wait, anchorWarnFirst), anchorWarnMax)
	w.next = now.Add(w.wait)
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
