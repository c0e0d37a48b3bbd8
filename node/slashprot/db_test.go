package slashprot

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/posnode/posnode/chain"
)

// Records survive a close and a reopen: the same attempts are refused and the same repeats allowed.
func TestReopenKeepsRecords(t *testing.T) {
	path := filepath.Join(t.TempDir(), FileName)
	db, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	a := key(1)
	mustBlock(t, db, a, 7, root("b7"))
	mustVote(t, db, a, 2, 3, root("v3"))
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if err := db.CheckAndRecordBlock(a, 8, root("b8")); !errors.Is(err, ErrClosed) {
		t.Errorf("record after close: got %v, want ErrClosed", err)
	}
	db, err = Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if s, ok := db.LatestBlock(a); !ok || s != 7 {
		t.Errorf("latest block after reopen: got %d %t, want 7 true", s, ok)
	}
	if err := db.CheckAndRecordBlock(a, 7, root("other")); !errors.Is(err, ErrDoubleBlock) {
		t.Errorf("double block after reopen: got %v, want ErrDoubleBlock", err)
	}
	if err := db.CheckAndRecordBlock(a, 7, root("b7")); err != nil {
		t.Errorf("identical block after reopen: got %v, want nil", err)
	}
	if err := db.CheckAndRecordVote(a, 1, 4, root("x")); !errors.Is(err, ErrSurroundingVote) {
		t.Errorf("surrounding vote after reopen: got %v, want ErrSurroundingVote", err)
	}
}

// A second Open of the same record, as by an import while the node runs, fails with ErrLocked until the first
// is closed.
func TestOpenIsExclusive(t *testing.T) {
	path := filepath.Join(t.TempDir(), FileName)
	db, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if second, err := Open(path); !errors.Is(err, ErrLocked) {
		if second != nil {
			second.Close()
		}
		t.Fatalf("second open: got %v, want ErrLocked", err)
	}
	db.Close()
	db, err = Open(path)
	if err != nil {
		t.Fatalf("open after close: %v", err)
	}
	db.Close()
}

// A damaged file is refused with one line that names the file and the remedy, even when only its last record is
// unreadable; a write cut short at the end (a short record, or zeros) is dropped and the records before it kept.
func TestDamagedAndTornFiles(t *testing.T) {
	a := key(1)
	cases := []struct {
		name    string
		damage  func(data []byte) []byte
		damaged bool
		latest  chain.Slot // with damaged false: the latest block after reopening
	}{
		{"bad header", func(d []byte) []byte { d[0] = 'X'; return d }, true, 0},
		{"not a record file", func([]byte) []byte { return []byte(`{"json": true}`) }, true, 0},
		{"middle record bit flip", func(d []byte) []byte { d[len(fileHeader)+recordSize+40] ^= 1; return d }, true, 0},
		{"middle record unknown kind", func(d []byte) []byte { d[len(fileHeader)+recordSize] = 9; return d }, true, 0},
		{"last record bit flip", func(d []byte) []byte { d[len(d)-20] ^= 4; return d }, true, 0},
		{"last record checksum", func(d []byte) []byte { d[len(d)-1] ^= 0xff; return d }, true, 0},
		{"torn last record", func(d []byte) []byte { return d[:len(d)-30] }, false, 2},
		{"last record zeroed", func(d []byte) []byte { clear(d[len(d)-recordSize:]); return d }, false, 2},
		{"zero page after the records", func(d []byte) []byte { return append(d, make([]byte, 4096)...) }, false, 3},
		{"zeros, then a record", func(d []byte) []byte { clear(d[len(d)-2*recordSize : len(d)-recordSize]); return d }, true, 0},
		{"header cut short at creation", func(d []byte) []byte { return d[:10] }, false, 0},
		{"empty file", func([]byte) []byte { return nil }, false, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), FileName)
			db, err := Open(path)
			if err != nil {
				t.Fatal(err)
			}
			for s := chain.Slot(1); s <= 3; s++ {
				mustBlock(t, db, a, s, root(string(rune('a'+s))))
			}
			db.Close()
			data, _ := os.ReadFile(path)
			if err := os.WriteFile(path, tc.damage(data), 0o600); err != nil {
				t.Fatal(err)
			}
			db, err = Open(path)
			if tc.damaged {
				if err == nil {
					db.Close()
					t.Fatal("opened a damaged file")
				}
				msg := err.Error()
				if !errors.Is(err, ErrDamaged) || !strings.Contains(msg, path) || !strings.Contains(msg, "import") || strings.Contains(msg, "\n") {
					t.Fatalf("got %q, want one line wrapping ErrDamaged that names %s and the import", msg, path)
				}
				return
			}
			if err != nil {
				t.Fatalf("open: %v", err)
			}
			defer db.Close()
			got, _ := db.LatestBlock(a)
			if got != tc.latest {
				t.Errorf("latest block: got %d, want %d", got, tc.latest)
			}
			mustBlock(t, db, a, 10, root("after")) // appends after the valid prefix, readable again
			db.Close()
			if db, err = Open(path); err != nil {
				t.Fatalf("reopen after an append: %v", err)
			}
			if got, _ := db.LatestBlock(a); got != 10 {
				t.Errorf("latest block after an append: got %d, want 10", got)
			}
		})
	}
}

