package chain

import (
	"bytes"
	"errors"
	"fmt"
	"runtime/debug"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

// bbolt trusts its file: it follows page numbers and lengths read from disk through a memory map, so a damaged
// page makes it panic, fault, loop or allocate without bound instead of returning an error, and its consistency
// check (Tx.Check) has the same trust and runs on a goroutine of its own. OpenBolt therefore reads and checks the
// file's page structure itself before bbolt opens it (verifyBoltFile), opens it with panics turned into errors
// (guard), and then checks that the block index agrees with the blocks (checkIndex). A file that passes is safe
// to read; one damaged later, while the node runs, is caught at the next start.

// openChecked verifies the file at path, opens it and checks its records with check. A damaged file is ErrCorruptStore, unless another process
// holds it (its writes may be what the check saw half done): then bbolt's lock timeout is returned.
func openChecked(path string, check func(*bolt.Tx) error) (*bolt.DB, error) {
	if verr := verifyBoltFile(path); verr != nil {
		if err := probeLock(path); err != nil {
			return nil, err
		}
		return nil, verr
	}
	var db *bolt.DB
	err := guard(func() error {
		var err error
		db, err = bolt.Open(path, 0o600, &bolt.Options{Timeout: boltLockTimeout})
		return err
	})
	if err != nil {
		return nil, err
	}
	if err := guard(func() error { return db.View(check) }); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

// probeLock returns bbolt's timeout error when another process holds the file at path. A read-only open reads
// only the meta pages, which carry checksums, so it is safe on a damaged file.
func probeLock(path string) error {
	return guard(func() error {
		db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true, Timeout: boltLockTimeout})
		if errors.Is(err, berrors.ErrTimeout) {
			return err
		}
		if err == nil {
			db.Close()
		}
		return nil
	})
}

// guard runs fn and turns a panic in it, or a memory fault (a page number or length past the end of the map),
// into an error wrapping ErrCorruptStore. Only the storage boundary uses it, around bbolt.
func guard(fn func() error) (err error) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%w: %v", ErrCorruptStore, r)
		}
	}()
	return fn()
}

// checkIndex checks the records' shapes and that the blocks bucket and the heights index name the same blocks.
// The tx index is checked for shape only: looking up every entry would cost seconds at start on a long chain.
func checkIndex(tx *bolt.Tx) error {
	present := 0
	for _, name := range [][]byte{bucketBlocks, bucketHeights, bucketTxs, bucketMeta} {
		if tx.Bucket(name) != nil {
			present++
		}
	}
	switch present {
	case 0:
		return nil // a new store: OpenBolt creates the buckets
	case 1, 2, 3:
		return fmt.Errorf("%w: %d of the store's 4 buckets are missing", ErrCorruptStore, 4-present)
	}
	blocks, heights := tx.Bucket(bucketBlocks), tx.Bucket(bucketHeights)
	nb, nh := 0, 0
	err := blocks.ForEach(func(k, _ []byte) error {
		nb++
		if len(k) != 8+len(Hash{}) || !bytes.Equal(heights.Get(k[8:]), k[:8]) {
			return fmt.Errorf("%w: block record %x is not in the heights index", ErrCorruptStore, k)
		}
		return nil
	})
	if err == nil {
		err = heights.ForEach(func(k, v []byte) error {
			nh++
			if len(k) != len(Hash{}) || len(v) != 8 {
				return fmt.Errorf("%w: height record %x → %x", ErrCorruptStore, k, v)
			}
			return nil
		})
	}
	if err == nil && nb != nh {
		err = fmt.Errorf("%w: %d block records, %d height records", ErrCorruptStore, nb, nh)
	}
	if err != nil {
		return err
	}
	return tx.Bucket(bucketTxs).ForEach(func(k, _ []byte) error {
		if len(k) != 2*len(Hash{}) {
			return fmt.Errorf("%w: tx index key %x", ErrCorruptStore, k)
		}
		return nil
	})
}
