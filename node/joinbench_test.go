package node

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"fmt"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/posnode/posnode/chain"
)

// Join benchmark geometry: a slot of 500 ms and epochs of 32 slots; the joining key holds 60 % of the stake, so it
// wins a slot more often than not once it may propose.
const (
	joinSlot        = 500 * time.Millisecond
	joinEpochLength = 32
	joinWait        = 10 * time.Minute // the bound of every wait of one row
)

// BenchmarkCheckpointJoin prints how long a fresh validator takes, from its start, to hold the anchor, to catch
// up, to propose its first block, and to backfill its retention window, joining by checkpoint sync a chain of
// 100,000 blocks (1,000,000 with POSNODE_BENCH_MILLION=1, any number with POSNODE_BENCH_BLOCKS) that a serving node holds; and, as the comparison, the
// same key joining by genesis sync, on chains of at most 100,000 blocks (1,000,000 too with
// POSNODE_BENCH_GENESIS_MILLION=1). The chain (BuildFinalizingChain: every epoch finalized, no records) is built
// into the server's database before the server starts, and neither its building nor the server's first open
// (which replays it) is counted. Both nodes are real nodes on loopback libp2p in this process: the server an
// archive node (genesis sync needs every block), the joining node with the default retention window and no
// doppelganger wait (PROTOCOL.md §13, §13a).
func BenchmarkCheckpointJoin(b *testing.B) {
	n := 100_000
	if v := os.Getenv("POSNODE_BENCH_BLOCKS"); v != "" { // a quicker run
		fmt.Sscan(v, &n)
	}
	if os.Getenv("POSNODE_BENCH_MILLION") != "" {
		n = 1_000_000
	}
	genesisRow := n <= 100_000 || os.Getenv("POSNODE_BENCH_GENESIS_MILLION") != ""
	for b.Loop() {
		rows := joinRows(b, n, genesisRow)
		fmt.Println("| chain (blocks) | join by | anchor held | caught up | first block proposed | window backfilled |")
		fmt.Println("|---:|---|---:|---:|---:|---:|")
		for _, r := range rows {
			fmt.Println(r)
		}
	}
}

// joinKeys returns the server's key and the joining validator's.
func joinKeys() (server, joiner ed25519.PrivateKey) {
	s, j := sha256.Sum256([]byte("join-bench-server")), sha256.Sum256([]byte("join-bench-joiner"))
	return ed25519.NewKeyFromSeed(s[:]), ed25519.NewKeyFromSeed(j[:])
}

// joinRows builds a chain of n blocks, starts its server, and measures the joins.
func joinRows(b *testing.B, n int, genesisRow bool) []string {
	sk, jk := joinKeys()
	g := &chain.Genesis{ChainID: "posnode-join-bench", SlotDuration: chain.Duration(joinSlot),
		Time:        time.Now().Add(-time.Duration(n)*joinSlot - 10*time.Second).Truncate(time.Millisecond),
		EpochLength: joinEpochLength, BlockReward: 10, MinStake: 1, TxFee: 1,
		Allocations: []chain.Allocation{
			{Address: chain.AddressOf(sk.Public().(ed25519.PublicKey)), Balance: 1_000_000, Stake: 40},
			{Address: chain.AddressOf(jk.Public().(ed25519.PublicKey)), Balance: 1_000_000, Stake: 60}}}
	if err := g.Validate(); err != nil {
		b.Fatal(err)
	}
	home := b.TempDir()
	if err := SaveKey(filepath.Join(home, KeyFile), sk); err != nil {
		b.Fatal(err)
	}
	t0 := time.Now()
	if err := BuildFinalizingChain(home, g, []ed25519.PrivateKey{sk, jk}, n); err != nil {
		b.Fatal(err)
	}
	built := time.Since(t0)
	t0 = time.Now()
	server, stop := runBenchNode(b, Config{Home: home, Genesis: g, Listen: []string{"/ip4/127.0.0.1/tcp/0"},
		Logger: zap.NewNop(), wsEpochs: clusterWSEpochs}) // an archive node: genesis sync needs every block
	defer stop()
	opened := time.Since(t0)
	view, err := server.Finality(context.Background())
	if err != nil {
		b.Fatal(err)
	}
	cp, err := chain.ParseCheckpoint(view.Checkpoint)
	if err != nil {
		b.Fatal(err)
	}
	fmt.Printf("built %d blocks in %s; the server opened them (replay) in %s; checkpoint %s\n", n,
		built.Round(time.Millisecond), opened.Round(time.Millisecond), cp.Text())
	rows := []string{joinRow(b, server, jk, g, &cp, n)}
	fmt.Println(rows[0])
	if genesisRow {
		// The key's last block is the previous row's: wait until its slot has passed, or this node, which watches
		// for blocks of its key from its start slot on, would take it for another process's (doppelganger.go).
		time.Sleep(2 * joinSlot)
		rows = append(rows, joinRow(b, server, jk, g, nil, n))
	}
	return rows
}

