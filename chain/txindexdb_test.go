package chain

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// checkForestIndexed checks that s finds every transaction of storeForest in the blocks that hold it.
func checkForestIndexed(t *testing.T, s Store, bs []*Block) {
	t.Helper()
	want := map[Hash][]Hash{}
	for _, b := range bs {
		for i := range b.Txs {
			want[b.Txs[i].ID()] = append(want[b.Txs[i].ID()], b.Hash())
		}
	}
	for id, hs := range want {
		slices.SortFunc(hs, func(a, b Hash) int { return bytes.Compare(a[:], b[:]) })
		if got, err := s.TxBlocks(id); err != nil || !slices.Equal(got, hs) {
			t.Fatalf("TxBlocks(%s): got %v, %v; want %v", id.Short(), got, err, hs)
		}
		if ids, err := s.TxIDs(id[:2], 8); err != nil || !slices.Contains(ids, id) {
			t.Fatalf("TxIDs(%x): got %v, %v; want %s among them", id[:2], ids, err, id.Short())
		}
	}
}

// The index file is derived data: deleted, damaged, lost by a crash before its write, or kept in chain.db by an
// older version, it is made again from the stored blocks when the store opens.
func TestTxIndexRebuiltOnOpen(t *testing.T) {
	cases := map[string]func(t *testing.T, path string){
		"deleted": func(t *testing.T, path string) {
			if err := os.Remove(indexPath(path)); err != nil {
				t.Fatal(err)
			}
		},
		"damaged": func(t *testing.T, path string) {
			if err := os.WriteFile(indexPath(path), bytes.Repeat([]byte{0xa5}, 64<<10), 0o600); err != nil {
				t.Fatal(err)
			}
		},
		"an older version's": func(t *testing.T, path string) {
			os.Remove(indexPath(path))
			db, err := bolt.Open(path, 0o600, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			err = db.Update(func(tx *bolt.Tx) error {
				return tx.Bucket(bucketTxs).Put(bytes.Repeat([]byte{7}, 2*len(Hash{})), []byte{})
			})
			if err != nil {
				t.Fatal(err)
			}
		},
	}
	for name, damage := range cases {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "chain.db")
			s, err := OpenBolt(path)
			if err != nil {
				t.Fatal(err)
			}
			bs := storeForest()
			mustPut(t, s, bs...)
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			damage(t, path)
			s = openBoltAt(t, path)
			checkForestIndexed(t, s, bs)
			if name == "an older version's" {
				err := s.db.View(func(tx *bolt.Tx) error {
					if n := tx.Bucket(bucketTxs).Stats().KeyN; n != 0 {
						t.Errorf("chain.db still holds %d entries of the old index", n)
					}
					return nil
				})
				if err != nil {
					t.Fatal(err)
				}
			}
		})
	}
	t.Run("lost before its write", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "chain.db")
		s, err := OpenBolt(path)
		if err != nil {
			t.Fatal(err)
		}
		bs := storeForest()
		err = s.db.Update(func(tx *bolt.Tx) error { // stored in chain.db, and then the process died
			for _, b := range bs {
				if err := putBlock(tx, b); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		checkForestIndexed(t, openBoltAt(t, path), bs)
	})
}

// Readers find a block's transactions from the moment PutBlocks returns, before the background write and after
// it, once each.
func TestTxIndexWrittenInBackground(t *testing.T) {
	s := openBoltAt(t, filepath.Join(t.TempDir(), "chain.db"))
	bs := storeForest()
	if err := s.PutBlocks(bs); err != nil {
		t.Fatal(err)
	}
	checkForestIndexed(t, s, bs)
	deadline := time.Now().Add(10 * indexEvery)
	for {
		s.idx.mu.Lock()
		left := len(s.idx.pending) + len(s.idx.ids)
		s.idx.mu.Unlock()
		if left == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %s, %d blocks and transactions still wait for the index file", 10*indexEvery, left)
		}
		time.Sleep(indexEvery / 10)
	}
	if err := s.idx.Err(); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := s.idx.db.View(func(tx *bolt.Tx) error { n = tx.Bucket(bucketIndexTxs).Stats().KeyN; return nil }); err != nil {
		t.Fatal(err)
	}
	if n != 5 { // storeForest: 4 distinct transactions, one of them in two blocks
		t.Errorf("index file holds %d entries, want 5", n)
	}
	checkForestIndexed(t, s, bs)
}
