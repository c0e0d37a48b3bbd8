package node

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"

	"github.com/posnode/posnode/chain"
)

// ErrStorage: the node could not make something durable (the disk is full or failing); nothing of it was kept,
// and the same request can succeed once the disk does.
var ErrStorage = errors.New("storage failure")

// journal keeps the transactions this node accepted from its own users (prompt and API) on disk until a block
// holds them, so that a record acknowledged to a user survives a crash, and a restarted node continues its nonces
// after its pending transactions instead of reusing one. Its format is in journalcodec.go.
//
// The event loop appends to a batch in memory; callers then wait for durability with Sync, which writes the
// batch and every append made with it, and fsyncs once (group commit), so concurrent submissions share one disk
// flush. A write that fails is cut off the file again, so nothing of it survives and no state sticks: the next
// Sync tries the disk again.
type journal struct {
	path    string
	records atomic.Int64 // entries in the file

	mu  sync.Mutex // guards cur
	cur *batch     // appends since the last commit began

	syncMu sync.Mutex // one commit or compaction at a time; guards the fields below
	f      *os.File   // nil once closed
	size   int64      // bytes of the file known durable
	tail   bool       // a failed write may have left bytes past size
	ids    map[chain.Hash]struct{}
}

// batch is the appends that one commit makes durable, and its outcome.
type batch struct {
	buf  []byte
	ids  []chain.Hash
	done chan struct{} // closed once err is set
	err  error
}

func newBatch() *batch { return &batch{done: make(chan struct{})} }

// errJournalClosed: a Sync after Close.
var errJournalClosed = errors.New("journal closed")

// openJournal reads the journal at path (creating it if missing) and returns the transactions it holds. A torn
// tail (a crash while writing) is cut off, and torn is called with its length in bytes and what was wrong with
// it. A damaged entry before the tail is an error that names the file and what to do. Restored transactions are
// the caller's to validate.
func openJournal(path string, torn func(bytes int, reason error)) (*journal, []chain.Tx, error) {
	data, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, nil, fmt.Errorf("read journal %s: %w", path, err)
	}
	dec, err := decodeJournal(data)
	if err != nil {
		return nil, nil, fmt.Errorf("journal %s: %w; move it aside to start without its pending transactions (their senders must submit them again)", path, err)
	}
	if dec.dropped > 0 {
		torn(dec.dropped, dec.tornErr)
	}
	j := &journal{path: path, cur: newBatch()}
	if dec.legacy || dec.dropped > 0 || len(data) == 0 {
		err = j.rewrite(dec.txs)
	} else {
		err = j.reopen(int64(len(data)), dec.txs)
	}
	if err != nil {
		return nil, nil, err
	}
	return j, dec.txs, nil
}

// reopen opens the intact journal file of size bytes holding txs for appending.
func (j *journal) reopen(size int64, txs []chain.Tx) error {
	f, err := os.OpenFile(j.path, os.O_RDWR, 0o600)
	if err != nil {
		return fmt.Errorf("%w: open journal: %w", ErrStorage, err)
	}
	j.f, j.size, j.ids = f, size, idSet(txs)
	j.records.Store(int64(len(txs)))
	return nil
}

func idSet(txs []chain.Tx) map[chain.Hash]struct{} {
	ids := make(map[chain.Hash]struct{}, len(txs))
	for i := range txs {
		ids[txs[i].ID()] = struct{}{}
	}
	return ids
}

// Append adds a transaction to the next commit and returns the batch to pass to Sync. It writes nothing.
func (j *journal) Append(tx chain.Tx) *batch {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.cur.buf = appendEntry(j.cur.buf, &tx)
	j.cur.ids = append(j.cur.ids, tx.ID())
	return j.cur
}

// Sync returns once b is durable, or with the error that kept it from the disk (wrapping ErrStorage); then
// nothing of b is in the file.
func (j *journal) Sync(b *batch) error {
	j.syncMu.Lock()
	defer j.syncMu.Unlock()
	select {
	case <-b.done: // another caller committed it
		return b.err
	default: // b is still the current batch: only a commit, under syncMu, replaces it
	}
	j.mu.Lock()
	cur := j.cur
	j.cur = newBatch()
	j.mu.Unlock()
	cur.err = j.commit(cur)
	close(cur.done)
	return cur.err
}

// commit writes b after the durable end of the file and fsyncs; on failure it cuts the file back.
func (j *journal) commit(b *batch) error {
	if j.f == nil {
		return fmt.Errorf("%w: %w", ErrStorage, errJournalClosed)
	}
	err := j.cutTail()
	if err == nil {
		_, err = j.f.WriteAt(b.buf, j.size)
	}
	if err == nil {
		err = j.f.Sync()
	}
	if err != nil {
		j.tail = true
		j.cutTail() // if this fails too, the next commit tries again before it writes
		return fmt.Errorf("%w: journal %s: %w", ErrStorage, j.path, err)
	}
	j.size += int64(len(b.buf))
	for _, id := range b.ids {
		j.ids[id] = struct{}{}
	}
	j.records.Add(int64(len(b.ids)))
	return nil
}

// cutTail truncates what a failed write may have left past the durable end, durably.
func (j *journal) cutTail() error {
	if !j.tail {
		return nil
	}
	err := j.f.Truncate(j.size)
	if err == nil {
		err = j.f.Sync()
	}
	if err == nil {
		j.tail = false
	}
	return err
}

// Len returns the number of entries in the file.
func (j *journal) Len() int { return int(j.records.Load()) }

// Compact replaces the file with the transactions of pending that it holds: those a block holds since, or that
// were appended but are not durable yet, are left out (the latter are written by their own commit).
func (j *journal) Compact(pending []chain.Tx) error {
	j.syncMu.Lock()
	defer j.syncMu.Unlock()
	if j.f == nil {
		return fmt.Errorf("%w: %w", ErrStorage, errJournalClosed)
	}
	keep := make([]chain.Tx, 0, len(pending))
	for _, tx := range pending {
		if _, ok := j.ids[tx.ID()]; ok {
			keep = append(keep, tx)
		}
	}
	return j.rewrite(keep)
}

// rewrite writes txs to a new file, makes it durable and swaps it in. On failure the old file stays.
func (j *journal) rewrite(txs []chain.Tx) error {
	data := []byte(journalMagic)
	for i := range txs {
		data = appendEntry(data, &txs[i])
	}
	tmp := j.path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("%w: journal %s: %w", ErrStorage, j.path, err)
	}
	if _, err = f.Write(data); err == nil {
		err = f.Sync()
	}
	f.Close()
	if err == nil {
		err = os.Rename(tmp, j.path)
	}
	if err == nil {
		err = syncDir(filepath.Dir(j.path))
	}
	if err == nil { // open it again under its own name, which errors will then carry
		f, err = os.OpenFile(j.path, os.O_RDWR, 0)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("%w: journal %s: %w", ErrStorage, j.path, err)
	}
	if j.f != nil {
		j.f.Close()
	}
	j.f, j.size, j.tail, j.ids = f, int64(len(data)), false, idSet(txs)
	j.records.Store(int64(len(txs)))
	return nil
}

// Close closes the file; appends not yet synced are not written. Closing twice is not an error.
func (j *journal) Close() error {
	j.syncMu.Lock()
	defer j.syncMu.Unlock()
	if j.f == nil {
		return nil
	}
	err := j.f.Close()
	j.f = nil
	return err
}

// syncDir makes a rename in dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
