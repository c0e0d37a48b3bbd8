package chain

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

// Buckets of a BoltStore.
var (
	bucketBlocks  = []byte("blocks")  // height u64 | hash → block encoding
	bucketHeights = []byte("heights") // hash → height u64
	bucketTxs     = []byte("txs")     // empty: the transaction index of versions before it had a file of its own
	bucketMeta    = []byte("meta")    // key → value
	bucketCanon   = []byte("canon")   // height u64 → hash of the canonical block below the tree's floor
	bucketAnchors = []byte("anchors") // checkpoint epoch u64 | block hash → anchor encoding (PROTOCOL.md §13a)
)

// metaSnapshot is the meta record that holds the tree's snapshot (PROTOCOL.md §13).
const metaSnapshot = "tree/snapshot"

// boltLockTimeout bounds the wait for the file lock, so that a second process opening the same file
// fails instead of hanging.
const boltLockTimeout = time.Second

// BoltStore is a Store in a bbolt file. Every write is one bbolt transaction, synced to disk before
// it returns, so a crash leaves either all or nothing of it. The transaction index is in a second file,
// <path>.txindex, written in the background (txindexdb.go).
type BoltStore struct {
	db  *bolt.DB
	idx *txIndex
}

// OpenBolt opens or creates the store in the file at path, and its transaction index in <path>.txindex. It
// fails with ErrStoreLocked when another process has the file open, and with ErrCorruptStore, never a panic,
// when the file is damaged: it reads and checks the whole file first (openChecked). A damaged index file is made
// again from the blocks, and so are the index entries of blocks a crash kept out of it.
func OpenBolt(path string) (*BoltStore, error) {
	db, err := openChecked(path, checkIndex)
	if errors.Is(err, berrors.ErrTimeout) {
		return nil, fmt.Errorf("%w: %s is in use by another process", ErrStoreLocked, path)
	}
	if err != nil {
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		if old := tx.Bucket(bucketTxs); old != nil && old.Stats().KeyN > 0 {
			if err := tx.DeleteBucket(bucketTxs); err != nil { // the index file is made from the blocks
				return err
			}
		}
		return createBuckets(tx, bucketBlocks, bucketHeights, bucketTxs, bucketMeta, bucketCanon, bucketAnchors)
	})
	if errors.Is(err, berrors.ErrIncompatibleValue) { // a bucket's record damaged into a value
		db.Close()
		return nil, fmt.Errorf("open store %s: %w: %w", path, ErrCorruptStore, err)
	}
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("open store %s: %w: %w", path, ErrStoreFailed, err)
	}
	idx, err := openTxIndex(indexPath(path), db)
	if err != nil {
		db.Close()
		return nil, err
	}
	return &BoltStore{db: db, idx: idx}, nil
}

// createBuckets creates the buckets that tx lacks of names.
func createBuckets(tx *bolt.Tx, names ...[]byte) error {
	for _, name := range names {
		if _, err := tx.CreateBucketIfNotExists(name); err != nil {
			return err
		}
	}
	return nil
}

// PutBlock stores b in one synced transaction.
func (s *BoltStore) PutBlock(b *Block) error { return s.PutBlocks([]*Block{b}) }

