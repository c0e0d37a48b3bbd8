package chain

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	bolt "go.etcd.io/bbolt"
)

// damagedChain writes a chain of 60 blocks with transfers and bpm records to a BoltStore at path and returns
// its blocks, oldest first.
func damagedChain(t *testing.T, path string) []*Block {
	t.Helper()
	g := richGenesis()
	s, err := OpenBolt(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	tr := openTestTree(t, g, s)
	var bs []*Block
	for range 60 {
		head := tr.Head()
		st := stateAt(t, tr, head.Hash)
		txs := append(transfers(tr.ChainID(), st, 4),
			signedTx(tr.ChainID(), 3, TxBPM, st.Account(testAddr(3)).Nonce, Address{}, 72, 1))
		bs = append(bs, grow(t, tr, head.Hash, head.Slot+1, txs))
	}
	if err := s.PutMeta("some/record", []byte("value")); err != nil {
		t.Fatal(err)
	}
	return bs
}

// damageOffsets returns the offsets to flip in a bbolt file of size bytes: in every 4 KiB page, each byte of the
// page header, the first element headers, and a spread of places in the rest of the page.
func damageOffsets(size int) []int {
	var out []int
	for page := 0; page < size; page += 4096 {
		for _, off := range []int{0, 1, 8, 9, 10, 11, 12, 13, 15, 16, 17, 20, 24, 28, 32, 40, 48, 64, 100, 200, 500, 1000, 2000, 3000, 4095} {
			if page+off < size {
				out = append(out, page+off)
			}
		}
	}
	return out
}

// openDamaged opens the store at path and a tree over it, as a node does at start, and reads back every
// canonical block. A panic anywhere is returned as an error that wraps errPanicked.
func openDamaged(path string) (head Tip, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%w: %v", errPanicked, r)
		}
	}()
	s, err := OpenBolt(path)
	if err != nil {
		return Tip{}, err
	}
	defer s.Close()
	tr, err := OpenTree(TreeConfig{Genesis: richGenesis(), Store: s, Elect: treeElect, Better: treeBetter, Finality: testFinality})
	if err != nil {
		return Tip{}, err
	}
	for h := Height(1); h <= tr.Head().Height; h++ {
		if _, err := tr.BlockAt(h); err != nil {
			return Tip{}, fmt.Errorf("opened, then block %d: %w", h, err)
		}
	}
	return tr.Head(), nil
}

var errPanicked = errors.New("panicked")

// TestDamagedStoreNeverPanics flips a byte at each of many offsets of a real chain.db (issue class 6: 21 of 205
// places panicked in bbolt) and opens the result as a node would: each open either succeeds with the whole
// chain, or fails with ErrCorruptStore (or, where the damage hits the chain id record, ErrGenesisMismatch).
func TestDamagedStoreNeverPanics(t *testing.T) {
	dir := t.TempDir()
	orig := filepath.Join(dir, "chain.db")
	blocks := damagedChain(t, orig)
	want := blocks[len(blocks)-1].Tip()
	data, err := os.ReadFile(orig)
	if err != nil {
		t.Fatal(err)
	}
	offsets := damageOffsets(len(data))
	whole, clean := 0, 0
	for _, off := range offsets {
		damaged := append([]byte(nil), data...)
		damaged[off] ^= 0xff
		path := filepath.Join(dir, fmt.Sprintf("damaged-%d.db", off))
		if err := os.WriteFile(path, damaged, 0o600); err != nil {
			t.Fatal(err)
		}
		head, err := openDamaged(path)
		switch {
		case err == nil && head == want:
			whole++
		case err == nil:
			t.Errorf("offset %d: opened with head %d %s, want %d %s", off, head.Height, head.Hash.Short(), want.Height, want.Hash.Short())
		case errors.Is(err, ErrCorruptStore), errors.Is(err, ErrGenesisMismatch):
			clean++
		default:
			t.Errorf("offset %d: got %v, want success or ErrCorruptStore", off, err)
		}
		os.Remove(path)
	}
	t.Logf("%d-byte chain.db, %d offsets flipped: %d opened whole, %d clean errors, %d otherwise",
		len(data), len(offsets), whole, clean, len(offsets)-whole-clean)
}

// TestStoredBPMChangeDetected changes the value of a bpm record inside a stored block, which leaves the block's
// header and every state root as they were, and checks that opening the store fails with a tx_root error, and
// that a tree already open refuses to serve the block.
func TestStoredBPMChangeDetected(t *testing.T) {
	path := filepath.Join(t.TempDir(), "chain.db")
	blocks := damagedChain(t, path)
	victim := blocks[30]
	s, err := OpenBolt(path)
	if err != nil {
		t.Fatal(err)
	}
	tr := openTestTree(t, richGenesis(), s)
	changeBPM(t, s, victim, 73)
	if _, err := tr.BlockAt(victim.Header.Height); !errors.Is(err, ErrCorruptStore) || !errors.Is(err, ErrBadTxRoot) {
		t.Errorf("serve the changed block: got %v, want ErrCorruptStore and ErrBadTxRoot", err)
	}
	s.Close()
	_, err = openDamaged(path)
	if !errors.Is(err, ErrCorruptStore) || !errors.Is(err, ErrBadTxRoot) {
		t.Fatalf("open with a changed bpm value: got %v, want ErrCorruptStore and ErrBadTxRoot", err)
	}
	t.Logf("open with a changed bpm value: %v", err)
}

// changeBPM rewrites the stored record of b with its last transaction's bpm value set to v.
func changeBPM(t *testing.T, s *BoltStore, b *Block, v uint64) {
	t.Helper()
	changed := *b
	changed.Txs = append([]Tx(nil), b.Txs...)
	last := &changed.Txs[len(changed.Txs)-1]
	if last.Kind != TxBPM {
		t.Fatalf("last transaction is a %s, want bpm", last.Kind)
	}
	last.Value = v
	key := blockKey(b.Header.Height, b.Hash())
	err := s.db.Update(func(tx *bolt.Tx) error { return tx.Bucket(bucketBlocks).Put(key, changed.Encode()) })
	if err != nil {
		t.Fatal(err)
	}
}

// FuzzBoltFile: the page verifier never panics on any file, and a file it passes opens, replays and reads back
// without a panic or a memory fault (an error is fine).
func FuzzBoltFile(f *testing.F) {
	dir := f.TempDir()
	seed := filepath.Join(dir, "seed.db")
	s, err := OpenBolt(seed)
	if err != nil {
		f.Fatal(err)
	}
	if err := s.PutBlocks(chainBlocks(f, richGenesis(), 5, nil)); err != nil {
		f.Fatal(err)
	}
	s.Close()
	data, err := os.ReadFile(seed)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(data)
	f.Add(data[:8192])
	f.Fuzz(func(t *testing.T, in []byte) {
		if verifyBolt(bytes.NewReader(in), int64(len(in))) != nil {
			return
		}
		path := filepath.Join(t.TempDir(), "chain.db")
		if err := os.WriteFile(path, in, 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := openDamaged(path); errors.Is(err, errPanicked) {
			t.Fatal(err)
		}
	})
}
