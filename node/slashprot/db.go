package slashprot

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/posnode/posnode/chain"
	"github.com/posnode/posnode/internal/durable"
)

// FileName is the record's file in a node's data directory.
const FileName = "slashing-protection.dat"

// compactSlack is how many records beyond twice the live state the log may hold before it is compacted.
const compactSlack = 4096

// DB is an open slashing protection record. It is safe for concurrent use; each Check… call holds it until
// its record is durable.
type DB struct {
	path string
	lock *os.File // holds the lock of path + ".lock"

	mu  sync.Mutex // guards everything below
	f   *os.File   // the log, open for appending; nil once closed or broken
	err error      // why f is nil
	// down is err once f is nil, for Err without mu: a reader on the event loop must not wait for a record's
	// fsync, which holds mu.
	down      atomic.Pointer[error]
	signers   map[chain.Address]*signer
	records   int // records in the log
	compactAt int // compaction threshold: 2 × live records + slack
	slack     int // compactSlack; tests lower it
}

// Open opens the record at path, creating it (and syncing its directory) if it does not exist. It fails with
// ErrLocked while another process holds it, and with an error wrapping ErrDamaged, which names the file and
// what to do, if the file does not decode. A write cut short by a crash is dropped (it was never acknowledged):
// a short last record, or zeros to the end of the file.
func Open(path string) (*DB, error) {
	lock, err := lockFile(path + ".lock")
	if err != nil {
		return nil, err
	}
	db := &DB{path: path, lock: lock, signers: map[chain.Address]*signer{}, slack: compactSlack}
	if err := db.load(); err != nil {
		lock.Close()
		return nil, err
	}
	db.compactAt = 2*db.live() + db.slack
	if db.records > db.compactAt {
		if err := db.compact(); err != nil {
			db.Close()
			return nil, err
		}
	}
	return db, nil
}

// load reads the log, drops a torn last record, and opens the log for appending.
func (db *DB) load() error {
	os.Remove(db.path + ".tmp") // a compaction cut short; the log itself is whole
	f, err := os.OpenFile(db.path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("open slashing protection: %w", err)
	}
	data, err := io.ReadAll(f)
	if err != nil {
		f.Close()
		return fmt.Errorf("read slashing protection %s: %w", db.path, err)
	}
	recs, valid, err := parseLog(data)
	if err != nil {
		f.Close()
		return damaged(db.path, err)
	}
	if valid == 0 {
		err = db.initFile(f)
	} else if err = f.Truncate(valid); err == nil {
		err = f.Sync()
	}
	if err == nil {
		_, err = f.Seek(0, io.SeekEnd)
	}
	if err != nil {
		f.Close()
		return fmt.Errorf("open slashing protection %s: %w", db.path, err)
	}
	for _, r := range recs {
		db.signer(r.addr).apply(r)
	}
	db.f, db.records = f, len(recs)
	return nil
}

// initFile writes the header to a new (or empty) log and makes it and its directory entry durable.
func (db *DB) initFile(f *os.File) error {
	if err := f.Truncate(0); err != nil {
		return err
	}
	if _, err := f.WriteAt([]byte(fileHeader), 0); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	return durable.SyncDir(filepath.Dir(db.path))
}

// damaged words a decoding failure for the operator: the file, the fault and the remedy, on one line.
func damaged(path string, err error) error {
	return fmt.Errorf("%w: %s: %s; do not delete it: restore it from a backup, or move it aside and import "+
		"an export from the key's last machine (posnode slashing-protection import), then start the node",
		ErrDamaged, path, strings.TrimPrefix(err.Error(), ErrDamaged.Error()+": "))
}

// Close releases the file and its lock.
func (db *DB) Close() error {
	db.mu.Lock()
	defer db.mu.Unlock()
	var err error
	if db.f != nil {
		err = db.f.Close()
		db.f, db.err = nil, ErrClosed
		db.markDown()
	}
	if db.lock != nil {
		err = errors.Join(err, db.lock.Close())
		db.lock = nil
	}
	return err
}

