package chain

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"maps"
	"sort"
	"sync"
)

// Store errors.
var (
	// ErrNotFound: the store holds no block with the requested hash.
	ErrNotFound = errors.New("not found")
	// ErrStoreClosed: the store was used after Close.
	ErrStoreClosed = errors.New("store closed")
	// ErrCorruptStore: a stored record does not decode or does not match its key.
	ErrCorruptStore = errors.New("corrupt store")
	// ErrStoreLocked: another process holds the store's file.
	ErrStoreLocked = errors.New("store locked")
	// ErrStoreFailed: the store could not read or write its file (no space left, an I/O error). Nothing of
	// the failed write is stored; the store works again once the disk does.
	ErrStoreFailed = errors.New("storage failure")
)

// Store keeps blocks and a few small records durably. Implementations are safe for concurrent use.
// Putting a block that is already stored is a no-op.
type Store interface {
	// PutBlock stores b and indexes its transaction IDs; b is durable when PutBlock returns.
	PutBlock(b *Block) error
	// PutBlocks stores bs in one durable write: after a crash either all or none of them are stored.
	PutBlocks(bs []*Block) error
	// Block returns the stored block with hash h, or an error wrapping ErrNotFound.
	Block(h Hash) (*Block, error)
	// ForEach calls fn for every stored block in order of height (parents before children), then
	// by hash. It stops at the first error and returns it. fn must not write to the store.
	ForEach(fn func(*Block) error) error
	// TxBlocks returns the hashes of the stored blocks that include the transaction id, in hash order.
	TxBlocks(id Hash) ([]Hash, error)
	// TxIDs returns, in byte order, up to max distinct IDs of indexed transactions that start with prefix.
	TxIDs(prefix []byte, max int) ([]Hash, error)
	// PutMeta durably stores a small record under a non-empty key.
	PutMeta(key string, val []byte) error
	// Meta returns the record stored under key, or nil, nil when there is none.
	Meta(key string) ([]byte, error)
	// ForEachFrom is ForEach for the blocks at height from and above.
	ForEachFrom(from Height, fn func(*Block) error) error
	// Finalize applies f in one durable write (PROTOCOL.md §13): it indexes f.Canon by height, deletes f.Delete
	// and every block and index entry below f.PruneBelow, replaces the snapshot with f.Snapshot, stores f.Blocks,
	// stores f.Anchors and then deletes the stored anchors of epochs below f.AnchorsBelow. After a crash either
	// all of it is done or none. The store may keep f's snapshot and anchor encodings as they are: the caller never
	// writes them after.
	Finalize(f *Finalization) error
	// Anchor returns the encoding of the stored anchor at block h (PROTOCOL.md §13a), or an error wrapping
	// ErrNotFound.
	Anchor(h Hash) ([]byte, error)
	// Snapshot returns the stored snapshot, or nil, nil when there is none.
	Snapshot() ([]byte, error)
	// CanonicalAt returns the hash the canonical index holds for height, or an error wrapping ErrNotFound.
	CanonicalAt(height Height) (Hash, error)
	// Close releases the store; later calls fail with ErrStoreClosed.
	Close() error
}

// blockKey returns the key a block is stored under: height u64 big-endian | hash. Keys in byte order
// are blocks in height order.
func blockKey(height Height, h Hash) []byte {
	k := make([]byte, 8+len(h))
	binary.BigEndian.PutUint64(k, uint64(height))
	copy(k[8:], h[:])
	return k
}

// errEmptyMetaKey is returned by PutMeta for an empty key (bbolt cannot store one).
var errEmptyMetaKey = errors.New("empty meta key")

// MemStore is a Store in memory, for tests and tools. It keeps block encodings, so a returned block is
// the caller's to modify, as with BoltStore.
type MemStore struct {
	mu     sync.Mutex
	closed bool
	blocks map[Hash][]byte       // hash → encoding
	keys   [][]byte              // block keys in byte order
	txs    map[Hash][]Hash       // tx id → hashes of blocks holding it, sorted
	meta   map[string][]byte     // meta records
	canon  map[Height]Hash       // the canonical index below the tree's floor
	snap   []byte                // the snapshot
	anch   map[Hash]AnchorRecord // the kept anchors (PROTOCOL.md §13a)
	pool   *BlockPool            // encodings shared with other stores; nil: none
}

