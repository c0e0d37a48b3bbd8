package chain

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"slices"
)

// ErrFlushBehind: the tree already holds MaxUnflushed accepted blocks that are not stored, because the store
// fails or nobody flushes; it accepts no more until a Flush succeeds. It wraps ErrStoreFailed.
var ErrFlushBehind = fmt.Errorf("%w: too many accepted blocks not yet stored", ErrStoreFailed)

// MaxUnflushed is the most accepted blocks a write-behind Tree holds unstored (TreeConfig.WriteBehind).
const MaxUnflushed = 1024

// unflushed is a write-behind Tree's queue of accepted blocks that are not yet in the store, in the order they
// were attached, so parents before children (PROTOCOL.md §11, "What a crash can lose").
type unflushed struct {
	blocks []*Block
	byHash map[Hash]*Block
	// txs maps a transaction ID to the hashes of the queued blocks that hold it, in queue order. It is built when
	// a query first needs it (index), so that accepting a block, which gossip waits for, hashes no transaction.
	txs map[Hash][]Hash
	// out is how many blocks at the front of the queue a FlushJob is writing; 0 when none is.
	out int
}

// add queues b.
func (q *unflushed) add(b *Block) {
	if q.byHash == nil {
		q.byHash = map[Hash]*Block{}
	}
	q.blocks = append(q.blocks, b)
	q.byHash[b.Hash()] = b
	q.txs = nil
}

// dropLast removes the last n blocks queued (an insert that is undone). They were queued after any block a
// FlushJob holds.
func (q *unflushed) dropLast(n int) {
	if len(q.blocks)-n < q.out {
		panic("chain: undoing an insert of blocks that a flush job holds")
	}
	for _, b := range q.blocks[len(q.blocks)-n:] {
		delete(q.byHash, b.Hash())
	}
	clear(q.blocks[len(q.blocks)-n:])
	q.blocks = q.blocks[:len(q.blocks)-n]
	q.txs = nil
}

// reset empties the queue once its blocks are stored.
func (q *unflushed) reset() {
	q.blocks, q.byHash, q.txs, q.out = nil, nil, nil, 0
}

// dropFirst removes the first n blocks queued, once they are stored.
func (q *unflushed) dropFirst(n int) {
	for _, b := range q.blocks[:n] {
		delete(q.byHash, b.Hash())
	}
	q.blocks = slices.Clone(q.blocks[n:])
	q.txs = nil
}

// index returns the transaction index of the queued blocks, building it if needed.
func (q *unflushed) index() map[Hash][]Hash {
	if q.txs != nil || len(q.blocks) == 0 {
		return q.txs
	}
	q.txs = map[Hash][]Hash{}
	for _, b := range q.blocks {
		h := b.Hash()
		for i := range b.Txs {
			id := b.Txs[i].ID()
			q.txs[id] = append(q.txs[id], h)
		}
	}
	return q.txs
}

// Unflushed returns how many accepted blocks are not yet in the store (always 0 without WriteBehind).
func (t *Tree) Unflushed() int { return len(t.queue.blocks) }

// Flush writes every accepted block not yet stored to the store in one durable write (Store.PutBlocks), so that
// after a crash either all of them are stored or none. On failure the blocks stay queued and in the tree, and a
// later Flush writes them; the error wraps the store's (ErrStoreFailed for a disk that fails). A node flushes
// before it signs anything (PROTOCOL.md §11).
func (t *Tree) Flush() error {
	if len(t.queue.blocks) == 0 {
		return nil
	}
	if t.queue.out > 0 {
		return ErrFlushOut
	}
	if err := t.cfg.Store.PutBlocks(t.queue.blocks); err != nil {
		return fmt.Errorf("store %d accepted blocks: %w", len(t.queue.blocks), err)
	}
	t.queue.reset()
	t.writeFinal()
	return nil
}

// ErrFlushOut: Flush or StartFlush was called while a FlushJob is out; end it (EndFlush) first, so that blocks
// reach the store parents first.
var ErrFlushOut = errors.New("chain: a flush job is still writing")

// FlushJob is one write of accepted blocks to the store that runs while the tree goes on accepting blocks: the
// caller starts it on the tree's goroutine (StartFlush), runs Write anywhere, and hands the result back on the
// tree's goroutine (EndFlush). Its blocks stay readable from the queue until then.
type FlushJob struct {
	store  Store
	blocks []*Block
}

// Blocks returns how many blocks the job writes.
func (j *FlushJob) Blocks() int { return len(j.blocks) }

// Write stores the job's blocks in one durable write (Store.PutBlocks); it may run on any goroutine, while the
// tree is used, and reads nothing of the tree.
func (j *FlushJob) Write() error {
	if err := j.store.PutBlocks(j.blocks); err != nil {
		return fmt.Errorf("store %d accepted blocks: %w", len(j.blocks), err)
	}
	return nil
}