// CheckAndRecordBlock returns nil when addr may sign the block of signing root root (its hash, PROTOCOL.md §4)
// at slot, after recording it durably; the signature may leave the node only then. It refuses, wrapping
// ErrSlashableBlock, another root at an already signed slot (ErrDoubleBlock) and a slot below the latest
// signed (ErrBlockBelowWatermark); re-signing the very block signed at the latest slot returns nil. A zero
// root records the slot with its root unknown, so that nothing is signed at it again (PROTOCOL.md §11).
func (db *DB) CheckAndRecordBlock(addr chain.Address, slot chain.Slot, root chain.Hash) error {
	db.mu.Lock()
	defer db.mu.Unlock()
	if db.f == nil {
		return db.err
	}
	s := db.signer(addr)
	fresh, err := s.checkBlock(slot, root)
	if err != nil || !fresh {
		return err
	}
	if err := db.append([]record{blockRecord(addr, slot, root)}); err != nil {
		return err
	}
	s.addBlock(slot, root)
	return db.maybeCompact()
}

// CheckAndRecordVote returns nil when addr may sign the checkpoint vote source→target of signing root root,
// after recording it durably. It refuses, wrapping ErrSlashableVote, a double vote (ErrDoubleVote), a vote
// surrounding or surrounded by a kept vote (ErrSurroundingVote, ErrSurroundedVote), and a source below the
// highest recorded source or a target at or below the highest recorded target (ErrVoteBelowWatermark), unless
// it repeats a kept vote exactly; source > target fails with ErrInvalidVote (PROTOCOL.md §11).
func (db *DB) CheckAndRecordVote(addr chain.Address, sourceEpoch, targetEpoch chain.Epoch, root chain.Hash) error {
	db.mu.Lock()
	defer db.mu.Unlock()
	if db.f == nil {
		return db.err
	}
	s := db.signer(addr)
	v := vote{sourceEpoch, targetEpoch, root}
	fresh, err := s.checkVote(v)
	if err != nil || !fresh {
		return err
	}
	if err := db.append([]record{voteRecord(addr, v)}); err != nil {
		return err
	}
	s.addVote(v)
	return db.maybeCompact()
}

// LatestBlock returns the latest slot addr signed a block for, and false if it never signed one.
func (db *DB) LatestBlock(addr chain.Address) (chain.Slot, bool) {
	db.mu.Lock()
	defer db.mu.Unlock()
	s, ok := db.signers[addr]
	if !ok || !s.hasBlock {
		return 0, false
	}
	return s.slot, true
}

// Origin is what the record says of a block or vote signed with one of its keys that reached the node from
// elsewhere (a peer, sync): whether this record's key signed it here (PROTOCOL.md §10, §11).
type Origin int

const (
	// Signed: the record holds it (its slot or target, with its root, or with the root unknown): it is the
	// key's own, signed here before, whatever became of the copy in chain.db.
	Signed Origin = iota
	// NotSigned: the record shows it was not signed here: a slot or target above everything recorded, or one
	// the record holds with another root (or, for a vote, another source). Another process holds the key.
	NotSigned
	// Unexplained: at or below what is recorded, but older than the history the record keeps (an import, a
	// compaction, a record moved from an older chain.db): the record cannot tell.
	Unexplained
)

// String names the origin for logs.
func (o Origin) String() string {
	switch o {
	case Signed:
		return "signed here"
	case NotSigned:
		return "not signed here"
	}
	return "unexplained"
}

// BlockOrigin says whether addr's block of signing root root at slot is one this record's key signed: Signed
// if the record holds slot with root (or with its root unknown), NotSigned if slot is above the latest
// recorded or the record holds slot with another root, Unexplained if slot is at or below the latest and older
// than the kept history of keepBlocks blocks. A block signed by this node is recorded before it leaves it, so
// nothing signed here is ever NotSigned.
func (db *DB) BlockOrigin(addr chain.Address, slot chain.Slot, root chain.Hash) Origin {
	db.mu.Lock()
	defer db.mu.Unlock()
	s, ok := db.signers[addr]
	if !ok {
		return NotSigned
	}
	return s.blockOrigin(slot, root)
}

// VoteOrigin says whether addr's checkpoint vote source→target of signing root root is one this record's key
// signed: Signed if a kept vote has its target and source with its root (or with the root unknown), NotSigned if
// target is above the highest recorded target or a kept vote has the target with another source or root,
// Unexplained otherwise (a target at or below the watermark whose vote is no longer kept).
func (db *DB) VoteOrigin(addr chain.Address, sourceEpoch, targetEpoch chain.Epoch, root chain.Hash) Origin {
	db.mu.Lock()
	defer db.mu.Unlock()
	s, ok := db.signers[addr]
	if !ok {
		return NotSigned
	}
	return s.voteOrigin(vote{sourceEpoch, targetEpoch, root})
}