// BlockPool lets MemStores in one process share the bytes of the blocks and the kept anchors they hold: many
// simulated nodes store the same blocks and finalize the same checkpoints, and each kept its own copy of every
// encoding (an anchor holds every account: one per finalized epoch for the weak-subjectivity period). A store
// keeps the pool's copy when its own encoding is byte for byte the same, so what a store returns is unchanged.
// The pool keeps every encoding it was given; it is safe for concurrent use.
type BlockPool struct {
	mu      sync.Mutex
	encs    map[Hash][]byte // block hash → encoding
	anchors map[Hash][]byte // checkpoint block hash → anchor encoding
}

// NewBlockPool returns an empty pool.
func NewBlockPool() *BlockPool {
	return &BlockPool{encs: map[Hash][]byte{}, anchors: map[Hash][]byte{}}
}

// intern returns the pool's encoding of block h when it equals enc, else enc, which it keeps when it has none.
func (p *BlockPool) intern(h Hash, enc []byte) []byte { return p.internIn(p.encs, h, enc) }

// internAnchor returns the pool's encoding of the anchor at checkpoint h when it equals enc, else enc, which it keeps
// when it has none.
func (p *BlockPool) internAnchor(h Hash, enc []byte) []byte { return p.internIn(p.anchors, h, enc) }

// internIn returns m's bytes at h when they equal enc, else enc, which m keeps when it has none at h.
func (p *BlockPool) internIn(m map[Hash][]byte, h Hash, enc []byte) []byte {
	p.mu.Lock()
	defer p.mu.Unlock()
	if have, ok := m[h]; ok {
		if bytes.Equal(have, enc) {
			return have
		}
		return enc
	}
	m[h] = enc
	return enc
}

// NewSharedMemStore returns an empty MemStore that shares block encodings through pool.
func NewSharedMemStore(pool *BlockPool) *MemStore {
	m := NewMemStore()
	m.pool = pool
	return m
}

// NewMemStore returns an empty MemStore.
func NewMemStore() *MemStore {
	return &MemStore{
		blocks: make(map[Hash][]byte),
		txs:    make(map[Hash][]Hash),
		meta:   make(map[string][]byte),
		canon:  make(map[Height]Hash),
		anch:   make(map[Hash]AnchorRecord),
	}
}

// PutBlock stores b.
func (m *MemStore) PutBlock(b *Block) error { return m.PutBlocks([]*Block{b}) }

// PutBlocks stores every block of bs.
func (m *MemStore) PutBlocks(bs []*Block) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return ErrStoreClosed
	}
	for _, b := range bs {
		m.put(b)
	}
	return nil
}

func (m *MemStore) put(b *Block) {
	h := b.Hash()
	if _, ok := m.blocks[h]; ok {
		return
	}
	enc := b.Encode()
	if m.pool != nil {
		enc = m.pool.intern(h, enc)
	}
	m.blocks[h] = enc
	k := blockKey(b.Header.Height, h)
	i := sort.Search(len(m.keys), func(i int) bool { return bytes.Compare(m.keys[i], k) >= 0 })
	m.keys = append(m.keys, nil)
	copy(m.keys[i+1:], m.keys[i:])
	m.keys[i] = k
	for j := range b.Txs {
		id := b.Txs[j].ID()
		hs := m.txs[id]
		n := sort.Search(len(hs), func(i int) bool { return bytes.Compare(hs[i][:], h[:]) >= 0 })
		hs = append(hs, Hash{})
		copy(hs[n+1:], hs[n:])
		hs[n] = h
		m.txs[id] = hs
	}
}

// Block returns the block with hash h.
func (m *MemStore) Block(h Hash) (*Block, error) {
	m.mu.Lock()
	enc, ok := m.blocks[h]
	closed := m.closed
	m.mu.Unlock()
	if closed {
		return nil, ErrStoreClosed
	}
	if !ok {
		return nil, fmt.Errorf("%w: block %s", ErrNotFound, h.Short())
	}
	return DecodeBlock(enc)
}

