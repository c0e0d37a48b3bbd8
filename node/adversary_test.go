package node

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"

	"github.com/posnode/posnode/chain"
	"github.com/posnode/posnode/internal/adversary"
	"github.com/posnode/posnode/node/blocksync"
)

// newAdversary starts a hostile peer bootstrapped to the given nodes of c; it is closed at cleanup.
func newAdversary(t *testing.T, c *cluster, key ed25519.PrivateKey, nodes ...int) *adversary.Peer {
	t.Helper()
	var boot []string
	for _, i := range nodes {
		boot = append(boot, c.nodes[i].Addrs()[0])
	}
	p, err := adversary.New(context.Background(), adversary.Config{Genesis: c.gen, Bootstrap: boot, Key: key,
		Logger: zaptest.NewLogger(t).Named("adversary")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

// runAttack runs attack in a goroutine until the test ends; an error other than the end of its context fails
// the test.
func runAttack(t *testing.T, name string, attack func(ctx context.Context) error) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- attack(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil && ctx.Err() == nil {
			t.Errorf("%s: %v", name, err)
		}
	})
}

// startExtra runs a node that is not one of the cluster's: a second process with key, in a home of its own,
// logging to log, with its config changed by mod. It is stopped at cleanup.
func (c *cluster) startExtra(key ed25519.PrivateKey, log *zap.Logger, mod func(*Config), bootstrap ...int) *Node {
	c.t.Helper()
	home := c.t.TempDir()
	if err := SaveKey(filepath.Join(home, KeyFile), key); err != nil {
		c.t.Fatal(err)
	}
	cfg := Config{Home: home, Genesis: c.gen, Listen: []string{"/ip4/127.0.0.1/tcp/0"}, Logger: log}
	for _, j := range bootstrap {
		cfg.Bootstrap = append(cfg.Bootstrap, c.nodes[j].Addrs()[0])
	}
	mod(&cfg)
	n, err := New(cfg)
	if err != nil {
		c.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- n.Run(ctx) }()
	c.t.Cleanup(func() { cancel(); <-done })
	select {
	case <-n.Started():
	case err := <-done:
		c.t.Fatalf("extra node stopped at start: %v", err)
	}
	return n
}

// proposedSince counts the canonical blocks of node i from height from on whose proposer is addr.
func (c *cluster) proposedSince(i int, from uint64, addr chain.Address) int {
	h := c.status(i).Height
	count := 0
	for lo := from; lo <= h; lo += blocksync.MaxRangeBlocks {
		bs, err := c.nodes[i].Blocks(context.Background(), lo, min(h, lo+blocksync.MaxRangeBlocks-1))
		if err != nil {
			c.t.Fatal(err)
		}
		for _, b := range bs {
			if b.Proposer == addr {
				count++
			}
		}
	}
	return count
}

// Class 1: a peer without stake claims a better head it does not have and answers every range request with
// block 1. Connected to every validator, it once stopped the chain (height 25 → 25 over 50 slots, 36,771
// requests). Now each victim finds the answers do not match its requests, bans the liar, and keeps proposing.
func TestSyncLiarCannotStallTheChain(t *testing.T) {
	const slots = 50
	slot := 250 * time.Millisecond
	c := newCluster(t, []uint64{10, 10, 10}, slot, 1500*time.Millisecond)
	c.startAll()
	all := []int{0, 1, 2}
	waitFor(t, 30*time.Second, "height 3", func() bool { return c.minHeight(all...) >= 3 })
	liar := newAdversary(t, c, nil, all...)
	var stats adversary.LiarStats
	runAttack(t, "sync liar", func(ctx context.Context) error { return liar.LieInSync(ctx, 5, &stats) })

	start := c.status(0)
	waitFor(t, 2*slots*slot+30*time.Second, fmt.Sprintf("%d slots", slots), func() bool {
		return c.status(0).Slot >= start.Slot+slots
	})
	end := c.status(0)
	grown := end.Height - start.Height
	t.Logf("under the sync liar: victim height %d → %d over %d slots; the liar answered %d status and %d range requests",
		start.Height, end.Height, end.Slot-start.Slot, stats.StatusServed.Load(), stats.RangesServed.Load())
	if grown < slots/2 {
		t.Errorf("the victim's height grew by %d in %d slots, want ≥ %d", grown, slots, slots/2)
	}
	for _, i := range all {
		if !c.nodes[i].host.Banned(liar.ID()) {
			t.Errorf("node %d did not ban the liar (penalty %.0f points)", i, c.nodes[i].host.PenaltyPoints(liar.ID()))
		}
		if n := c.proposedSince(i, start.Height+1, c.nodes[i].Address()); n == 0 {
			t.Errorf("node %d proposed no canonical block under the sync liar", i)
		}
	}
	if served := stats.RangesServed.Load(); served > 20 {
		t.Errorf("the liar was asked for %d ranges, want a handful before every victim banned it", served)
	}
	c.agreeAt(c.minHeight(all...), 30*time.Second, all...)
}

func testContext(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// Class 3, the sender's side: blocks on a parent more than 512 blocks below the head, correctly signed by a
// throwaway key, once cost a replay each and nothing to their sender. (What a rejection costs the node is the
// replay's concern.) Each is rejected, and the sender is banned after about ten.
func TestOldParentBlocksBanTheSender(t *testing.T) {
	const built = 600
	slot := 100 * time.Millisecond
	c := newCluster(t, []uint64{10, 20}, slot, -(built+30)*slot)
	if err := BuildChain(c.homes[0], c.gen, c.keys, built, 0); err != nil {
		t.Fatal(err)
	}
	c.start(0)
	c.start(1, 0)
	c.agreeAt(built, 60*time.Second, 0, 1)
	forger := newAdversary(t, c, nil, 0)
	if err := forger.WaitForTopics(testContext(t, 20*time.Second)); err != nil {
		t.Fatal(err)
	}
	var stats adversary.BlockStats
	before := rejected(c.nodes[0])
	var forged []chain.Hash
	for round := 0; round < 10 && !c.nodes[0].host.Banned(forger.ID()); round++ {
		hashes, err := forger.OldParentBlocks(testContext(t, 10*time.Second), 10, 5, &stats)
		if err != nil && !c.nodes[0].host.Banned(forger.ID()) {
			t.Fatal(err)
		}
		forged = append(forged, hashes...)
		time.Sleep(300 * time.Millisecond)
	}
	waitFor(t, 20*time.Second, "node 0 to ban the forger", func() bool { return c.nodes[0].host.Banned(forger.ID()) })
	got := rejected(c.nodes[0]) - before
	t.Logf("blocks on height 10 of a %d-block chain: %d sent, %.0f rejected by node 0, which banned the sender",
		built, stats.Sent.Load(), got)
	for _, h := range forged {
		var has bool
		c.nodes[0].call(context.Background(), func() { has = c.nodes[0].tree.Has(h) })
		if has {
			t.Errorf("node 0 holds forged block %s", h.Short())
		}
	}
	if got < 10 {
		t.Errorf("node 0 rejected %.0f forged blocks before the ban, want ≥ 10 (gossipsub's score)", got)
	}
}