// LatestVote returns the highest source and target epochs addr ever voted with, and false if it never voted.
func (db *DB) LatestVote(addr chain.Address) (source, target chain.Epoch, ok bool) {
	db.mu.Lock()
	defer db.mu.Unlock()
	s, found := db.signers[addr]
	if !found || !s.hasVotes {
		return 0, 0, false
	}
	return s.maxSource, s.maxTarget, true
}

// Err returns why the DB refuses every signature (ErrClosed, wrapped with the failed write's cause), or nil
// while it is open and writable.
// It takes no lock: it never waits for a record being written.
func (db *DB) Err() error {
	if err := db.down.Load(); err != nil {
		return *err
	}
	return nil
}

func (db *DB) signer(addr chain.Address) *signer {
	s, ok := db.signers[addr]
	if !ok {
		s = &signer{}
		db.signers[addr] = s
	}
	return s
}

// append writes records and syncs the log. After a failure the bytes on disk are unknown, so the DB refuses
// everything from then on; reopening drops a torn tail.
func (db *DB) append(recs []record) error {
	buf := make([]byte, 0, len(recs)*recordSize)
	for _, r := range recs {
		buf = r.appendTo(buf)
	}
	_, err := db.f.Write(buf)
	if err == nil {
		err = db.f.Sync()
	}
	if err != nil {
		db.f.Close()
		db.f, db.err = nil, fmt.Errorf("%w: write failed, restart to reopen it: %v", ErrClosed, err)
		db.markDown()
		return fmt.Errorf("record in slashing protection %s: %w", db.path, err)
	}
	db.records += len(recs)
	return nil
}

// live returns the number of records that rebuild the state.
func (db *DB) live() int {
	n := 0
	for _, s := range db.signers {
		n += len(s.votes) + len(s.blocks) + 1
	}
	return n
}

// maybeCompact compacts the log once it holds many more records than the live state. A record is durable
// before this runs, so a failure here loses nothing; the DB then refuses further writes.
func (db *DB) maybeCompact() error {
	if db.records <= db.compactAt {
		return nil
	}
	if err := db.compact(); err != nil {
		return err
	}
	db.compactAt = 2*db.live() + db.slack
	return nil
}

// compact writes the live state to a new file, syncs it, renames it over the log and syncs the directory.
func (db *DB) compact() error {
	var buf bytes.Buffer
	buf.WriteString(fileHeader)
	n := 0
	for _, addr := range sortedAddrs(db.signers) {
		for _, r := range db.signers[addr].records(addr) {
			buf.Write(r.appendTo(nil))
			n++
		}
	}
	tmp := db.path + ".tmp"
	f, err := writeSynced(tmp, buf.Bytes())
	if err == nil {
		err = os.Rename(tmp, db.path)
	}
	if err == nil {
		err = durable.SyncDir(filepath.Dir(db.path))
	}
	if err != nil {
		if f != nil {
			f.Close()
		}
		db.f.Close()
		db.f, db.err = nil, fmt.Errorf("%w: compaction failed, restart to reopen it: %v", ErrClosed, err)
		db.markDown()
		return fmt.Errorf("compact slashing protection %s: %w", db.path, err)
	}
	db.f.Close()
	db.f, db.records = f, n
	return nil
}

// writeSynced creates path with data, synced, and returns it open for appending.
func writeSynced(path string, data []byte) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return nil, err
	}
	if _, err = f.Write(data); err == nil {
		err = f.Sync()
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// sortedAddrs returns the keys of m sorted by their bytes, so that files and exports are deterministic.
func sortedAddrs[V any](m map[chain.Address]V) []chain.Address {
	return slices.SortedFunc(maps.Keys(m), func(a, b chain.Address) int { return bytes.Compare(a[:], b[:]) })
}

// markDown publishes db.err for Err once f is nil; called with mu held.
func (db *DB) markDown() {
	err := db.err
	db.down.Store(&err)
}
