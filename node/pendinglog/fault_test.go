package pendinglog

import (
	"errors"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/posnode/posnode/chain"
)

// TestFaultLeavesNothing: a commit whose write, or whose fsync after the write, fails (SetFault) returns
// ErrStorage, is not held, and leaves nothing in the file, even when the truncation that cuts the written bytes
// off fails too; once the disk recovers, the next commit succeeds and a reopen holds exactly the commits that did.
func TestFaultLeavesNothing(t *testing.T) {
	keys, id := fixture()
	tests := []struct {
		name string
		fail map[string]error
	}{
		{"full disk", map[string]error{"write": syscall.ENOSPC}},
		{"fsync fails", map[string]error{"sync": syscall.EIO}},
		{"fsync and truncate fail", map[string]error{"sync": syscall.EIO, "truncate": syscall.EIO}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "pending.txs")
			j, _, _ := openTestLog(t, path)
			var broken bool
			j.SetFault(func(op string) error {
				if broken {
					return tc.fail[op]
				}
				return nil
			})
			ok := []chain.Tx{bpmTx(keys[0], 0, id)}
			writeTxs(t, j, ok)
			broken = true
			lost := bpmTx(keys[0], 1, id)
			if err := j.Sync(j.Append(lost)); !errors.Is(err, ErrStorage) {
				t.Fatalf("commit on a failing disk: got %v, want ErrStorage", err)
			}
			if j.Holds(lost.ID()) || j.HoldsNonce(lost.From, lost.Nonce) {
				t.Errorf("the log holds a transaction, or its nonce, whose commit failed")
			}
			broken = false
			ok = append(ok, bpmTx(keys[0], 2, id))
			writeTxs(t, j, ok[1:])
			j.Close()
			j, got, warns := openTestLog(t, path)
			defer j.Close()
			if len(got) != len(ok) || got[0].ID() != ok[0].ID() || got[1].ID() != ok[1].ID() || len(warns) > 0 {
				t.Fatalf("after reopen: got %d entries (warnings %v), want the %d that committed", len(got), warns, len(ok))
			}
		})
	}
}
