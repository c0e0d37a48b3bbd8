package node

import (
	"crypto/ed25519"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/posnode/posnode/chain"
	"github.com/posnode/posnode/node/pendinglog"
)

// TestDamagedFilesAtStart: a node whose chain database or pending-transaction log is damaged does not start, and says in one
// line which file and what to do, instead of panicking or starting on a partial state.
func TestDamagedFilesAtStart(t *testing.T) {
	tests := []struct {
		file   string
		damage func(t *testing.T, path string)
		advice string
	}{
		{"chain.db", func(t *testing.T, path string) { flipAt(t, path, 2*4096) }, "start again to fetch the chain from peers"},
		{"pending.txs", func(t *testing.T, path string) {
			key := ed25519.NewKeyFromSeed(make([]byte, ed25519.SeedSize))
			id := chain.HashBytes([]byte("any chain"))
			logAt(t, path, []chain.Tx{bpmTx(key, 0, id), bpmTx(key, 1, id), bpmTx(key, 2, id)})
			flipAt(t, path, int64(len(pendinglog.Magic)+pendinglog.EntrySize+80)) // entry 1's value
		}, "move it aside"},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			c := newCluster(t, []uint64{10}, time.Second, time.Hour)
			c.start(0)
			c.stop(0)
			path := filepath.Join(c.homes[0], tt.file)
			tt.damage(t, path)
			_, err := New(Config{Home: c.homes[0], Genesis: c.gen})
			if err == nil {
				t.Fatalf("start with a damaged %s: got no error", tt.file)
			}
			msg := err.Error()
			if !strings.Contains(msg, path) || !strings.Contains(msg, tt.advice) || strings.Contains(msg, "\n") {
				t.Fatalf("start with a damaged %s: got %q, want one line naming %s and saying %q", tt.file, msg, path, tt.advice)
			}
			t.Logf("%s: %s", tt.file, msg)
		})
	}
}

// flipAt inverts the byte at off of the file at path.
func flipAt(t *testing.T, path string, off int64) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b := make([]byte, 1)
	if _, err := f.ReadAt(b, off); err != nil {
		t.Fatal(err)
	}
	b[0] ^= 0xff
	if _, err := f.WriteAt(b, off); err != nil {
		t.Fatal(err)
	}
}
