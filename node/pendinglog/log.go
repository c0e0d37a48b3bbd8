// Package pendinglog is a node's pending-transaction log, the file pending.txs: the transactions a node must not
// forget until a finalized block holds them (PROTOCOL.md §11). It is not the ledger's undo journal of package
// chain: one keeps what users submitted and what reorgs returned, the other undoes a block's effects on a state.
package pendinglog

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"

	"github.com/posnode/posnode/chain"
	"github.com/posnode/posnode/internal/durable"
)

// ErrStorage: the log could not make something durable (the disk is full or failing); nothing of it was kept,
// and the same request can succeed once the disk does.
var ErrStorage = errors.New("storage failure")

// errClosed: a Sync or Compact after Close.
var errClosed = errors.New("pending-transaction log closed")

// Log keeps transactions on disk until its owner says they may go (Compact), so that a record acknowledged to a
// user, or returned to the mempool by a reorg, survives a crash or a restart. It holds the entries it wrote in
// memory as well, to rewrite the file without them: as much as is not final yet. Its format is in codec.go.
//
// Append adds to a batch in memory; callers then wait for durability with Sync, which writes the batch and every
// append made with it, and fsyncs once (group commit), so concurrent appends share one disk flush. A write that
// fails is cut off the file again, so nothing of it survives and no state sticks: the next Sync tries the disk
// again. Append, Holds and Len never wait for the disk.
type Log struct {
	path    string
	records atomic.Int64 // entries in the file

	mu     sync.Mutex // guards cur, known and nonces
	cur    *Batch     // appends since the last commit began
	known  map[chain.Hash]senderNonce
	nonces map[senderNonce]int // how many entries known holds at each sender's nonce

	syncMu  sync.Mutex // one commit or compaction at a time; guards the fields below
	f       *os.File   // nil once closed
	size    int64      // bytes of the file known durable
	tail    bool       // a failed write may have left bytes past size
	entries []chain.Tx // the file's entries, in file order
	fault   func(op string) error
}

// SetFault has the log ask f before each "write", "sync" and "truncate" of its file: an error f returns is that
// operation's outcome, and the operation does not happen — a simulator's full or failing disk (ENOSPC, EIO). Set it
// before the first Sync.
func (l *Log) SetFault(f func(op string) error) { l.fault = f }

// may is the fault of op, if any (SetFault).
func (l *Log) may(op string) error {
	if l.fault == nil {
		return nil
	}
	return l.fault(op)
}

// Batch is the appends that one commit makes durable, and its outcome.
type Batch struct {
	buf  []byte
	txs  []chain.Tx
	done chan struct{} // closed once err is set
	err  error
}

func newBatch() *Batch { return &Batch{done: make(chan struct{})} }

// Open reads the log at path (creating it if missing) and returns the transactions it holds, in file order. A
// torn tail (a crash while writing) is cut off, and torn is called with its length in bytes and what was wrong
// with it. A damaged entry before the tail is an error wrapping ErrDamaged that names the file and what to do.
// Restored transactions are the caller's to validate.
func Open(path string, torn func(bytes int, reason error)) (*Log, []chain.Tx, error) {
	data, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, nil, fmt.Errorf("read pending-transaction log %s: %w", path, err)
	}
	dec, err := decode(data)
	if err != nil {
		return nil, nil, fmt.Errorf("pending-transaction log %s: %w; move it aside to start without its pending transactions (their senders must submit them again)", path, err)
	}
	if dec.dropped > 0 {
		torn(dec.dropped, dec.tornErr)
	}
	l := &Log{path: path, cur: newBatch()}
	if dec.legacy || dec.dropped > 0 || len(data) == 0 {
		err = l.rewrite(dec.txs)
	} else {
		err = l.reopen(int64(len(data)), dec.txs)
	}
	if err != nil {
		return nil, nil, err
	}
	return l, dec.txs, nil
}

// reopen opens the intact file of size bytes holding txs for appending.
func (l *Log) reopen(size int64, txs []chain.Tx) error {
	f, err := os.OpenFile(l.path, os.O_RDWR, 0o600)
	if err != nil {
		return fmt.Errorf("%w: open pending-transaction log: %w", ErrStorage, err)
	}
	l.f, l.size, l.entries = f, size, txs
	l.index(txs)
	l.records.Store(int64(len(txs)))
	return nil
}

// senderNonce is a sender's account and one of its nonces: the place in the sender's sequence that an entry takes.
type senderNonce struct {
	from  chain.Address
	nonce chain.Nonce
}