// Compaction bounds the file and keeps the protection: after many records and a reopen, the same attempts are
// refused.
func TestCompaction(t *testing.T) {
	path := filepath.Join(t.TempDir(), FileName)
	db, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	db.compactAt, db.slack = 50, 10
	a, b := key(1), key(2)
	for i := range 2000 {
		mustBlock(t, db, a, chain.Slot(i+1), root(fmt.Sprint("a", i)))
		if i%20 == 0 {
			mustVote(t, db, b, chain.Epoch(i), chain.Epoch(i+1), root(fmt.Sprint("b", i)))
		}
	}
	// 2,100 records appended; the log keeps at most twice the live state (a block per key, 100 votes,
	// watermarks) plus the slack.
	if live := db.live(); db.records > 2*live+10 {
		t.Errorf("%d records in the log with %d live; want at most %d", db.records, live, 2*live+10)
	}
	db.Close()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if want := int64(len(fileHeader) + db.records*recordSize); fi.Size() != want {
		t.Errorf("file of %d bytes, want %d for %d records", fi.Size(), want, db.records)
	}
	db, err = Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if s, _ := db.LatestBlock(a); s != 2000 {
		t.Errorf("latest block: got %d, want 2000", s)
	}
	if err := db.CheckAndRecordBlock(a, 1999, root("late")); !errors.Is(err, ErrBlockBelowWatermark) {
		t.Errorf("block below after compaction: got %v", err)
	}
	if err := db.CheckAndRecordVote(b, 100, 101, root("other")); !errors.Is(err, ErrDoubleVote) {
		t.Errorf("double vote after compaction: got %v", err)
	}
	if err := db.CheckAndRecordVote(b, 100, 101, root("b100")); err != nil {
		t.Errorf("identical vote after compaction: got %v", err)
	}
	if err := db.CheckAndRecordVote(b, 1980, 1982, root("next")); err != nil {
		t.Errorf("next vote after compaction: got %v", err)
	}
}

func mustBlock(t *testing.T, db *DB, a chain.Address, s chain.Slot, r chain.Hash) {
	t.Helper()
	if err := db.CheckAndRecordBlock(a, s, r); err != nil {
		t.Fatalf("block %d: %v", s, err)
	}
}

func mustVote(t *testing.T, db *DB, a chain.Address, s, tg chain.Epoch, r chain.Hash) {
	t.Helper()
	if err := db.CheckAndRecordVote(a, s, tg, r); err != nil {
		t.Fatalf("vote %d→%d: %v", s, tg, err)
	}
}

// A compaction cut short before its rename leaves a temporary file beside a whole log: Open removes it and
// reads the log.
func TestOpenAfterCompactionCutShort(t *testing.T) {
	path := filepath.Join(t.TempDir(), FileName)
	db, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	a := key(1)
	mustBlock(t, db, a, 5, root("b5"))
	db.Close()
	if err := os.WriteFile(path+".tmp", []byte(fileHeader+"half a rec"), 0o600); err != nil {
		t.Fatal(err)
	}
	db, err = Open(path)
	if err != nil {
		t.Fatalf("open beside a cut-short compaction: %v", err)
	}
	defer db.Close()
	if _, err := os.Stat(path + ".tmp"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("temporary file left: %v", err)
	}
	if s, _ := db.LatestBlock(a); s != 5 {
		t.Errorf("latest block: got %d, want 5", s)
	}
}
