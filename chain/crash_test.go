package chain

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// crashEnv names the store file that the writer process of TestCrashRecovery appends to.
const crashEnv = "POSNODE_CRASH_TEST_STORE"

// crashModeEnv, set to crashWriteBehind, makes the writer process insert its blocks into a write-behind Tree over
// the store and flush it (TestCrashRecoveryWriteBehind), instead of writing them with Store.PutBlocks.
const (
	crashModeEnv     = "POSNODE_CRASH_TEST_MODE"
	crashWriteBehind = "write-behind"
)

// crashMaxBatches bounds the writer process in case nobody kills it.
const crashMaxBatches = 20000

// TestCrashRecovery kills a process that writes blocks to a BoltStore with SIGKILL at random
// moments, and checks after each kill that the store is whole: every record decodes, every block's
// parent is stored, every batch the writer began before its last is stored, the last one all or not
// at all, and a tree opens over the store. Each round then writes a block itself and starts the next
// writer on the same file.
//
// SIGKILL stops the process between any two instructions but keeps what reached the kernel, so this
// tests atomicity of the writes, not survival of a power cut.
func TestCrashRecovery(t *testing.T) { testCrashRecovery(t, "") }

// TestCrashRecoveryWriteBehind is TestCrashRecovery with a writer that accepts its blocks into a write-behind
// Tree (TreeConfig.WriteBehind) over the BoltStore and calls Tree.Flush after one to three batches: each flush is
// stored all or not at all, every stored block's parent is stored, and a tree opens over the store, wherever the
// kill lands (PROTOCOL.md §11).
func TestCrashRecoveryWriteBehind(t *testing.T) { testCrashRecovery(t, crashWriteBehind) }

func testCrashRecovery(t *testing.T, mode string) {
	rounds := 8
	if testing.Short() {
		rounds = 3
	}
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 0))
	path := filepath.Join(t.TempDir(), "chain.db")
	for round := range rounds {
		reports := 1 + rng.IntN(crashAhead-4)
		jitter := time.Duration(rng.IntN(3000)) * time.Microsecond
		if mode == crashWriteBehind {
			jitter *= 3 // a flush of several batches takes longer
		}
		batches, done := runCrashWriter(t, path, mode, reports, jitter, round == 0)
		blocks, head, lastStored := checkCrashedStore(t, path, batches)
		t.Logf("round %d: killed %v after report %d, in batch %d (%d blocks, reported stored %t, found stored %t); %d blocks, head at %d",
			round, jitter, reports, len(batches), len(batches[len(batches)-1]), done, lastStored, blocks, head)
	}
}

// runCrashWriter starts the writer process on path, waits for its reports-th report of a stored
// batch (in crashWriteBehind mode, and for the announcement of the next flush), waits jitter more and kills it. It returns the hashes of every batch the writer began, and
// whether it reported the last one stored. With probeLock it also checks that the store cannot be
// opened while the writer has it.
func runCrashWriter(t *testing.T, path, mode string, reports int, jitter time.Duration, probeLock bool) ([][]Hash, bool) {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), os.Args[0], "-test.run=^TestCrashChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), crashEnv+"="+path, crashModeEnv+"="+mode)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start writer: %v", err)
	}
	r := crashReader{sc: bufio.NewScanner(out)}
	for r.stored < reports {
		if !r.next(t) {
			err := cmd.Wait()
			t.Fatalf("writer ended after %d reports: %v\n%s", r.stored, err, stderr.Bytes())
		}
		if probeLock && r.stored == 1 {
			checkLocked(t, path)
			probeLock = false
		}
	}
	if mode == crashWriteBehind { // the writer spends most of its time inserting: wait for a flush to begin
		for n := len(r.batches); len(r.batches) == n && r.next(t); {
		}
	}
	time.Sleep(jitter) // lands the kill at a varying point of a later write; no result depends on it
	if err := cmd.Process.Kill(); err != nil {
		t.Fatalf("kill writer: %v", err)
	}
	for r.next(t) { // what the writer said before it died
	}
	if err := cmd.Wait(); err == nil {
		t.Fatalf("writer exited normally before the kill")
	}
	return r.batches, r.done
}

