package chain

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"slices"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

// The transaction index of a BoltStore (tx id → the stored blocks that hold it) lives in a bbolt file of its
// own, <chain.db>.txindex, and is written in the background. Its keys are transaction IDs, random by
// construction, so each write of a B+tree index touches one leaf page per transaction: written with the block,
// a block of 5,000 records rewrote some 5,000 pages of 4 KiB and held chain.db's single writer, and so the
// node's signing, for hundreds of milliseconds (BENCHMARKS.md, profiling). The index is derived data: a block
// is durable once chain.db holds it; the index catches up within indexEvery, readers see the blocks it has not
// written yet from memory, and on open every stored block the index lacks (a crash, a damaged or deleted index
// file, a store of an older version) is indexed again.

// Buckets of the index file.
var (
	bucketIndexTxs    = []byte("txs")    // tx id | block hash → empty
	bucketIndexBlocks = []byte("blocks") // block hash → empty: the blocks whose transactions are indexed
)

const (
	// indexEvery is how often the index writer writes the blocks stored since its last write.
	indexEvery = 500 * time.Millisecond
	// catchUpBatch is how many blocks the catch-up on open indexes per write.
	catchUpBatch = 256
)

// indexPath returns the path of the index file of the store at path.
func indexPath(path string) string { return path + ".txindex" }

// pendingBlock is a stored block whose transactions the index file does not hold yet.
type pendingBlock struct {
	hash Hash
	ids  []Hash
}

// txIndex is the transaction index file and the stored blocks not yet written to it. Safe for concurrent use.
type txIndex struct {
	db *bolt.DB

	mu      sync.Mutex
	pending []pendingBlock  // in store order
	ids     map[Hash][]Hash // the pending blocks' transactions: tx id → block hashes
	err     error           // the last write's failure; nil once one succeeds
	gone    map[Hash]bool   // blocks deleted from the store while pending: write skips them (remove)

	stop, done chan struct{}
}

// openTxIndex opens the index file of the store whose blocks are in chain (an open chain.db), creating it, or
// recreating it when it is damaged, and indexes every block of chain it lacks before it returns; then it starts
// the background writer.
func openTxIndex(path string, chain *bolt.DB) (*txIndex, error) {
	db, err := openIndexFile(path)
	if err != nil {
		return nil, err
	}
	x := &txIndex{db: db, ids: map[Hash][]Hash{}, stop: make(chan struct{}), done: make(chan struct{})}
	if err := x.catchUp(chain); err != nil {
		db.Close()
		return nil, err
	}
	go x.run()
	return x, nil
}

// openIndexFile opens the index file at path. A damaged file is removed and made again: it holds nothing that
// chain.db does not.
func openIndexFile(path string) (*bolt.DB, error) {
	db, err := openChecked(path, checkIndexFile)
	if errors.Is(err, ErrCorruptStore) {
		if rmErr := os.Remove(path); rmErr != nil {
			return nil, fmt.Errorf("remove damaged transaction index %s: %w: %w", path, ErrStoreFailed, rmErr)
		}
		db, err = openChecked(path, checkIndexFile)
	}
	if errors.Is(err, berrors.ErrTimeout) {
		return nil, fmt.Errorf("%w: %s is in use by another process", ErrStoreLocked, path)
	}
	if err != nil {
		return nil, fmt.Errorf("open transaction index %s: %w", path, err)
	}
	err = db.Update(func(tx *bolt.Tx) error { return createBuckets(tx, bucketIndexTxs, bucketIndexBlocks) })
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("open transaction index %s: %w: %w", path, ErrStoreFailed, err)
	}
	return db, nil
}

// checkIndexFile checks the shape of an index file's records: a new file has no bucket yet.
func checkIndexFile(tx *bolt.Tx) error {
	txs := tx.Bucket(bucketIndexTxs)
	if txs == nil {
		return nil
	}
	return txs.ForEach(func(k, _ []byte) error {
		if len(k) != 2*len(Hash{}) {
			return fmt.Errorf("%w: tx index key %x", ErrCorruptStore, k)
		}
		return nil
	})
}

// catchUp indexes the blocks of chain that the index file lacks, catchUpBatch per write.
func (x *txIndex) catchUp(chain *bolt.DB) error {
	for from := []byte{}; from != nil; {
		var batch []pendingBlock
		var err error
		if batch, from, err = x.missing(chain, from); err != nil {
			return err
		}
		if len(batch) == 0 {
			continue
		}
		if err := x.db.Update(func(tx *bolt.Tx) error { return putIndex(tx, batch) }); err != nil {
			return fmt.Errorf("%w: index stored blocks: %w", ErrStoreFailed, err)
		}
	}
	return nil
}

// missing returns up to catchUpBatch blocks of chain from block key from on that the index file lacks, and the
// key to go on from (nil at the end).
func (x *txIndex) missing(chain *bolt.DB, from []byte) (batch []pendingBlock, next []byte, err error) {
	err = chain.View(func(ctx *bolt.Tx) error {
		return x.db.View(func(itx *bolt.Tx) error {
			done := itx.Bucket(bucketIndexBlocks)
			c := ctx.Bucket(bucketBlocks).Cursor()
			for k, v := c.Seek(from); k != nil; k, v = c.Next() {
				if len(batch) == catchUpBatch {
					next = slices.Clone(k)
					return nil
				}
				if len(k) == 8+len(Hash{}) && done.Get(k[8:]) != nil {
					continue
				}
				b, err := decodeRecord(k, v)
				if err != nil {
					return err
				}
				batch = append(batch, pendingOf(b))
			}
			return nil
		})
	})
	return batch, next, err
}