// PutBlocks stores every block of bs in one synced transaction.
func (s *BoltStore) PutBlocks(bs []*Block) error {
	err := s.db.Update(func(tx *bolt.Tx) error {
		for _, b := range bs {
			if err := putBlock(tx, b); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return s.wrap("put blocks", err)
	}
	s.idx.add(bs)
	return nil
}

// putBlock writes b, unless it is already stored.
func putBlock(tx *bolt.Tx, b *Block) error {
	h := b.Hash()
	heights := tx.Bucket(bucketHeights)
	if heights.Get(h[:]) != nil {
		return nil
	}
	var hb [8]byte
	binary.BigEndian.PutUint64(hb[:], uint64(b.Header.Height))
	if err := tx.Bucket(bucketBlocks).Put(blockKey(b.Header.Height, h), b.Encode()); err != nil {
		return err
	}
	if err := heights.Put(h[:], hb[:]); err != nil {
		return err
	}
	return nil
}

// Block returns the stored block with hash h.
func (s *BoltStore) Block(h Hash) (*Block, error) {
	var b *Block
	err := s.db.View(func(tx *bolt.Tx) error {
		hb := tx.Bucket(bucketHeights).Get(h[:])
		if hb == nil {
			return fmt.Errorf("%w: block %s", ErrNotFound, h.Short())
		}
		if len(hb) != 8 {
			return fmt.Errorf("%w: height record of block %s is %d bytes", ErrCorruptStore, h, len(hb))
		}
		key := blockKey(Height(binary.BigEndian.Uint64(hb)), h)
		v := tx.Bucket(bucketBlocks).Get(key)
		if v == nil {
			return fmt.Errorf("%w: no block record %x for indexed block", ErrCorruptStore, key)
		}
		var err error
		b, err = decodeRecord(key, v)
		return err
	})
	return b, s.wrap("read block", err)
}

// decodeRecord decodes the block stored under key and checks that it is the block the key names.
func decodeRecord(key, v []byte) (*Block, error) {
	b, err := DecodeBlock(v)
	if err != nil {
		return nil, fmt.Errorf("%w: block record %x: %w", ErrCorruptStore, key, err)
	}
	h := b.Hash()
	if !bytes.Equal(blockKey(b.Header.Height, h), key) {
		return nil, fmt.Errorf("%w: block record %x holds block %s at height %d", ErrCorruptStore, key, h, b.Header.Height)
	}
	return b, nil
}

// ForEach calls fn for every stored block in key order: by height, then by hash. It holds a read
// transaction while it runs, so fn must not write to the store.
func (s *BoltStore) ForEach(fn func(*Block) error) error { return s.ForEachFrom(0, fn) }

// ForEachFrom is ForEach from height from.
func (s *BoltStore) ForEachFrom(from Height, fn func(*Block) error) error {
	err := s.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketBlocks).Cursor()
		for k, v := c.Seek(blockKey(from, Hash{})); k != nil; k, v = c.Next() {
			b, err := decodeRecord(k, v)
			if err != nil {
				return err
			}
			if err := fn(b); err != nil {
				return err
			}
		}
		return nil
	})
	return s.wrap("", err)
}

// TxBlocks returns the hashes of the stored blocks that include tx id, in hash order.
func (s *BoltStore) TxBlocks(id Hash) ([]Hash, error) {
	hs, err := s.idx.txBlocks(id)
	return hs, s.wrap("read tx index", err)
}

// PutMeta durably stores val under key.
func (s *BoltStore) PutMeta(key string, val []byte) error {
	if key == "" {
		return errEmptyMetaKey
	}
	err := s.db.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketMeta).Put([]byte(key), val)
	})
	return s.wrap("put meta", err)
}

// Meta returns a copy of the record under key, or nil when there is none.
func (s *BoltStore) Meta(key string) ([]byte, error) {
	if key == "" {
		return nil, nil
	}
	var val []byte
	err := s.db.View(func(tx *bolt.Tx) error {
		if v := tx.Bucket(bucketMeta).Get([]byte(key)); v != nil {
			val = append([]byte{}, v...)
		}
		return nil
	})
	return val, s.wrap("read meta", err)
}

// Close writes the transaction index and closes both files. Closing twice is not an error.
func (s *BoltStore) Close() error {
	return errors.Join(s.idx.close(), s.db.Close())
}

// wrap adds context to a bbolt error: a closed database is ErrStoreClosed, any other failure of bbolt or
// the disk under it (no space left, an I/O error) wraps ErrStoreFailed. Errors of this package, and of fn
// in ForEach (op ""), pass through unchanged.
func (s *BoltStore) wrap(op string, err error) error {
	var own bool
	for _, e := range []error{ErrNotFound, ErrCorruptStore, ErrStoreFailed, ErrStoreClosed} {
		own = own || errors.Is(err, e)
	}
	switch {
	case err == nil:
		return nil
	case errors.Is(err, berrors.ErrDatabaseNotOpen):
		return ErrStoreClosed
	case op == "" || own:
		return err
	}
	return fmt.Errorf("%w: %s: %w", ErrStoreFailed, op, err)
}