// crashReader follows the reports of the writer process.
type crashReader struct {
	sc      *bufio.Scanner
	batches [][]Hash // the batches begun, in order
	done    bool     // whether the last batch begun was reported stored
	stored  int      // batches reported stored
}

// next reads one line; it returns false at the end of the output.
func (r *crashReader) next(t *testing.T) bool {
	t.Helper()
	if !r.sc.Scan() {
		return false
	}
	f := strings.Fields(r.sc.Text())
	switch {
	case len(f) > 1 && f[0] == "batch":
		var hs []Hash
		for _, s := range f[1:] {
			h, err := ParseHash(s)
			if err != nil {
				t.Fatalf("writer report %q: %v", r.sc.Text(), err)
			}
			hs = append(hs, h)
		}
		r.batches, r.done = append(r.batches, hs), false
	case len(f) == 1 && f[0] == "stored":
		r.done = true
		r.stored++
	}
	return true
}

// checkLocked checks that a second process cannot open a store in use.
func checkLocked(t *testing.T, path string) {
	t.Helper()
	s, err := OpenBolt(path)
	if err == nil {
		s.Close()
		t.Fatalf("open a store that another process writes: got nil error")
	}
	if !errors.Is(err, ErrStoreLocked) {
		t.Errorf("open a store that another process writes: got %v, want ErrStoreLocked", err)
	}
}

// checkCrashedStore checks the store at path after a kill and writes one more block to it. It
// returns the number of stored blocks, the head's height and whether the last batch is stored.
func checkCrashedStore(t *testing.T, path string, batches [][]Hash) (int, Height, bool) {
	t.Helper()
	g := richGenesis()
	s := openBoltAt(t, path)
	defer s.Close()
	have := map[Hash]bool{g.Hash(): true}
	var txs []Tx
	var holders []Hash
	err := s.ForEach(func(b *Block) error {
		if !have[b.Header.Parent] {
			return fmt.Errorf("block %s at height %d: parent %s not stored", b.Hash().Short(), b.Header.Height, b.Header.Parent.Short())
		}
		have[b.Hash()] = true
		for i := range b.Txs {
			txs, holders = append(txs, b.Txs[i]), append(holders, b.Hash())
		}
		return nil
	})
	if err != nil {
		t.Fatalf("read the store after a kill: %v", err)
	}
	for i, batch := range batches {
		n := 0
		for _, h := range batch {
			if have[h] {
				n++
			}
		}
		if n != len(batch) && (i < len(batches)-1 || n != 0) {
			t.Fatalf("batch %d of %d after a kill: %d of its %d blocks stored", i+1, len(batches), n, len(batch))
		}
	}
	for i := range txs {
		hs, err := s.TxBlocks(txs[i].ID())
		if err != nil || !bytes.Contains(hashBytes(hs), holders[i][:]) {
			t.Fatalf("tx index after a kill: tx %s of block %s: got %v, %v", txs[i].ID().Short(), holders[i].Short(), hs, err)
		}
	}
	tr := openTestTree(t, g, s)
	head := tr.Head()
	growHead(t, tr, 1, 3)
	last := batches[len(batches)-1]
	return len(have) - 1, head.Height, have[last[0]]
}

func hashBytes(hs []Hash) []byte {
	var b []byte
	for _, h := range hs {
		b = append(b, h[:]...)
	}
	return b
}

// TestCrashChild is the writer process of TestCrashRecovery; run directly, it skips.
func TestCrashChild(t *testing.T) {
	path := os.Getenv(crashEnv)
	if path == "" {
		t.Skip("the writer process of TestCrashRecovery")
	}
	if err := crashWriter(t, path, os.Getenv(crashModeEnv) == crashWriteBehind, os.Stdout); err != nil {
		t.Fatal(err)
	}
}

