package slashprot

import (
	"errors"
	"path/filepath"
	"testing"
	"time"
)

// Err answers without the DB's lock, which a record's write holds through its fsync: nil while the DB is open,
// ErrClosed once it is closed.
func TestErrTakesNoLock(t *testing.T) {
	db, err := Open(filepath.Join(t.TempDir(), "slashing.db"))
	if err != nil {
		t.Fatal(err)
	}
	db.mu.Lock() // as a write in progress does
	got := make(chan error, 1)
	go func() { got <- db.Err() }()
	select {
	case err := <-got:
		if err != nil {
			t.Errorf("Err of an open DB: got %v, want nil", err)
		}
	case <-time.After(10 * time.Second):
		t.Error("Err waited for the DB's lock")
	}
	db.mu.Unlock()
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if err := db.Err(); !errors.Is(err, ErrClosed) {
		t.Errorf("Err after Close: got %v, want ErrClosed", err)
	}
}