func pendingOf(b *Block) pendingBlock {
	p := pendingBlock{hash: b.Hash(), ids: make([]Hash, len(b.Txs))}
	for i := range b.Txs {
		p.ids[i] = b.Txs[i].ID()
	}
	return p
}

// putIndex writes the index entries of bs, in key order (fewer pages touched than in arrival order), and marks
// the blocks indexed.
func putIndex(tx *bolt.Tx, bs []pendingBlock) error {
	var keys [][]byte
	for _, p := range bs {
		for _, id := range p.ids {
			keys = append(keys, append(id[:], p.hash[:]...))
		}
	}
	slices.SortFunc(keys, bytes.Compare)
	txs, done := tx.Bucket(bucketIndexTxs), tx.Bucket(bucketIndexBlocks)
	for _, k := range keys {
		if err := txs.Put(k, []byte{}); err != nil {
			return err
		}
	}
	for _, p := range bs {
		if err := done.Put(p.hash[:], []byte{}); err != nil {
			return err
		}
	}
	return nil
}

// add queues the transactions of blocks just stored in chain.db for the next write; readers see them at once.
func (x *txIndex) add(bs []*Block) {
	ps := make([]pendingBlock, len(bs))
	for i, b := range bs {
		ps[i] = pendingOf(b)
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	for _, p := range ps {
		x.pending = append(x.pending, p)
		for _, id := range p.ids {
			x.ids[id] = append(x.ids[id], p.hash)
		}
	}
}

// run writes the pending blocks every indexEvery until close.
func (x *txIndex) run() {
	defer close(x.done)
	t := time.NewTicker(indexEvery)
	defer t.Stop()
	for {
		select {
		case <-x.stop:
			x.write()
			return
		case <-t.C:
			x.write()
		}
	}
}

// write writes the blocks pending now in one transaction of the index file, then forgets them; on failure they
// stay pending (readers still see them) for the next write, and the error is kept for Err.
func (x *txIndex) write() {
	x.mu.Lock()
	batch := slices.Clone(x.pending)
	x.mu.Unlock()
	if len(batch) == 0 {
		return
	}
	err := x.db.Update(func(tx *bolt.Tx) error {
		x.mu.Lock()
		live := slices.DeleteFunc(slices.Clone(batch), func(p pendingBlock) bool { return x.gone[p.hash] })
		x.mu.Unlock()
		return putIndex(tx, live)
	})
	x.mu.Lock()
	defer x.mu.Unlock()
	x.err = err
	if err != nil {
		return
	}
	x.pending = slices.Clone(x.pending[len(batch):]) // add only appends
	for _, p := range batch {
		for _, id := range p.ids {
			hs := x.ids[id]
			if i := slices.Index(hs, p.hash); i >= 0 {
				hs = slices.Delete(hs, i, i+1)
			}
			if len(hs) == 0 {
				delete(x.ids, id)
			} else {
				x.ids[id] = hs
			}
		}
	}
}

// txBlocks returns the hashes of the stored blocks that hold transaction id, in hash order.
func (x *txIndex) txBlocks(id Hash) ([]Hash, error) {
	x.mu.Lock()
	hs := slices.Clone(x.ids[id])
	x.mu.Unlock()
	err := x.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketIndexTxs).Cursor()
		for k, _ := c.Seek(id[:]); k != nil && bytes.HasPrefix(k, id[:]); k, _ = c.Next() {
			if len(k) != 2*len(id) {
				return fmt.Errorf("%w: tx index key %x", ErrCorruptStore, k)
			}
			hs = append(hs, Hash(k[len(id):]))
		}
		return nil
	})
	return sortedHashes(hs), err
}

// txIDs returns up to max distinct IDs of indexed transactions that start with prefix, in byte order.
func (x *txIndex) txIDs(prefix []byte, max int) ([]Hash, error) {
	var out []Hash
	x.mu.Lock()
	for id := range x.ids {
		if bytes.HasPrefix(id[:], prefix) {
			out = append(out, id)
		}
	}
	x.mu.Unlock()
	err := x.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketIndexTxs).Cursor()
		n := 0
		var last Hash
		for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix) && n < max; k, _ = c.Next() {
			if len(k) != 2*len(Hash{}) {
				return fmt.Errorf("%w: tx index key %x", ErrCorruptStore, k)
			}
			if id := Hash(k[:len(Hash{})]); n == 0 || id != last {
				out, last = append(out, id), id
				n++
			}
		}
		return nil
	})
	out = sortedHashes(out)
	return out[:min(len(out), max)], err
}

// sortedHashes sorts hs and removes repeats (a block can be pending and written at once for a moment).
func sortedHashes(hs []Hash) []Hash {
	slices.SortFunc(hs, func(a, b Hash) int { return bytes.Compare(a[:], b[:]) })
	return slices.Compact(hs)
}

// Err returns the last write's failure, nil once a write succeeds.
func (x *txIndex) Err() error {
	x.mu.Lock()
	defer x.mu.Unlock()
	return x.err
}

// close writes what is pending and closes the file.
func (x *txIndex) close() error {
	select {
	case <-x.stop:
	default:
		close(x.stop)
	}
	<-x.done
	return x.db.Close()
}