// StartFlush returns a job that writes every block queued now, or nil when none is queued. It fails with
// ErrFlushOut while another job is out: one at a time keeps parents stored before children.
func (t *Tree) StartFlush() (*FlushJob, error) {
	if t.queue.out > 0 {
		return nil, ErrFlushOut
	}
	if len(t.queue.blocks) == 0 {
		return nil, nil
	}
	t.queue.out = len(t.queue.blocks)
	return &FlushJob{store: t.cfg.Store, blocks: slices.Clone(t.queue.blocks)}, nil
}

// EndFlush takes back job with the error its Write returned: on success its blocks leave the queue (the store
// has them); on failure they stay queued for the next job or Flush, and the error is returned.
func (t *Tree) EndFlush(job *FlushJob, err error) error {
	t.queue.out = 0
	if err != nil {
		return err
	}
	t.queue.dropFirst(len(job.blocks))
	t.writeFinal()
	return nil
}

// room fails with ErrFlushBehind when a write-behind tree cannot queue n more blocks (MaxUnflushed).
func (t *Tree) room(n int) error {
	if t.cfg.WriteBehind && len(t.queue.blocks)+n > cmp.Or(t.cfg.maxUnflushed, MaxUnflushed) {
		return fmt.Errorf("%w: %d queued, %d more", ErrFlushBehind, len(t.queue.blocks), n)
	}
	return nil
}

// accept queues the blocks just attached and, without WriteBehind, stores them at once: if that write fails it
// detaches them again, leaving the tree as it was, and returns the error.
func (t *Tree) accept(added []*node, bs []*Block) error {
	for _, b := range bs {
		t.queue.add(b)
	}
	if t.cfg.WriteBehind {
		return nil
	}
	if err := t.Flush(); err != nil {
		t.queue.dropLast(len(bs))
		t.detachAll(added)
		return err
	}
	return nil
}

// unaccept undoes the accept of the blocks attached last, when the head cannot move to them: it detaches them and
// drops them from the queue of a write-behind tree (a write-through tree has stored them already, as before).
func (t *Tree) unaccept(added []*node) {
	if t.cfg.WriteBehind {
		t.queue.dropLast(len(added))
	}
	t.detachAll(added)
}

// storedBlock returns block h from the queue of unflushed blocks, or else from the store. A queued block is the
// one the tree was given; callers must not modify it.
func (t *Tree) storedBlock(h Hash) (b *Block, queued bool, err error) {
	if b, ok := t.queue.byHash[h]; ok {
		return b, true, nil
	}
	b, err = t.cfg.Store.Block(h)
	return b, false, err
}

// txBlocks returns the hashes of the stored and the queued blocks that hold transaction id.
func (t *Tree) txBlocks(id Hash) ([]Hash, error) {
	hs, err := t.cfg.Store.TxBlocks(id)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return nil, err
	}
	for _, h := range t.UnflushedTxBlocks(id) {
		if !slices.Contains(hs, h) { // a flush job's block can be in both until EndFlush
			hs = append(hs, h)
		}
	}
	return hs, nil
}

// UnflushedTxBlocks returns the hashes of the blocks accepted and not yet stored that hold transaction id: what
// Store.TxBlocks cannot know yet. A block leaves this queue only once stored (EndFlush), so a reader that asks
// here first and the store after misses no block.
func (t *Tree) UnflushedTxBlocks(id Hash) []Hash {
	return slices.Clone(t.queue.index()[id])
}

// UnflushedTxIDs returns up to max distinct IDs of transactions in the blocks accepted and not yet stored that
// start with prefix, in no order: what Store.TxIDs cannot know yet.
func (t *Tree) UnflushedTxIDs(prefix []byte, max int) []Hash {
	var ids []Hash
	for id := range t.queue.index() {
		if len(ids) < max && bytes.HasPrefix(id[:], prefix) {
			ids = append(ids, id)
		}
	}
	return ids
}

// TxIDs returns, in byte order, up to max distinct IDs of transactions in the tree's blocks, stored or accepted
// and not yet stored, that start with prefix.
func (t *Tree) TxIDs(prefix []byte, max int) ([]Hash, error) {
	ids, err := t.cfg.Store.TxIDs(prefix, max)
	if err != nil {
		return nil, err
	}
	for _, id := range t.UnflushedTxIDs(prefix, max) {
		if !slices.Contains(ids, id) {
			ids = append(ids, id)
		}
	}
	slices.SortFunc(ids, func(a, b Hash) int { return bytes.Compare(a[:], b[:]) })
	return ids[:min(len(ids), max)], nil
}