// index sets known and nonces to txs. The caller holds mu or is the only one to see the log.
func (l *Log) index(txs []chain.Tx) {
	l.known, l.nonces = make(map[chain.Hash]senderNonce, len(txs)), make(map[senderNonce]int, len(txs))
	for i := range txs {
		l.learn(txs[i].ID(), &txs[i])
	}
}

// learn adds transaction tx, of ID id, to known. The caller holds mu.
func (l *Log) learn(id chain.Hash, tx *chain.Tx) {
	if _, ok := l.known[id]; ok {
		return
	}
	k := senderNonce{tx.From, tx.Nonce}
	l.known[id] = k
	l.nonces[k]++
}

// unlearn removes transaction id from known. The caller holds mu.
func (l *Log) unlearn(id chain.Hash) {
	k, ok := l.known[id]
	if !ok {
		return
	}
	delete(l.known, id)
	if l.nonces[k]--; l.nonces[k] <= 0 {
		delete(l.nonces, k)
	}
}

func idSet(txs []chain.Tx) map[chain.Hash]struct{} {
	ids := make(map[chain.Hash]struct{}, len(txs))
	for i := range txs {
		ids[txs[i].ID()] = struct{}{}
	}
	return ids
}

// Append adds a transaction to the next commit and returns the batch to pass to Sync. It writes nothing.
func (l *Log) Append(tx chain.Tx) *Batch { return l.AppendID(tx, tx.ID()) }

// AppendID is Append for a transaction whose ID, tx.ID(), the caller has computed already.
func (l *Log) AppendID(tx chain.Tx, id chain.Hash) *Batch {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.cur.buf = appendEntry(l.cur.buf, &tx)
	l.cur.txs = append(l.cur.txs, tx)
	l.learn(id, &tx)
	return l.cur
}

// AppendIDs is AppendID for several transactions (ids[i] is txs[i]'s ID), encoded before the log's lock is taken,
// so that a caller on another goroutine holds it only for the copy.
func (l *Log) AppendIDs(txs []chain.Tx, ids []chain.Hash) *Batch {
	var buf []byte
	for i := range txs {
		buf = appendEntry(buf, &txs[i])
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.cur.buf = append(l.cur.buf, buf...)
	l.cur.txs = append(l.cur.txs, txs...)
	for i, id := range ids {
		l.learn(id, &txs[i])
	}
	return l.cur
}

// Holds reports whether transaction id is in the file or appended to a commit that has not failed.
func (l *Log) Holds(id chain.Hash) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	_, ok := l.known[id]
	return ok
}

// HoldsNonce reports whether an entry of sender from with nonce is in the file or appended to a commit that has not
// failed: a transaction that may still apply at that place of the sender's sequence, so that a node signing for
// from must not give that nonce to another one (PROTOCOL.md §11).
func (l *Log) HoldsNonce(from chain.Address, nonce chain.Nonce) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.nonces[senderNonce{from, nonce}] > 0
}

// Sync returns once b is durable, or with the error that kept it from the disk (wrapping ErrStorage); then
// nothing of b is in the file.
func (l *Log) Sync(b *Batch) error {
	l.syncMu.Lock()
	defer l.syncMu.Unlock()
	select {
	case <-b.done: // another caller committed it
		return b.err
	default: // b is still the current batch: only a commit, under syncMu, replaces it
	}
	l.mu.Lock()
	cur := l.cur
	l.cur = newBatch()
	l.mu.Unlock()
	cur.err = l.commit(cur)
	if cur.err != nil {
		l.forget(cur.txs)
	}
	close(cur.done)
	return cur.err
}

// forget removes txs, whose commit failed, from the set Holds answers from, unless the file or the next commit
// holds them.
func (l *Log) forget(txs []chain.Tx) {
	inFile := idSet(l.entries)
	l.mu.Lock()
	defer l.mu.Unlock()
	again := idSet(l.cur.txs) // appended again since the failed commit began
	for i := range txs {
		if id := txs[i].ID(); !isIn(inFile, id) && !isIn(again, id) {
			l.unlearn(id)
		}
	}
}

func isIn(set map[chain.Hash]struct{}, id chain.Hash) bool {
	_, ok := set[id]
	return ok
}