// runBenchNode starts a node and returns it with its stop.
func runBenchNode(b *testing.B, cfg Config) (*Node, func()) {
	nd, err := New(cfg)
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- nd.Run(ctx) }()
	select {
	case <-nd.Started():
	case err := <-done:
		cancel()
		b.Fatalf("node stopped at start: %v", err)
	}
	return nd, func() {
		cancel()
		if err := <-done; err != nil {
			b.Errorf("node: %v", err)
		}
	}
}

// joinMarks are the moments of one join, from the node's start; zero until reached.
type joinMarks struct{ anchor, caughtUp, proposed, backfilled time.Duration }

// joinRow starts a fresh node with key k bootstrapped to server, by checkpoint sync from cp (nil: genesis sync),
// and measures its join; the node is stopped before it returns.
func joinRow(b *testing.B, server *Node, k ed25519.PrivateKey, g *chain.Genesis, cp *chain.Checkpoint, n int) string {
	home := b.TempDir()
	if err := SaveKey(filepath.Join(home, KeyFile), k); err != nil {
		b.Fatal(err)
	}
	var proposed atomic.Int64
	start := time.Now()
	nd, stop := runBenchNode(b, Config{Home: home, Genesis: g, Listen: []string{"/ip4/127.0.0.1/tcp/0"},
		Bootstrap: server.Addrs()[:1], Logger: benchLogger(b), Checkpoint: cp, RetainEpochs: chain.DefaultRetainEpochs,
		wsEpochs: clusterWSEpochs, OnBlock: func(_ *chain.Block, local bool) {
			if local {
				proposed.CompareAndSwap(0, int64(time.Since(start)))
			}
		}})
	defer stop()
	var m joinMarks
	for deadline := start.Add(joinWait); m.proposed == 0 || (cp != nil && m.backfilled == 0); time.Sleep(2 * time.Millisecond) {
		if time.Now().After(deadline) {
			b.Fatalf("join of a %d-block chain (checkpoint %v): after %s: %+v", n, cp != nil, joinWait, m)
		}
		m.mark(b, nd, server, cp, time.Since(start))
		m.proposed = time.Duration(proposed.Load())
	}
	how, anchor, backfilled := "genesis sync", "–", "–"
	if cp != nil {
		how, anchor, backfilled = "checkpoint sync", ms(m.anchor), ms(m.backfilled)
	}
	return fmt.Sprintf("| %d | %s | %s | %s | %s | %s |", n, how, anchor, ms(m.caughtUp), ms(m.proposed), backfilled)
}

// mark records the moments the node has reached by now.
func (m *joinMarks) mark(b *testing.B, nd, server *Node, cp *chain.Checkpoint, now time.Duration) {
	ctx := context.Background()
	sv, err := server.Status(ctx)
	if err != nil {
		b.Fatal(err)
	}
	var has, more bool
	var height chain.Height
	if err := nd.call(ctx, func() {
		has, height = cp != nil && nd.tree.Has(cp.Hash), nd.tree.Head().Height
		_, _, more = nd.tree.BackfillWant()
		more = more || nd.cpWanted
	}); err != nil {
		b.Fatal(err)
	}
	st, err := nd.Status(ctx)
	if err != nil {
		b.Fatal(err)
	}
	if m.anchor == 0 && has {
		m.anchor = now
	}
	if m.caughtUp == 0 && st.Synced && uint64(height) >= sv.Height {
		m.caughtUp = now
	}
	if m.backfilled == 0 && m.anchor != 0 && !more {
		m.backfilled = now
	}
}

func ms(d time.Duration) string { return fmt.Sprintf("%.0f ms", float64(d)/float64(time.Millisecond)) }

// benchLogger is the joining node's logger: none, or with POSNODE_BENCH_LOG=1 its INFO lines on stderr.
func benchLogger(b *testing.B) *zap.Logger {
	if os.Getenv("POSNODE_BENCH_LOG") == "" {
		return zap.NewNop()
	}
	l, err := zap.NewDevelopment(zap.IncreaseLevel(zap.InfoLevel))
	if err != nil {
		b.Fatal(err)
	}
	return l
}
