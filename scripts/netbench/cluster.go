package main

import (
	"bufio"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/posnode/posnode/chain"
	"github.com/posnode/posnode/consensus"
	"github.com/posnode/posnode/node"
)

// stopTimeout bounds how long stopping one node may take.
const stopTimeout = 15 * time.Second

// cluster is a set of posnode nodes running in this process, each on its own loopback port.
type cluster struct {
	gen   *chain.Genesis
	keys  []ed25519.PrivateKey
	dirs  []string
	nodes []*node.Node
	stops []func() error
	rec   *recorder
	root  string
	// checkpoint, if set, is every node's trusted checkpoint (a chain older than the weak-subjectivity period
	// needs one, PROTOCOL.md §12).
	checkpoint *chain.Checkpoint
}

// clusterSpec describes a cluster's genesis.
type clusterSpec struct {
	validators int // accounts with stake, one per key
	slot       time.Duration
	start      time.Time // genesis time
	keepBlocks bool      // the recorder keeps the first copy of every block seen (for their transactions)
	epoch      uint64    // slots per epoch; 0 is 32
}

// stakeOf gives validator i its stake: 10, 20, 30, 40, as `posnode testnet` does by default.
func stakeOf(i int) chain.Amount { return chain.Amount(10 * (1 + i%4)) }

// newCluster writes the genesis and a home per validator; no node runs yet.
func newCluster(spec clusterSpec) (*cluster, error) {
	root, err := os.MkdirTemp("", "netbench-")
	if err != nil {
		return nil, err
	}
	c := &cluster{root: root, rec: newRecorder(spec.keepBlocks)}
	epoch := spec.epoch
	if epoch == 0 {
		epoch = 32
	}
	c.gen = &chain.Genesis{ChainID: "netbench", Time: spec.start.Truncate(time.Millisecond),
		SlotDuration: chain.Duration(spec.slot), EpochLength: epoch, BlockReward: 10, MinStake: 1, TxFee: 1}
	for i := range spec.validators {
		seed := sha256.Sum256(fmt.Appendf(nil, "netbench-node-%d", i))
		key := ed25519.NewKeyFromSeed(seed[:])
		dir := filepath.Join(root, fmt.Sprintf("node%d", i))
		if err := node.SaveKey(filepath.Join(dir, node.KeyFile), key); err != nil {
			c.remove()
			return nil, err
		}
		c.keys, c.dirs = append(c.keys, key), append(c.dirs, dir)
		c.gen.Allocations = append(c.gen.Allocations, chain.Allocation{
			Address: chain.AddressOf(key.Public().(ed25519.PublicKey)), Balance: 1 << 40, Stake: stakeOf(i)})
	}
	c.nodes, c.stops = make([]*node.Node, len(c.keys)), make([]func() error, len(c.keys))
	if err := c.gen.Validate(); err != nil {
		c.remove()
		return nil, err
	}
	return c, nil
}

// startAll starts every node in order. Node 0 dials nobody; node i dials node 0 and up to two other earlier nodes
// chosen by a fixed seed, so the overlay is connected but not a star.
func (c *cluster) startAll() error {
	rng := rand.New(rand.NewPCG(1, uint64(len(c.keys))))
	for i := range c.keys {
		boot := map[int]bool{}
		if i > 0 {
			boot[0] = true
			for range 2 {
				boot[rng.IntN(i)] = true
			}
		}
		if err := c.start(i, slices.Sorted(maps.Keys(boot))...); err != nil {
			return err
		}
	}
	return nil
}

