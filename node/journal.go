package node

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"

	"github.com/posnode/posnode/chain"
)

// journal keeps the transactions this node accepted from its own users (prompt and API) on disk until a block
// holds them, so that a record acknowledged to a user survives a crash, and a restarted node continues its nonces
// after its pending transactions instead of reusing one. It is a file of 153-byte transaction encodings; a torn
// last record (a crash mid-write) is dropped on open.
//
// The event loop appends; callers then wait for durability with Sync, which commits every append so far with one
// fsync (group commit), so many concurrent submissions share one disk flush.
type journal struct {
	path string

	mu      sync.Mutex // guards f, w, records, written
	f       *os.File
	w       *bufio.Writer
	records int    // records in the file
	written uint64 // appends so far (sequence numbers)

	syncMu sync.Mutex // one fsync at a time; the rest wait and find their record already durable
	synced uint64     // highest sequence number known durable; guarded by syncMu
}

// openJournal reads the journal at path (creating it if missing) and returns the transactions it holds.
func openJournal(path string) (*journal, []chain.Tx, error) {
	txs, err := readJournal(path)
	if err != nil {
		return nil, nil, err
	}
	j := &journal{path: path}
	if err := j.rewrite(txs); err != nil {
		return nil, nil, err
	}
	return j, txs, nil
}

func readJournal(path string) ([]chain.Tx, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("open journal: %w", err)
	}
	defer f.Close()
	r := bufio.NewReader(f)
	var txs []chain.Tx
	buf := make([]byte, chain.TxSize)
	for {
		if _, err := io.ReadFull(r, buf); err != nil {
			return txs, nil // EOF, or a torn last record
		}
		tx, err := chain.DecodeTx(buf)
		if err != nil {
			return nil, fmt.Errorf("journal %s record %d: %w", path, len(txs), err)
		}
		txs = append(txs, tx)
	}
}

// Append adds a transaction and returns its sequence number for Sync.
func (j *journal) Append(tx chain.Tx) (uint64, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if _, err := j.w.Write(tx.Encode()); err != nil {
		return 0, fmt.Errorf("journal append: %w", err)
	}
	j.records++
	j.written++
	return j.written, nil
}

// Sync returns once the append with sequence number seq is on disk.
func (j *journal) Sync(seq uint64) error {
	j.syncMu.Lock()
	defer j.syncMu.Unlock()
	if seq <= j.synced {
		return nil
	}
	j.mu.Lock()
	upTo := j.written
	err := j.w.Flush()
	f := j.f
	j.mu.Unlock()
	if err == nil {
		err = f.Sync()
	}
	if err != nil {
		return fmt.Errorf("journal sync: %w", err)
	}
	j.synced = upTo
	return nil
}

// Len returns the number of records in the file.
func (j *journal) Len() int {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.records
}

// Compact replaces the file with just the still-pending transactions.
func (j *journal) Compact(pending []chain.Tx) error {
	j.syncMu.Lock()
	defer j.syncMu.Unlock()
	if err := j.rewrite(pending); err != nil {
		return err
	}
	j.mu.Lock()
	written := j.written
	j.mu.Unlock()
	j.synced = written // what is not in the new file is on the chain
	return nil
}

// rewrite writes txs to a new file, makes it durable and swaps it in.
func (j *journal) rewrite(txs []chain.Tx) error {
	tmp := j.path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("journal: %w", err)
	}
	w := bufio.NewWriter(f)
	for i := range txs {
		w.Write(txs[i].Encode())
	}
	if err = w.Flush(); err == nil {
		err = f.Sync()
	}
	if err == nil {
		err = os.Rename(tmp, j.path)
	}
	if err == nil {
		err = syncDir(filepath.Dir(j.path))
	}
	if err != nil {
		f.Close()
		return fmt.Errorf("journal: %w", err)
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.f != nil {
		j.f.Close()
	}
	j.f, j.w, j.records = f, bufio.NewWriter(f), len(txs)
	return nil
}

// Close flushes and closes the file.
func (j *journal) Close() error {
	j.mu.Lock()
	defer j.mu.Unlock()
	err := j.w.Flush()
	return errors.Join(err, j.f.Close())
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
