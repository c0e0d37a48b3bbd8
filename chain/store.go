package chain

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
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
	blocks map[Hash][]byte   // hash → encoding
	keys   [][]byte          // block keys in byte order
	txs    map[Hash][]Hash   // tx id → hashes of blocks holding it, sorted
	meta   map[string][]byte // meta records
}

// NewMemStore returns an empty MemStore.
func NewMemStore() *MemStore {
	return &MemStore{
		blocks: make(map[Hash][]byte),
		txs:    make(map[Hash][]Hash),
		meta:   make(map[string][]byte),
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
	m.blocks[h] = b.Encode()
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
func (m *MemStore) ForEach(fn func(*Block) error) error {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return ErrStoreClosed
	}
	encs := make([][]byte, len(m.keys))
	for i, k := range m.keys {
		encs[i] = m.blocks[Hash(k[8:])]
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

// Close marks the store closed and drops its contents. Closing twice is not an error.
func (m *MemStore) Close() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.closed = true
	m.blocks, m.keys, m.txs, m.meta = nil, nil, nil, nil
	return nil
}