// commit writes b after the durable end of the file and fsyncs; on failure it cuts the file back.
func (l *Log) commit(b *Batch) error {
	if l.f == nil {
		return fmt.Errorf("%w: %w", ErrStorage, errClosed)
	}
	err := l.cutTail()
	if err == nil {
		err = l.may("write")
	}
	if err == nil {
		_, err = l.f.WriteAt(b.buf, l.size)
	}
	if err == nil {
		err = l.may("sync")
	}
	if err == nil {
		err = l.f.Sync()
	}
	if err != nil {
		l.tail = true
		l.cutTail() // if this fails too, the next commit tries again before it writes
		return fmt.Errorf("%w: pending-transaction log %s: %w", ErrStorage, l.path, err)
	}
	l.size += int64(len(b.buf))
	l.entries = append(l.entries, b.txs...)
	l.records.Add(int64(len(b.txs)))
	return nil
}

// cutTail truncates what a failed write may have left past the durable end, durably.
func (l *Log) cutTail() error {
	if !l.tail {
		return nil
	}
	err := l.may("truncate")
	if err == nil {
		err = l.f.Truncate(l.size)
	}
	if err == nil {
		err = l.f.Sync()
	}
	if err == nil {
		l.tail = false
	}
	return err
}

// Len returns the number of entries in the file.
func (l *Log) Len() int { return int(l.records.Load()) }

// Entries returns a copy of the file's entries, in file order.
func (l *Log) Entries() []chain.Tx {
	l.syncMu.Lock()
	defer l.syncMu.Unlock()
	return append([]chain.Tx(nil), l.entries...)
}

// Each calls f with each of the file's entries, in file order, without copying them; f must not keep the
// pointer nor call the log. Commits and compactions wait until it returns.
func (l *Log) Each(f func(tx *chain.Tx)) {
	l.syncMu.Lock()
	defer l.syncMu.Unlock()
	for i := range l.entries {
		f(&l.entries[i])
	}
}

// Compact rewrites the file without the entries for which drop returns true, and returns how many it dropped.
// Appends not durable yet are not touched: their own commit writes them after the rewritten entries. With
// nothing to drop it writes nothing. On failure the old file stays, whole.
func (l *Log) Compact(drop func(tx *chain.Tx) bool) (int, error) {
	l.syncMu.Lock()
	defer l.syncMu.Unlock()
	if l.f == nil {
		return 0, fmt.Errorf("%w: %w", ErrStorage, errClosed)
	}
	keep := make([]chain.Tx, 0, len(l.entries))
	var gone []chain.Hash
	for i := range l.entries {
		if drop(&l.entries[i]) {
			gone = append(gone, l.entries[i].ID())
		} else {
			keep = append(keep, l.entries[i])
		}
	}
	if len(gone) == 0 {
		return 0, nil
	}
	if err := l.rewrite(keep); err != nil {
		return 0, err
	}
	l.mu.Lock()
	for _, id := range gone {
		l.unlearn(id)
	}
	for i := range l.cur.txs { // appended again since: its commit writes it
		l.learn(l.cur.txs[i].ID(), &l.cur.txs[i])
	}
	l.mu.Unlock()
	return len(gone), nil
}

// rewrite writes txs to a new file, makes it durable and swaps it in. On failure the old file stays.
func (l *Log) rewrite(txs []chain.Tx) error {
	data := Encode(txs)
	tmp := l.path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("%w: pending-transaction log %s: %w", ErrStorage, l.path, err)
	}
	if err = l.may("write"); err == nil {
		_, err = f.Write(data)
	}
	if err == nil {
		err = f.Sync()
	}
	f.Close()
	if err == nil {
		err = os.Rename(tmp, l.path)
	}
	if err == nil {
		err = durable.SyncDir(filepath.Dir(l.path))
	}
	if err == nil { // open it again under its own name, which errors will then carry
		f, err = os.OpenFile(l.path, os.O_RDWR, 0)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("%w: pending-transaction log %s: %w", ErrStorage, l.path, err)
	}
	if l.f != nil {
		l.f.Close()
	}
	l.f, l.size, l.tail, l.entries = f, int64(len(data)), false, txs
	if l.known == nil {
		l.index(txs)
	}
	l.records.Store(int64(len(txs)))
	return nil
}

// Close closes the file; appends not yet synced are not written. Closing twice is not an error.
func (l *Log) Close() error {
	l.syncMu.Lock()
	defer l.syncMu.Unlock()
	if l.f == nil {
		return nil
	}
	err := l.f.Close()
	l.f = nil
	return err
}
