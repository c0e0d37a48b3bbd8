package chain

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"slices"

	bolt "go.etcd.io/bbolt"
)

// The BoltStore's part of pruning (PROTOCOL.md §13): the canonical index below the tree's floor, the deletion of
// pruned blocks and the snapshot, all in one bbolt transaction per Finalize.

// Finalize applies f in one synced transaction: a crash leaves either all of it or none.
// The transaction index file then drops the deleted blocks' entries (derived data: a crash before that leaves
// entries that name no stored block, which readers skip).
func (s *BoltStore) Finalize(f *Finalization) error {
	var removed []pendingBlock
	err := s.db.Update(func(tx *bolt.Tx) error {
		removed = removed[:0]
		canon := tx.Bucket(bucketCanon)
		for i, h := range f.Canon {
			if err := canon.Put(heightKey(f.From+Height(i)), h[:]); err != nil {
				return err
			}
		}
		if err := pruneBelow(tx, f.PruneBelow, &removed); err != nil {
			return err
		}
		for _, r := range f.Delete {
			if err := deleteBlock(tx, blockKey(r.Height, r.Hash), &removed); err != nil {
				return err
			}
		}
		for _, b := range f.Blocks {
			if err := putBlock(tx, b); err != nil {
				return err
			}
		}
		if err := putAnchors(tx.Bucket(bucketAnchors), f); err != nil {
			return err
		}
		return tx.Bucket(bucketMeta).Put([]byte(metaSnapshot), f.Snapshot)
	})
	if err != nil {
		return s.wrap("finalize", err)
	}
	s.idx.remove(removed)
	if len(f.Blocks) > 0 {
		s.idx.add(f.Blocks)
	}
	return nil
}

// remove deletes the index entries of blocks deleted from the store. A failure is kept for Err, as a failed
// write of the index is: the entries left name no stored block.
func (x *txIndex) remove(bs []pendingBlock) {
	if len(bs) == 0 {
		return
	}
	x.mu.Lock()
	if x.gone == nil {
		x.gone = map[Hash]bool{}
	}
	for _, p := range bs {
		x.gone[p.hash] = true // a pending block is skipped by the write that would index it
	}
	x.mu.Unlock()
	err := x.db.Update(func(tx *bolt.Tx) error {
		txs, done := tx.Bucket(bucketIndexTxs), tx.Bucket(bucketIndexBlocks)
		for _, p := range bs {
			for _, id := range p.ids {
				if err := txs.Delete(append(id[:], p.hash[:]...)); err != nil {
					return err
				}
			}
			if err := done.Delete(p.hash[:]); err != nil {
				return err
			}
		}
		return nil
	})
	x.mu.Lock()
	defer x.mu.Unlock()
	x.err = err
	for h := range x.gone { // only a block still pending can be written again
		if !slices.ContainsFunc(x.pending, func(p pendingBlock) bool { return p.hash == h }) {
			delete(x.gone, h)
		}
	}
}

// heightKey is the canonical index's key of height: u64 big-endian.
func heightKey(h Height) []byte { return binary.BigEndian.AppendUint64(nil, uint64(h)) }

// pruneBelow deletes every block and canonical index entry below height, adding the deleted blocks to removed.
func pruneBelow(tx *bolt.Tx, height Height, removed *[]pendingBlock) error {
	if height == 0 {
		return nil
	}
	end := heightKey(height)
	for _, name := range [][]byte{bucketBlocks, bucketCanon} {
		var keys [][]byte
		c := tx.Bucket(name).Cursor()
		for k, _ := c.First(); k != nil && bytes.Compare(k[:8], end) < 0; k, _ = c.Next() {
			keys = append(keys, bytes.Clone(k))
		}
		for _, k := range keys {
			if err := deleteKey(tx, name, k, removed); err != nil {
				return err
			}
		}
	}
	return nil
}

// deleteKey deletes k from bucket name; a block key takes its height record with it.
func deleteKey(tx *bolt.Tx, name, k []byte, removed *[]pendingBlock) error {
	if bytes.Equal(name, bucketBlocks) {
		return deleteBlock(tx, k, removed)
	}
	return tx.Bucket(name).Delete(k)
}

// deleteBlock deletes the block stored under key, and its height record, adding it to removed; a key not stored
// is no error.
func deleteBlock(tx *bolt.Tx, key []byte, removed *[]pendingBlock) error {
	v := tx.Bucket(bucketBlocks).Get(key)
	if v == nil {
		return nil
	}
	if b, err := decodeRecord(key, v); err == nil {
		*removed = append(*removed, pendingOf(b))
	}
	if err := tx.Bucket(bucketBlocks).Delete(key); err != nil {
		return err
	}
	return tx.Bucket(bucketHeights).Delete(key[8:])
}

// putAnchors stores f.Anchors in bucket b, keyed by epoch u64 | hash, and deletes the anchors of epochs below
// f.AnchorsBelow.
func putAnchors(b *bolt.Bucket, f *Finalization) error {
	for _, r := range f.Anchors {
		if err := b.Put(append(heightKey(Height(r.Epoch)), r.Hash[:]...), r.Enc); err != nil {
			return err
		}
	}
	end := heightKey(Height(f.AnchorsBelow))
	var old [][]byte
	c := b.Cursor()
	for k, _ := c.First(); k != nil && bytes.Compare(k, end) < 0; k, _ = c.Next() {
		old = append(old, bytes.Clone(k))
	}
	for _, k := range old {
		if err := b.Delete(k); err != nil {
			return err
		}
	}
	return nil
}

// Anchor returns a copy of the kept anchor at block h: it looks through the few kept ones (one per finalized
// floor of the last AnchorEpochs epochs).
func (s *BoltStore) Anchor(h Hash) ([]byte, error) {
	var enc []byte
	err := s.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketAnchors)
		if b == nil {
			return fmt.Errorf("%w: anchor at block %s", ErrNotFound, h.Short())
		}
		c := b.Cursor()
		for k, v := c.Last(); k != nil; k, v = c.Prev() {
			if len(k) == 8+len(h) && bytes.Equal(k[8:], h[:]) {
				enc = bytes.Clone(v)
				return nil
			}
		}
		return fmt.Errorf("%w: anchor at block %s", ErrNotFound, h.Short())
	})
	return enc, s.wrap("read anchor", err)
}

// Snapshot returns a copy of the stored snapshot, or nil when there is none.
func (s *BoltStore) Snapshot() ([]byte, error) { return s.Meta(metaSnapshot) }

// CanonicalAt returns the canonical index's hash at height.
func (s *BoltStore) CanonicalAt(height Height) (Hash, error) {
	var h Hash
	err := s.db.View(func(tx *bolt.Tx) error {
		v := tx.Bucket(bucketCanon).Get(heightKey(height))
		if v == nil {
			return fmt.Errorf("%w: canonical block at height %d", ErrNotFound, height)
		}
		if len(v) != len(h) {
			return fmt.Errorf("%w: canonical index entry of height %d is %d bytes", ErrCorruptStore, height, len(v))
		}
		copy(h[:], v)
		return nil
	})
	return h, s.wrap("read canonical index", err)
}
