package chain

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"
)

// BenchmarkOpenStore prints, for chains of 10,000 and 100,000 finalizing blocks (and 1,000,000 with
// POSNODE_BENCH_MILLION=1) made by a generator, what opening the store costs a node that ran the chain: the chain is
// stored and opened once (the replay prunes and writes the snapshot, as a running node does at each
// finalization; the generator opens the tree after every 5,000 blocks), then a fresh process opens it and reports its open time, resident memory (VmRSS) and heap, and
// the blocks it replayed; disk is the store's files. Rows with the retention window of a node's default
// (2 × WeakSubjectivityEpochs) and of an archive node (PROTOCOL.md §13).
func BenchmarkOpenStore(b *testing.B) {
	sizes := []int{10_000, 100_000}
	if os.Getenv("POSNODE_BENCH_MILLION") != "" {
		sizes = append(sizes, 1_000_000)
	}
	fmt.Println("| blocks | retention (epochs) | open | RSS after open | heap after open | blocks replayed | disk |")
	fmt.Println("|---:|---:|---:|---:|---:|---:|---:|")
	for b.Loop() {
		for _, n := range sizes {
			for _, retain := range []uint64{2 * WeakSubjectivityEpochs, 0} {
				if retain == 0 && n > 100_000 {
					continue
				}
				fmt.Println(openRow(b, n, retain))
			}
		}
	}
}

// openRow builds a store of n blocks with retention window retain and measures a fresh process opening it.
func openRow(b *testing.B, n int, retain uint64) string {
	g := richGenesis()
	path := filepath.Join(b.TempDir(), "chain.db")
	s, err := OpenBolt(path)
	if err != nil {
		b.Fatal(err)
	}
	const chunk = 5_000 // the tree prunes and snapshots after each chunk, so the file is reused as a node's is
	gen := newChainGen(g)
	for lo := 0; lo < n; lo += chunk {
		blocks := gen.next(b, min(chunk, n-lo))
		for i := 0; i < len(blocks); i += 1024 {
			if err := s.PutBlocks(blocks[i:min(i+1024, len(blocks))]); err != nil {
				b.Fatal(err)
			}
		}
		reopen(b, g, s, retain)
	}
	s.Close()
	cmd := exec.Command(os.Args[0], "-test.run=^TestOpenChild$", "-test.v")
	cmd.Env = append(os.Environ(), "POSNODE_OPEN_STORE="+path, fmt.Sprintf("POSNODE_OPEN_RETAIN=%d", retain))
	out, err := cmd.CombinedOutput()
	if err != nil {
		b.Fatalf("child: %v\n%s", err, out)
	}
	var took time.Duration
	var rss, heap, replayed int64
	for sc := bufio.NewScanner(strings.NewReader(string(out))); sc.Scan(); {
		if _, err := fmt.Sscanf(sc.Text(), "opened %d %d %d %d", &took, &rss, &heap, &replayed); err == nil {
			break
		}
	}
	disk := fileSize(path) + fileSize(indexPath(path))
	window := strconv.FormatUint(retain, 10)
	if retain == 0 {
		window = "all (archive)"
	}
	return fmt.Sprintf("| %d | %s | %.1f ms | %.1f MiB | %.1f MiB | %d | %.1f MiB |", n, window,
		float64(took)/1e6, mib(rss), mib(heap), replayed, mib(disk))
}

func mib(n int64) float64 { return float64(n) / (1 << 20) }

func fileSize(path string) int64 {
	fi, err := os.Stat(path)
	if err != nil {
		return 0
	}
	return fi.Size()
}

// TestOpenChild is BenchmarkOpenStore's fresh process: it opens the store POSNODE_OPEN_STORE names and prints
// "opened <ns> <rss bytes> <heap bytes> <blocks replayed>". Without that variable it is skipped.
func TestOpenChild(t *testing.T) {
	path := os.Getenv("POSNODE_OPEN_STORE")
	if path == "" {
		t.Skip("run by BenchmarkOpenStore")
	}
	retain, err := strconv.ParseUint(os.Getenv("POSNODE_OPEN_RETAIN"), 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	s, err := OpenBolt(path)
	if err != nil {
		t.Fatal(err)
	}
	counting := &countingReplay{Store: s}
	tr := reopen(t, richGenesis(), counting, retain)
	took := time.Since(start)
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	fmt.Printf("opened %d %d %d %d\n", took, vmRSS(t), m.HeapAlloc, counting.replayed)
	runtime.KeepAlive(tr)
	s.Close()
}

// vmRSS returns the process's resident memory from /proc/self/status, in bytes.
func vmRSS(t *testing.T) int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if f := strings.Fields(line); len(f) == 3 && f[0] == "VmRSS:" {
			kb, _ := strconv.ParseInt(f[1], 10, 64)
			return kb << 10
		}
	}
	return 0
}
