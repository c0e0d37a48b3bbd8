package node

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"sync"
	"sync/atomic"

	"github.com/posnode/posnode/chain"
	"github.com/posnode/posnode/node/view"
)

// The read routes (GET /api/..., the explorer) answer from a snapshot of the canonical chain that the event loop
// hands over in small steps, and from the store, never by walking the chain or rebuilding states on the loop
// (readcache.go does that off it). A snapshot is immutable once published.

// Sizes of the canonical index.
const (
	// canonChunk is how many heights one chunk of the index holds; chunks below the newest are shared between
	// snapshots, so that a new head costs one chunk's copy.
	canonChunk = 1024
	// canonStep bounds the heights one loop call adds to the index: the first build of a long chain takes many
	// short calls, never one long one.
	canonStep = 8192
)

// canonEntry is what the read routes need of a canonical block.
type canonEntry struct {
	hash     chain.Hash
	slot     chain.Slot
	proposer chain.Address
}

// readSnap is the canonical chain as of one head: entries[h] is the canonical block at height h (0: genesis).
type readSnap struct {
	chunks    [][]canonEntry
	n         int              // heights held: 0..n-1
	head      chain.Hash       // the head the index ends at
	finalized chain.Checkpoint // the head branch's finalized checkpoint
	finHeight chain.Height     // its block's height: canonical blocks at or below it are final
	orphans   []view.Orphan    // the orphan log's blocks off this canonical chain, oldest first
}

// at returns the canonical block at height h < s.n.
func (s *readSnap) at(h chain.Height) canonEntry { return s.chunks[h/canonChunk][h%canonChunk] }

// headHeight is the height of the snapshot's head.
func (s *readSnap) headHeight() chain.Height { return chain.Height(s.n - 1) }

// canonical reports whether block h at height is on the snapshot's canonical chain.
func (s *readSnap) canonical(h chain.Hash, height chain.Height) bool {
	return height < chain.Height(s.n) && s.at(height).hash == h
}

// finality is the state a canonical block at height has in the snapshot (view.BlockFinal or BlockCommitted).
func (s *readSnap) finality(height chain.Height) string {
	if height <= s.finHeight {
		return view.BlockFinal
	}
	return view.BlockCommitted
}

// lastBefore returns the height of the newest canonical block whose slot is before slot (0, the genesis, if
// none): a binary search, slots growing with heights.
func (s *readSnap) lastBefore(slot chain.Slot) chain.Height {
	i := sort.Search(s.n, func(i int) bool { return i > 0 && s.at(chain.Height(i)).slot >= slot })
	return chain.Height(max(i-1, 0))
}

// readIndex owns the published snapshot; refresh is serialised by mu, readers load snap without it. It keeps the
// mixes of the blocks the slot grid's seeds come from (mixOf), one per epoch served.
type readIndex struct {
	mu   sync.Mutex
	snap atomic.Pointer[readSnap]

	mixMu sync.Mutex
	mixes map[chain.Hash]chain.Hash // block hash -> its mix; a block's mix never changes
}

// maxMixes bounds readIndex.mixes: 32 + 32 bytes per epoch served, dropped all at once when full.
const maxMixes = 1 << 16

// mixOf returns the mix of block h (PROTOCOL.md §6), kept after its first read from the store. Errors: ErrNotFound
// for a block the node does not hold, the store's.
func (r *readIndex) mixOf(ctx context.Context, n *Node, h chain.Hash) (chain.Hash, error) {
	r.mixMu.Lock()
	mix, ok := r.mixes[h]
	r.mixMu.Unlock()
	if ok {
		return mix, nil
	}
	if h.IsZero() {
		return chain.Hash{}, fmt.Errorf("%w: a block below the oldest the node holds", ErrNotFound)
	}
	b, err := n.readBlock(ctx, h)
	if err != nil {
		return chain.Hash{}, err
	}
	r.mixMu.Lock()
	defer r.mixMu.Unlock()
	if r.mixes == nil || len(r.mixes) >= maxMixes {
		r.mixes = map[chain.Hash]chain.Hash{}
	}
	r.mixes[h] = b.Header.Mix
	return b.Header.Mix, nil
}

// readSnapshot returns a snapshot as of the head the loop last published, extending the previous one through
// short calls to the loop when the head moved. Errors: the context's, ErrStopped.
func (n *Node) readSnapshot(ctx context.Context) (*readSnap, error) {
	if s := n.reads.snap.Load(); s != nil && n.headIs(s.head) {
		return s, nil
	}
	n.reads.mu.Lock()
	defer n.reads.mu.Unlock()
	cur := n.reads.snap.Load()
	if cur != nil && n.headIs(cur.head) {
		return cur, nil
	}
	b := newSnapBuilder(cur)
	b.fillFinal(n)
	for done := false; !done; {
		if err := n.call(ctx, func() { done = b.step(n) }); err != nil {
			return nil, err
		}
	}
	b.snap.finHeight = b.finHeight(n.cfg.Genesis)
	n.reads.snap.Store(b.snap)
	return b.snap, nil
}