// crashWriter appends batches of blocks to the BoltStore at path until it is killed. It reports each
// batch on out as "batch <hash>…" before writing it and "stored" once the write returned. It builds
// the blocks ahead, crashAhead batches at a time, on a tree in memory seeded with the stored blocks,
// so that it spends its time writing and a kill is likely to land inside a write. With writeBehind it inserts them
// into a write-behind tree over the store instead and reports each flush of that tree as one batch.
func crashWriter(t *testing.T, path string, writeBehind bool, out io.Writer) error {
	s, err := OpenBolt(path)
	if err != nil {
		return err
	}
	defer s.Close()
	mem := NewMemStore()
	if err := s.ForEach(mem.PutBlock); err != nil {
		return err
	}
	tr := openTestTree(t, richGenesis(), mem)
	write := func(batch []*Block) error { return writeCrashBatch(s, batch, out) }
	if writeBehind {
		if write, err = flushingWriter(s, out); err != nil {
			return err
		}
	}
	for i := 0; i < crashMaxBatches; {
		var ahead [][]*Block
		for ; len(ahead) < crashAhead; i++ {
			ahead = append(ahead, crashBatch(t, tr, i))
		}
		for _, batch := range ahead {
			if err := write(batch); err != nil {
				return err
			}
		}
	}
	return nil
}

// flushingWriter returns a writer of batches for crashWriter that inserts them into a write-behind tree over s and
// flushes the tree after every one to three batches, announcing each flush's blocks on out as "batch <hash>…"
// before it and reporting "stored" once it returned.
func flushingWriter(s *BoltStore, out io.Writer) (func([]*Block) error, error) {
	wb, err := OpenTree(TreeConfig{Genesis: richGenesis(), Store: s, Elect: treeElect, Better: treeBetter,
		Finality: testFinality, WriteBehind: true})
	if err != nil {
		return nil, err
	}
	var queued []*Block
	writes := 0
	return func(batch []*Block) error {
		for _, b := range batch {
			if _, err := wb.Insert(b, b.Header.Slot); err != nil {
				return err
			}
		}
		if queued, writes = append(queued, batch...), writes+1; writes%3 != 0 && writes%5 != 1 {
			return nil
		}
		if wb.Unflushed() != len(queued) {
			return fmt.Errorf("tree queues %d blocks, %d inserted since the last flush", wb.Unflushed(), len(queued))
		}
		line := "batch"
		for _, b := range queued {
			line += " " + b.Hash().String()
		}
		queued = queued[:0]
		if _, err := fmt.Fprintln(out, line); err != nil {
			return err
		}
		if err := wb.Flush(); err != nil {
			return err
		}
		_, err := fmt.Fprintln(out, "stored")
		return err
	}, nil
}

// crashAhead is how many batches the writer process builds before writing them.
const crashAhead = 20

// writeCrashBatch announces batch on out, stores it and reports it stored.
func writeCrashBatch(s *BoltStore, batch []*Block, out io.Writer) error {
	line := "batch"
	for _, b := range batch {
		line += " " + b.Hash().String()
	}
	if _, err := fmt.Fprintln(out, line); err != nil {
		return err
	}
	var err error
	if len(batch) == 1 {
		err = s.PutBlock(batch[0])
	} else {
		err = s.PutBlocks(batch)
	}
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(out, "stored")
	return err
}

// crashBatch adds one to four blocks with transactions to tr; every fifth batch starts with a side
// block on the head's parent.
func crashBatch(t *testing.T, tr *Tree, i int) []*Block {
	var batch []*Block
	head := tr.Head()
	if i%5 == 4 && head.Height > 0 {
		parent := tr.nodes[head.Hash].parent.hash
		batch = append(batch, grow(t, tr, parent, head.Slot+1, transfers(tr.ChainID(), stateAt(t, tr, parent), 2)))
	}
	return append(batch, growHead(t, tr, 1+i%4, 3)...)
}
