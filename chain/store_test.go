package chain

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	bolt "go.etcd.io/bbolt"
)

// storeKind makes stores of one implementation for the shared behaviour tests.
type storeKind struct {
	name   string
	open   func(t *testing.T) Store          // a new empty store
	reopen func(t *testing.T, s Store) Store // the same data after closing and opening again
}

func storeKinds() []storeKind {
	return []storeKind{
		{
			name: "mem",
			open: func(*testing.T) Store { return NewMemStore() },
			// a MemStore lives as long as its value: reopening is keeping it
			reopen: func(_ *testing.T, s Store) Store { return s },
		},
		{
			name: "bolt",
			open: func(t *testing.T) Store { return openBoltAt(t, filepath.Join(t.TempDir(), "chain.db")) },
			reopen: func(t *testing.T, s Store) Store {
				path := s.(*BoltStore).db.Path()
				if err := s.Close(); err != nil {
					t.Fatalf("close: %v", err)
				}
				return openBoltAt(t, path)
			},
		},
	}
}

// openBoltAt opens a BoltStore at path that is closed when the test ends.
func openBoltAt(t *testing.T, path string) *BoltStore {
	t.Helper()
	s, err := OpenBolt(path)
	if err != nil {
		t.Fatalf("open bolt: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// storeBlock returns an unsigned block for store tests; slot tells blocks of one height apart.
func storeBlock(height Height, slot Slot, parent Hash, txs ...Tx) *Block {
	return &Block{Header: Header{Height: height, Slot: slot, Parent: parent, TxRoot: TxRoot(txs)}, Txs: txs}
}

// storeTx returns an unsigned bpm transaction told apart by nonce.
func storeTx(nonce Nonce) Tx { return NewTx(TxBPM, testAddr(0), nonce, Address{}, 60, 1) }

// storeForest returns blocks at heights 1 to 3 with two forks, and a tx held by two of them.
func storeForest() []*Block {
	shared := storeTx(100)
	b1 := storeBlock(1, 1, Hash{1}, storeTx(1))
	b2 := storeBlock(2, 2, b1.Hash(), storeTx(2), shared)
	c2 := storeBlock(2, 3, b1.Hash(), shared)
	b3 := storeBlock(3, 4, b2.Hash())
	c3 := storeBlock(3, 5, c2.Hash(), storeTx(3))
	return []*Block{b1, b2, c2, b3, c3}
}

// mustPut stores every block, one by one.
func mustPut(t *testing.T, s Store, bs ...*Block) {
	t.Helper()
	for _, b := range bs {
		if err := s.PutBlock(b); err != nil {
			t.Fatalf("put block at height %d: %v", b.Header.Height, err)
		}
	}
}

// storedHashes returns the hashes ForEach yields, in order.
func storedHashes(t *testing.T, s Store) []Hash {
	t.Helper()
	var hs []Hash
	if err := s.ForEach(func(b *Block) error { hs = append(hs, b.Hash()); return nil }); err != nil {
		t.Fatalf("for each: %v", err)
	}
	return hs
}

// keyOrder returns the hashes of bs sorted as a store keys them: by height, then hash.
func keyOrder(bs []*Block) []Hash {
	sorted := slices.Clone(bs)
	slices.SortFunc(sorted, func(a, b *Block) int {
		return bytes.Compare(blockKey(a.Header.Height, a.Hash()), blockKey(b.Header.Height, b.Hash()))
	})
	return hashes(sorted)
}

func TestStore(t *testing.T) {
	tests := []struct {
		name string
		run  func(t *testing.T, k storeKind)
	}{
		{"put and get", testStorePutGet},
		{"not found", testStoreNotFound},
		{"for each order", testStoreForEachOrder},
		{"for each stops", testStoreForEachStops},
		{"tx blocks", testStoreTxBlocks},
		{"meta", testStoreMeta},
		{"put blocks", testStorePutBlocks},
		{"reopen keeps data", testStoreReopen},
		{"closed", testStoreClosed},
	}
	for _, k := range storeKinds() {
		for _, tc := range tests {
			t.Run(k.name+"/"+tc.name, func(t *testing.T) { tc.run(t, k) })
		}
	}
}

func testStorePutGet(t *testing.T, k storeKind) {
	s := k.open(t)
	bs := storeForest()
	mustPut(t, s, bs...)
	mustPut(t, s, bs[1]) // a second put is a no-op
	for _, b := range bs {
		got, err := s.Block(b.Hash())
		if err != nil {
			t.Fatalf("block %s: %v", b.Hash().Short(), err)
		}
		if !bytes.Equal(got.Encode(), b.Encode()) {
			t.Errorf("block %s: got a different encoding back", b.Hash().Short())
		}
		got.Txs = nil // the caller's copy
	}
	again, err := s.Block(bs[1].Hash())
	if err != nil || len(again.Txs) != 2 {
		t.Errorf("block after modifying a returned copy: got %d txs, err %v; want 2, nil", len(again.Txs), err)
	}
	if got := len(storedHashes(t, s)); got != len(bs) {
		t.Errorf("for each after a duplicate put: got %d blocks, want %d", got, len(bs))
	}
}

func testStoreNotFound(t *testing.T, k storeKind) {
	s := k.open(t)
	mustPut(t, s, storeForest()...)
	if _, err := s.Block(Hash{9}); !errors.Is(err, ErrNotFound) {
		t.Errorf("block of unknown hash: got %v, want ErrNotFound", err)
	}
	if hs, err := s.TxBlocks(Hash{9}); err != nil || len(hs) != 0 {
		t.Errorf("tx blocks of unknown tx: got %v, %v; want none, nil", hs, err)
	}
	if v, err := s.Meta("absent"); v != nil || err != nil {
		t.Errorf("absent meta: got %q, %v; want nil, nil", v, err)
	}
}

func testStoreForEachOrder(t *testing.T, k storeKind) {
	s := k.open(t)
	bs := storeForest()
	mustPut(t, s, bs[4], bs[3], bs[0], bs[2], bs[1]) // children before parents
	got, want := storedHashes(t, s), keyOrder(bs)
	if !slices.Equal(got, want) {
		t.Errorf("for each: got %v, want %v", got, want)
	}
	var last Height
	s.ForEach(func(b *Block) error {
		if b.Header.Height < last {
			t.Errorf("for each: height %d after %d", b.Header.Height, last)
		}
		last = b.Header.Height
		return nil
	})
}

func testStoreForEachStops(t *testing.T, k storeKind) {
	s := k.open(t)
	mustPut(t, s, storeForest()...)
	stop := errors.New("stop")
	calls := 0
	err := s.ForEach(func(*Block) error { calls++; return stop })
	if !errors.Is(err, stop) || calls != 1 {
		t.Errorf("for each with a failing fn: got %v after %d calls, want stop after 1", err, calls)
	}
}

func testStoreTxBlocks(t *testing.T, k storeKind) {
	s := k.open(t)
	bs := storeForest()
	mustPut(t, s, bs...)
	shared := storeTx(100)
	want := []Hash{bs[1].Hash(), bs[2].Hash()}
	slices.SortFunc(want, func(a, b Hash) int { return bytes.Compare(a[:], b[:]) })
	if got, err := s.TxBlocks(shared.ID()); err != nil || !slices.Equal(got, want) {
		t.Errorf("tx blocks of a tx in two blocks: got %v, %v; want %v", got, err, want)
	}
	one := storeTx(3)
	if got, err := s.TxBlocks(one.ID()); err != nil || !slices.Equal(got, []Hash{bs[4].Hash()}) {
		t.Errorf("tx blocks of a tx in one block: got %v, %v; want [%s]", got, err, bs[4].Hash())
	}
}

func testStoreMeta(t *testing.T, k storeKind) {
	s := k.open(t)
	tests := []struct {
		key  string
		val  []byte
		want []byte
	}{
		{"last-signed", []byte{1, 2, 3}, []byte{1, 2, 3}},
		{"last-signed", []byte{4}, []byte{4}}, // overwrite
		{"empty", nil, []byte{}},
	}
	for _, tc := range tests {
		if err := s.PutMeta(tc.key, tc.val); err != nil {
			t.Fatalf("put meta %q: %v", tc.key, err)
		}
		got, err := s.Meta(tc.key)
		if err != nil || got == nil || !bytes.Equal(got, tc.want) {
			t.Errorf("meta %q: got %v (nil %t), %v; want %v", tc.key, got, got == nil, err, tc.want)
		}
	}
	got, _ := s.Meta("last-signed")
	got[0] = 99 // the caller's copy
	if again, _ := s.Meta("last-signed"); !bytes.Equal(again, []byte{4}) {
		t.Errorf("meta after modifying a returned copy: got %v, want [4]", again)
	}
	if err := s.PutMeta("", []byte{1}); err == nil {
		t.Errorf("put meta with an empty key: got nil error")
	}
}

func testStorePutBlocks(t *testing.T, k storeKind) {
	s := k.open(t)
	bs := storeForest()
	mustPut(t, s, bs[0])
	if err := s.PutBlocks(nil); err != nil {
		t.Fatalf("put no blocks: %v", err)
	}
	if err := s.PutBlocks(bs); err != nil { // bs[0] is stored already
		t.Fatalf("put blocks: %v", err)
	}
	if got, want := storedHashes(t, s), keyOrder(bs); !slices.Equal(got, want) {
		t.Errorf("for each after put blocks: got %v, want %v", got, want)
	}
	one := storeTx(3)
	if got, _ := s.TxBlocks(one.ID()); len(got) != 1 {
		t.Errorf("tx blocks after put blocks: got %d blocks, want 1", len(got))
	}
}

func testStoreReopen(t *testing.T, k storeKind) {
	s := k.open(t)
	bs := storeForest()
	mustPut(t, s, bs...)
	if err := s.PutMeta("k", []byte("v")); err != nil {
		t.Fatalf("put meta: %v", err)
	}
	s = k.reopen(t, s)
	if got, want := storedHashes(t, s), keyOrder(bs); !slices.Equal(got, want) {
		t.Errorf("for each after reopen: got %v, want %v", got, want)
	}
	if _, err := s.Block(bs[3].Hash()); err != nil {
		t.Errorf("block after reopen: %v", err)
	}
	shared := storeTx(100)
	if got, _ := s.TxBlocks(shared.ID()); len(got) != 2 {
		t.Errorf("tx blocks after reopen: got %d, want 2", len(got))
	}
	if got, _ := s.Meta("k"); string(got) != "v" {
		t.Errorf("meta after reopen: got %q, want %q", got, "v")
	}
}

func testStoreClosed(t *testing.T, k storeKind) {
	s := k.open(t)
	mustPut(t, s, storeForest()...)
	if err := s.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	calls := map[string]error{
		"put block": s.PutBlock(storeBlock(1, 9, Hash{})),
		"for each":  s.ForEach(func(*Block) error { return nil }),
		"put meta":  s.PutMeta("k", nil),
	}
	_, calls["block"] = s.Block(Hash{})
	_, calls["tx blocks"] = s.TxBlocks(Hash{})
	_, calls["meta"] = s.Meta("k")
	for name, err := range calls {
		if !errors.Is(err, ErrStoreClosed) {
			t.Errorf("%s after close: got %v, want ErrStoreClosed", name, err)
		}
	}
	if err := s.Close(); err != nil {
		t.Errorf("second close: got %v, want nil", err)
	}
}

func TestBoltLocked(t *testing.T) {
	path := filepath.Join(t.TempDir(), "chain.db")
	openBoltAt(t, path)
	s, err := OpenBolt(path)
	if err == nil {
		s.Close()
		t.Fatalf("second open of a store in use: got nil error")
	}
	if !errors.Is(err, ErrStoreLocked) {
		t.Errorf("second open of a store in use: got %v, want ErrStoreLocked", err)
	}
}

func TestBoltNotADatabase(t *testing.T) {
	path := filepath.Join(t.TempDir(), "chain.db")
	if err := os.WriteFile(path, bytes.Repeat([]byte("not bolt"), 1024), 0o600); err != nil {
		t.Fatal(err)
	}
	if s, err := OpenBolt(path); err == nil {
		s.Close()
		t.Errorf("open a file that is not a database: got nil error")
	}
}

// TestBoltCorruptRecord writes records that do not hold their key's block and checks that reading
// them fails with ErrCorruptStore naming the key.
func TestBoltCorruptRecord(t *testing.T) {
	good := storeBlock(1, 1, Hash{1})
	other := storeBlock(1, 2, Hash{1})
	tests := []struct {
		name string
		val  []byte
	}{
		{"garbage", []byte("garbage")},
		{"truncated", good.Encode()[:100]},
		{"another block", other.Encode()},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := openBoltAt(t, filepath.Join(t.TempDir(), "chain.db"))
			mustPut(t, s, good)
			key := blockKey(1, good.Hash())
			err := s.db.Update(func(tx *bolt.Tx) error { return tx.Bucket(bucketBlocks).Put(key, tc.val) })
			if err != nil {
				t.Fatal(err)
			}
			_, err = s.Block(good.Hash())
			checkCorrupt(t, "block", err, key)
			err = s.ForEach(func(*Block) error { return nil })
			checkCorrupt(t, "for each", err, key)
		})
	}
}

func checkCorrupt(t *testing.T, op string, err error, key []byte) {
	t.Helper()
	if !errors.Is(err, ErrCorruptStore) {
		t.Errorf("%s of a corrupt record: got %v, want ErrCorruptStore", op, err)
	} else if !strings.Contains(err.Error(), fmt.Sprintf("%x", key)) {
		t.Errorf("%s of a corrupt record: error %q does not name key %x", op, err, key)
	}
}
