package slashprot

import (
	"path/filepath"
	"testing"

	"github.com/posnode/posnode/chain"
)

// The record tells the key's own blocks and votes, signed here before, from another process's: what it holds
// with the same root is Signed, what lies above it or holds another root is NotSigned, what is older than its
// kept history is Unexplained; and that survives a compaction and a reopen.
func TestOrigin(t *testing.T) {
	a, b := key(1), key(2)
	path := filepath.Join(t.TempDir(), FileName)
	db, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	db.slack, db.compactAt = 8, 8 // compact often
	for s := chain.Slot(10); s < 10+2*(keepBlocks+10); s += 2 {
		mustBlock(t, db, a, s, root(string(rune(s))))
	}
	mustVote(t, db, a, 1, 2, root("v2"))
	mustVote(t, db, a, 2, 3, root("v3"))
	mustVote(t, db, a, 3, 4, chain.Hash{})
	latest, _ := db.LatestBlock(a)
	check := func(db *DB) {
		t.Helper()
		blocks := []struct {
			name string
			addr chain.Address
			slot chain.Slot
			root chain.Hash
			want Origin
		}{
			{"the latest block", a, latest, root(string(rune(latest))), Signed},
			{"a kept older block", a, latest - 100, root(string(rune(latest - 100))), Signed},
			{"another root at a kept slot", a, latest - 100, root("other"), NotSigned},
			{"another root at the latest slot", a, latest, root("other"), NotSigned},
			{"a slot above the latest", a, latest + 1, root("new"), NotSigned},
			{"a kept slot's gap", a, latest - 1, root("gap"), Unexplained},
			{"older than the kept history", a, 10, root(string(rune(10))), Unexplained},
			{"a key never recorded", b, 5, root("x"), NotSigned},
		}
		for _, tc := range blocks {
			if got := db.BlockOrigin(tc.addr, tc.slot, tc.root); got != tc.want {
				t.Errorf("block, %s: got %v, want %v", tc.name, got, tc.want)
			}
		}
		votes := []struct {
			name           string
			source, target chain.Epoch
			root           chain.Hash
			want           Origin
		}{
			{"a kept vote", 2, 3, root("v3"), Signed},
			{"a kept vote, root unknown", 3, 4, root("any"), Signed},
			{"another root at a kept target", 2, 3, root("other"), NotSigned},
			{"another source at a kept target", 1, 3, root("v3"), NotSigned},
			{"a target above the latest", 4, 5, root("v5"), NotSigned},
			{"a target below the kept votes", 0, 1, root("v1"), Unexplained},
		}
		for _, tc := range votes {
			if got := db.VoteOrigin(a, tc.source, tc.target, tc.root); got != tc.want {
				t.Errorf("vote, %s: got %v, want %v", tc.name, got, tc.want)
			}
		}
	}
	check(db)
	if db.BlockOrigin(b, 1, root("x")); len(db.signers) != 1 {
		t.Errorf("asking about an unknown key added it to the record")
	}
	db.Close()
	if db, err = Open(path); err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	check(db)
	if n := len(db.signers[a].blocks); n != keepBlocks {
		t.Errorf("kept blocks after reopening: got %d, want %d", n, keepBlocks)
	}
}
