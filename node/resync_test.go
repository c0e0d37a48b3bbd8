package node

import (
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"go.uber.org/zap/zaptest"
)

// Scenario 3 of issue 18: a sole validator whose chain.db was moved aside — as the node's own message for a
// damaged database says to do — or lost its latest blocks in a crash restarts, fetches its own recent blocks back
// from peers, and once took them for another process's: "stopped: block … signed with this node's key by another
// process", and it never signed again. Its slashing protection record holds those blocks with their roots, so
// they are its own (PROTOCOL.md §10): it signs again. Printed: slots from catching up (its height back to the
// peers' and the start-up watch over) to its first new block.
func TestResyncedValidatorSignsAgain(t *testing.T) {
	cases := []struct {
		name string
		// lose prepares chain.db for the restart; backup is a copy of it taken at an earlier stop.
		lose func(t *testing.T, db, backup string)
	}{
		{"chain.db moved aside", func(t *testing.T, db, _ string) {
			if err := os.Rename(db, db+".damaged"); err != nil {
				t.Fatal(err)
			}
		}},
		{"chain.db lost its latest blocks", func(t *testing.T, db, backup string) {
			if err := os.Rename(backup, db); err != nil {
				t.Fatal(err)
			}
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			const watch = 4 // the start-up watch, in slots: it covers the blocks signed just before the stop
			slot := 200 * time.Millisecond
			c := newCluster(t, []uint64{10, 0, 0}, slot, 1500*time.Millisecond)
			dbPath, backup := filepath.Join(c.homes[0], "chain.db"), filepath.Join(t.TempDir(), "chain.db")
			validator := func(bootstrap ...int) *Node {
				cfg := Config{Home: c.homes[0], Genesis: c.gen, Listen: []string{"/ip4/127.0.0.1/tcp/0"},
					HTTP: "127.0.0.1:0", Logger: zaptest.NewLogger(t).Named("node0"), DoppelgangerSlots: watch}
				for _, j := range bootstrap {
					cfg.Bootstrap = append(cfg.Bootstrap, c.nodes[j].Addrs()[0])
				}
				return c.run(0, cfg)
			}
			validator()
			c.start(1, 0)
			c.start(2, 0)
			waitFor(t, 30*time.Second, "height 4", func() bool { return c.minHeight(0, 1, 2) >= 4 })
			c.stop(0) // a copy of chain.db as it was: what a crash that lost later unflushed blocks leaves
			copyFile(t, dbPath, backup)
			validator(1, 2)
			waitFor(t, 30*time.Second, "height 10", func() bool { return c.minHeight(0, 1, 2) >= 10 })
			c.stop(0)
			before, _ := signedSlots(c.nodes[0])
			height := c.status(1).Height
			tc.lose(t, dbPath, backup)

			n := validator(1, 2)
			var caughtUp uint64
			waitFor(t, 30*time.Second, "the validator to sign a new block", func() bool {
				st := c.status(0)
				if caughtUp == 0 && st.Height >= height && st.Slot >= uint64(n.signFrom) {
					caughtUp = st.Slot
				}
				if st.Doppelganger {
					t.Fatalf("the validator took its own blocks for another process's: signing %q", st.Signing)
				}
				last, won := signedSlots(n)
				return won > 0 && last > before
			})
			last, _ := signedSlots(n)
			st := c.status(0)
			t.Logf("%s: peers at height %d, the validator back at height %d, caught up at slot %d (watch until slot %d), "+
				"first new block at slot %d: %d slots from catching up to signing; signing %q",
				tc.name, height, st.Height, caughtUp, n.signFrom, last, int64(last)-int64(caughtUp), st.Signing)
			if caughtUp == 0 {
				t.Errorf("signed a new block at slot %d before catching up to height %d", last, height)
			}
			if st.Doppelganger || st.Signing != "active" {
				t.Errorf("after signing again: doppelganger %v, signing %q", st.Doppelganger, st.Signing)
			}
		})
	}
}

// copyFile copies the file at from to to.
func copyFile(t *testing.T, from, to string) {
	t.Helper()
	src, err := os.Open(from)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	dst, err := os.Create(to)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(dst, src); err != nil {
		t.Fatal(err)
	}
	if err := dst.Close(); err != nil {
		t.Fatal(err)
	}
}
