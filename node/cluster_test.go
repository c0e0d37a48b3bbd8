package node

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"

	"github.com/posnode/posnode/chain"
	"github.com/posnode/posnode/node/blocksync"
)

// cluster runs posnode nodes in this process over real loopback TCP hosts.
type cluster struct {
	t     *testing.T
	gen   *chain.Genesis
	keys  []ed25519.PrivateKey
	homes []string
	nodes []*Node
	stops []func()
	logs  map[int]*zap.Logger // a node's logger instead of the test's, if set before its start
}

// clusterWSEpochs is the weak-subjectivity period of the nodes start runs: so long that they never find their view
// of the chain too old (PROTOCOL.md §12). Many tests put genesis an hour back, or build long chains without votes,
// to start late in a chain's life; TestLongRangeAttackNeedsTheCheckpoint runs its nodes with the rule.
const clusterWSEpochs = 1 << 40

// newCluster makes a genesis with one validator per stake and a home per node; genesis time is start from now.
func newCluster(t *testing.T, stakes []uint64, slot time.Duration, start time.Duration) *cluster {
	c := &cluster{t: t, nodes: make([]*Node, len(stakes)), stops: make([]func(), len(stakes))}
	c.gen = &chain.Genesis{ChainID: "posnode-test", Time: time.Now().Add(start).Truncate(time.Millisecond),
		SlotDuration: chain.Duration(slot), EpochLength: 8, BlockReward: 10, MinStake: 1, TxFee: 1}
	for i, s := range stakes {
		seed := sha256.Sum256(fmt.Appendf(nil, "%s-node-%d", t.Name(), i))
		key := ed25519.NewKeyFromSeed(seed[:])
		home := t.TempDir()
		if err := SaveKey(filepath.Join(home, KeyFile), key); err != nil {
			t.Fatal(err)
		}
		c.keys, c.homes = append(c.keys, key), append(c.homes, home)
		c.gen.Allocations = append(c.gen.Allocations, chain.Allocation{
			Address: chain.AddressOf(key.Public().(ed25519.PublicKey)), Balance: 1_000_000, Stake: chain.Amount(s)})
	}
	if err := c.gen.Validate(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		for i := range c.stops {
			c.stop(i)
		}
	})
	return c
}

// start runs node i, bootstrapped to the given running nodes, and waits until its network is up.
func (c *cluster) start(i int, bootstrap ...int) *Node {
	c.t.Helper()
	var boot []string
	for _, j := range bootstrap {
		boot = append(boot, c.nodes[j].Addrs()[0])
	}
	log := c.logs[i]
	if log == nil {
		log = zaptest.NewLogger(c.t).Named(fmt.Sprintf("node%d", i))
	}
	return c.run(i, Config{Home: c.homes[i], Genesis: c.gen, Listen: []string{"/ip4/127.0.0.1/tcp/0"}, Bootstrap: boot,
		HTTP: "127.0.0.1:0", Logger: log, wsEpochs: clusterWSEpochs})
}

// run starts node i with cfg and waits until its network is up; stop(i) ends it.
func (c *cluster) run(i int, cfg Config) *Node {
	c.t.Helper()
	n, err := New(cfg)
	if err != nil {
		c.t.Fatalf("node %d: %v", i, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- n.Run(ctx) }()
	select {
	case <-n.Started():
	case err := <-done:
		cancel()
		c.t.Fatalf("node %d stopped at start: %v", i, err)
	}
	c.nodes[i] = n
	c.stops[i] = func() {
		cancel()
		if err := <-done; err != nil {
			c.t.Errorf("node %d: %v", i, err)
		}
	}
	return n
}

// stop stops node i and waits until Run has returned.
func (c *cluster) stop(i int) {
	if c.stops[i] != nil {
		c.stops[i]()
		c.stops[i] = nil
	}
}

// startAll starts every node, each bootstrapped to node 0.
func (c *cluster) startAll() {
	c.start(0)
	for i := 1; i < len(c.nodes); i++ {
		c.start(i, 0)
	}
}

func (c *cluster) status(i int) Status {
	st, err := c.nodes[i].Status(context.Background())
	if err != nil {
		c.t.Fatalf("node %d status: %v", i, err)
	}
	return st
}

// waitFor polls cond until it holds, failing the test with msg after timeout.
func waitFor(t *testing.T, timeout time.Duration, msg string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, msg)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// waitForProgress polls done until it holds, failing the test with msg if progress, a count that only grows, has
// not grown for stall: the bound of a wait whose length the machine's speed sets (a flood of signed messages on a
// loaded race-detector run) is on the lack of progress, not on the whole.
func waitForProgress(t *testing.T, stall time.Duration, msg string, progress func() int64, done func() bool) {
	t.Helper()
	last, since := progress(), time.Now()
	for !done() {
		if p := progress(); p != last {
			last, since = p, time.Now()
		} else if time.Since(since) > stall {
			t.Fatalf("no progress for %s (at %d) waiting for %s", stall, last, msg)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// canonical returns node i's canonical block hashes at heights 1..h.
func (c *cluster) canonical(i int, h uint64) []chain.Hash {
	var out []chain.Hash
	for from := uint64(1); from <= h; from += blocksync.MaxRangeBlocks {
		bs, err := c.nodes[i].Blocks(context.Background(), from, min(h, from+blocksync.MaxRangeBlocks-1))
		if err != nil {
			c.t.Fatalf("node %d blocks: %v", i, err)
		}
		for _, b := range bs {
			out = append(out, b.Hash)
		}
	}
	return out
}

// txCounts counts, per transaction ID, how often it appears on node i's canonical chain up to height h.
func (c *cluster) txCounts(i int, h uint64) map[chain.Hash]int {
	counts := map[chain.Hash]int{}
	for from := uint64(1); from <= h; from += blocksync.MaxRangeBlocks {
		bs, err := c.nodes[i].Blocks(context.Background(), from, min(h, from+blocksync.MaxRangeBlocks-1))
		if err != nil {
			c.t.Fatalf("node %d blocks: %v", i, err)
		}
		for _, b := range bs {
			for _, tx := range b.Txs {
				counts[tx.ID]++
			}
		}
	}
	return counts
}

// agreeAt waits until the given nodes have the same canonical hash at height h (all at least that high).
func (c *cluster) agreeAt(h uint64, timeout time.Duration, nodes ...int) {
	c.t.Helper()
	waitFor(c.t, timeout, fmt.Sprintf("nodes %v to agree at height %d", nodes, h), func() bool {
		var first chain.Hash
		for k, i := range nodes {
			if c.status(i).Height < h {
				return false
			}
			b, err := c.nodes[i].Block(context.Background(), h)
			if err != nil {
				return false
			}
			if k == 0 {
				first = b.Hash
			} else if b.Hash != first {
				return false
			}
		}
		return true
	})
}

// minHeight returns the lowest head height among the nodes.
func (c *cluster) minHeight(nodes ...int) uint64 {
	h := ^uint64(0)
	for _, i := range nodes {
		h = min(h, c.status(i).Height)
	}
	return h
}

// submitBPM submits a heart-rate record through node i and returns its transaction ID.
func (c *cluster) submitBPM(i int, v uint64) chain.Hash {
	c.t.Helper()
	id, err := submitOwn(c.nodes[i], chain.TxBPM, chain.Address{}, v)
	if err != nil {
		c.t.Fatalf("node %d bpm %d: %v", i, v, err)
	}
	return id
}