// start runs node i bootstrapped to the given running nodes and waits until its network is up.
func (c *cluster) start(i int, bootstrap ...int) error {
	var boot []string
	for _, j := range bootstrap {
		boot = append(boot, c.nodes[j].Addrs()[0])
	}
	n, err := node.New(node.Config{Home: c.dirs[i], Genesis: c.gen, Listen: []string{"/ip4/127.0.0.1/tcp/0"},
		Bootstrap: boot, HTTP: "127.0.0.1:0", OnBlock: c.rec.hook(i), Logger: nodeLogger(i), Checkpoint: c.checkpoint})
	if err != nil {
		return fmt.Errorf("node %d: %w", i, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- n.Run(ctx) }()
	select {
	case <-n.Started():
	case err := <-done:
		cancel()
		return fmt.Errorf("node %d stopped at start: %w", i, err)
	case <-time.After(30 * time.Second):
		cancel()
		return fmt.Errorf("node %d did not start in 30 s", i)
	}
	c.nodes[i] = n
	c.stops[i] = func() error {
		cancel()
		select {
		case err := <-done:
			return err
		case <-time.After(stopTimeout):
			return fmt.Errorf("node %d did not stop in %s", i, stopTimeout)
		}
	}
	return nil
}

// nodeLogLevel is the level of the nodes' logs on stderr; nil: no logs.
var nodeLogLevel *zapcore.Level

func nodeLogger(i int) *zap.Logger {
	if nodeLogLevel == nil {
		return nil
	}
	cfg := zap.NewDevelopmentConfig()
	cfg.Level = zap.NewAtomicLevelAt(*nodeLogLevel)
	cfg.DisableStacktrace = true
	l, err := cfg.Build()
	if err != nil {
		return nil
	}
	return l.Named(fmt.Sprintf("node%d", i))
}

// stop stops node i, if it runs.
func (c *cluster) stop(i int) error {
	if c.stops[i] == nil {
		return nil
	}
	err := c.stops[i]()
	c.stops[i], c.nodes[i] = nil, nil
	return err
}

// close stops every node (in parallel) and removes the cluster's files.
func (c *cluster) close() error {
	errs := make([]error, len(c.stops))
	var wg sync.WaitGroup
	for i := range c.stops {
		wg.Go(func() { errs[i] = c.stop(i) })
	}
	wg.Wait()
	c.remove()
	return errors.Join(errs...)
}

func (c *cluster) remove() { os.RemoveAll(c.root) }

// slotAt returns the slot at time t by the genesis clock.
func (c *cluster) slotAt(t time.Time) chain.Slot {
	return consensus.SlotAt(c.gen.Time, time.Duration(c.gen.SlotDuration), t)
}

// slotStart returns the start time of slot s.
func (c *cluster) slotStart(s chain.Slot) time.Time {
	return consensus.SlotStart(c.gen.Time, time.Duration(c.gen.SlotDuration), s)
}

// canonical returns node i's canonical blocks at heights from..to (fewer if its chain is shorter).
func (c *cluster) canonical(ctx context.Context, i int, from, to uint64) ([]node.BlockView, error) {
	var out []node.BlockView
	for lo := from; lo <= to; lo += 256 {
		bs, err := c.nodes[i].Blocks(ctx, lo, min(to, lo+255))
		if err != nil {
			return nil, err
		}
		out = append(out, bs...)
		if len(bs) < int(min(to, lo+255)-lo+1) {
			break
		}
	}
	return out, nil
}

// counters reads the node's Prometheus counters from its HTTP API.
func counters(ctx context.Context, n *node.Node) (map[string]float64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+n.HTTPAddr()+"/metrics", nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	out := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		name, val, ok := strings.Cut(sc.Text(), " ")
		if !ok || strings.HasPrefix(name, "#") || strings.Contains(name, "{") {
			continue
		}
		if v, err := strconv.ParseFloat(val, 64); err == nil {
			out[name] = v
		}
	}
	return out, sc.Err()
}

// sumCounter adds up one counter over the running nodes.
func (c *cluster) sumCounter(ctx context.Context, name string) (float64, error) {
	var sum float64
	for _, n := range c.nodes {
		if n == nil {
			continue
		}
		m, err := counters(ctx, n)
		if err != nil {
			return 0, err
		}
		sum += m[name]
	}
	return sum, nil
}