// headIs reports whether the head published for readers off the loop is h.
func (n *Node) headIs(h chain.Hash) bool {
	hv := n.head.Load()
	return hv != nil && hv.tip.Hash == h
}

// snapBuilder makes the next snapshot from the last: chunks it writes are copies, the others shared.
type snapBuilder struct {
	snap   *readSnap
	copied map[int]bool
}

func newSnapBuilder(cur *readSnap) *snapBuilder {
	s := &readSnap{}
	if cur != nil {
		s.chunks, s.n = slices.Clone(cur.chunks), cur.n
	}
	return &snapBuilder{snap: s, copied: map[int]bool{}}
}

// set writes the canonical block at height h, copying its chunk once per snapshot.
func (b *snapBuilder) set(h chain.Height, e canonEntry) {
	c := int(h / canonChunk)
	for len(b.snap.chunks) <= c {
		b.snap.chunks = append(b.snap.chunks, make([]canonEntry, canonChunk))
		b.copied[len(b.snap.chunks)-1] = true
	}
	if !b.copied[c] {
		b.snap.chunks[c], b.copied[c] = slices.Clone(b.snap.chunks[c]), true
	}
	b.snap.chunks[c][h%canonChunk] = e
}

// fillFinal adds the heights from the snapshot's end on that the store's canonical index holds (finalized
// blocks, which never change), reading them from the store off the event loop: below the tree's floor the loop
// would read each block whole (5,000 records, their tx root) to learn its slot and proposer. Heights the index
// lacks below one it holds were pruned and stay empty, as canonAt leaves them; the rest is step's.
func (b *snapBuilder) fillFinal(n *Node) {
	s, hv := b.snap, n.head.Load()
	if hv == nil {
		return
	}
	if s.n == 0 {
		b.set(0, canonEntry{hash: n.chainID})
		s.n = 1
	}
	last := chain.Height(s.n - 1)
	for h := chain.Height(s.n); h <= hv.tip.Height; h++ {
		hash, err := n.store.CanonicalAt(h)
		if err != nil {
			continue
		}
		blk, err := n.store.Block(hash)
		if err != nil {
			break
		}
		b.set(h, canonEntry{hash: hash, slot: blk.Header.Slot, proposer: blk.Header.Proposer})
		last = h
	}
	s.n = int(last) + 1
}

// step runs on the event loop: far below the head it appends up to canonStep heights; near it, it walks down
// from the head to the first height the index already holds as canonical (a reorg's depth) and finishes the
// snapshot. It reports whether the snapshot is done.
func (b *snapBuilder) step(n *Node) bool {
	s, head := b.snap, n.tree.Head()
	if int(head.Height)+1 > s.n+canonStep {
		for h := chain.Height(s.n); h < chain.Height(s.n+canonStep); h++ {
			b.set(h, canonAt(n, h))
		}
		s.n += canonStep
		return false
	}
	for h := head.Height; ; h-- {
		e := canonAt(n, h)
		if h < chain.Height(s.n) && s.at(h) == e {
			break
		}
		b.set(h, e)
		if h == 0 {
			break
		}
	}
	s.n, s.head = int(head.Height)+1, head.Hash
	_, s.finalized = n.tree.Finality()
	s.orphans = nil
	for _, o := range n.orphans.blocks {
		if h, ok := n.tree.CanonicalHash(chain.Height(o.Height)); !ok || h != o.Hash {
			s.orphans = append(s.orphans, o)
		}
	}
	return true
}

// finHeight is the height of the finalized checkpoint's block: the checkpoint of epoch e is the newest canonical
// block before e's first slot (PROTOCOL.md §8a); the genesis if the snapshot does not hold it there.
func (b *snapBuilder) finHeight(g *chain.Genesis) chain.Height {
	s := b.snap
	h := s.lastBefore(chain.Slot(uint64(s.finalized.Epoch) * g.EpochLength))
	if s.at(h).hash != s.finalized.Hash {
		return 0
	}
	return h
}

// canonAt is the canonical block at height h of the tree; on the event loop.
func canonAt(n *Node, h chain.Height) canonEntry {
	if h == 0 {
		return canonEntry{hash: n.chainID}
	}
	hd, hash, _ := n.tree.CanonicalHeader(h)
	return canonEntry{hash: hash, slot: hd.Slot, proposer: hd.Proposer}
}