// ForEach calls fn for every block in height order. It works on a snapshot of the store taken when
// it is called.
func (m *MemStore) ForEach(fn func(*Block) error) error { return m.ForEachFrom(0, fn) }

// ForEachFrom calls fn for every block at height from and above, in height order.
func (m *MemStore) ForEachFrom(from Height, fn func(*Block) error) error {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return ErrStoreClosed
	}
	first := blockKey(from, Hash{})
	var encs [][]byte
	for _, k := range m.keys {
		if bytes.Compare(k, first) >= 0 {
			encs = append(encs, m.blocks[Hash(k[8:])])
		}
	}
	m.mu.Unlock()
	for _, enc := range encs {
		b, err := DecodeBlock(enc)
		if err != nil {
			return err
		}
		if err := fn(b); err != nil {
			return err
		}
	}
	return nil
}

// TxBlocks returns the hashes of the blocks that include tx id.
func (m *MemStore) TxBlocks(id Hash) ([]Hash, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return nil, ErrStoreClosed
	}
	return append([]Hash(nil), m.txs[id]...), nil
}

// PutMeta stores val under key.
func (m *MemStore) PutMeta(key string, val []byte) error {
	if key == "" {
		return errEmptyMetaKey
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return ErrStoreClosed
	}
	m.meta[key] = append([]byte{}, val...)
	return nil
}

// Meta returns the record under key, or nil when there is none.
func (m *MemStore) Meta(key string) ([]byte, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return nil, ErrStoreClosed
	}
	v, ok := m.meta[key]
	if !ok {
		return nil, nil
	}
	return append([]byte{}, v...), nil
}

// Finalize applies f (Store.Finalize).
func (m *MemStore) Finalize(f *Finalization) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return ErrStoreClosed
	}
	for i, h := range f.Canon {
		m.canon[f.From+Height(i)] = h
	}
	for h := range m.canon {
		if h < f.PruneBelow {
			delete(m.canon, h)
		}
	}
	m.snap = f.Snapshot // kept, not copied (Store.Finalize): a snapshot is tens of kilobytes at every rise
	if m.snap == nil {
		m.snap = []byte{} // written empty, as a copy of none is
	}
	for _, r := range f.Anchors {
		if m.pool != nil {
			r.Enc = m.pool.internAnchor(r.Hash, r.Enc)
		}
		m.anch[r.Hash] = r
	}
	maps.DeleteFunc(m.anch, func(_ Hash, r AnchorRecord) bool { return r.Epoch < f.AnchorsBelow })
	defer func() {
		for _, b := range f.Blocks {
			m.put(b)
		}
	}()
	if len(f.Delete) == 0 && f.PruneBelow == 0 {
		return nil
	}
	gone := map[string]bool{}
	for _, r := range f.Delete {
		gone[string(blockKey(r.Height, r.Hash))] = true
	}
	below := blockKey(f.PruneBelow, Hash{})
	kept := m.keys[:0]
	for _, k := range m.keys {
		if gone[string(k)] || bytes.Compare(k, below) < 0 {
			delete(m.blocks, Hash(k[8:]))
			continue
		}
		kept = append(kept, k)
	}
	m.keys = kept
	return nil
}

// Snapshot returns the stored snapshot, or nil.
func (m *MemStore) Snapshot() ([]byte, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return nil, ErrStoreClosed
	}
	return m.snap, nil
}

// Anchor returns the kept anchor at block h.
func (m *MemStore) Anchor(h Hash) ([]byte, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return nil, ErrStoreClosed
	}
	r, ok := m.anch[h]
	if !ok {
		return nil, fmt.Errorf("%w: anchor at block %s", ErrNotFound, h.Short())
	}
	return r.Enc, nil
}

// CanonicalAt returns the canonical index's hash at height.
func (m *MemStore) CanonicalAt(height Height) (Hash, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	h, ok := m.canon[height]
	if !ok {
		return Hash{}, fmt.Errorf("%w: canonical block at height %d", ErrNotFound, height)
	}
	return h, nil
}

// Close marks the store closed and drops its contents. Closing twice is not an error.
func (m *MemStore) Close() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.closed = true
	m.blocks, m.keys, m.txs, m.meta, m.canon, m.snap, m.anch = nil, nil, nil, nil, nil, nil, nil
	return nil
}
