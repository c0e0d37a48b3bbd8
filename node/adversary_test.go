package node

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest"
	"go.uber.org/zap/zaptest/observer"

	"github.com/posnode/posnode/chain"
	"github.com/posnode/posnode/internal/adversary"
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
	for lo := from; lo <= h; lo += maxRangeBlocks {
		bs, err := c.nodes[i].Blocks(context.Background(), lo, min(h, lo+maxRangeBlocks-1))
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

// unapplicable counts the transactions in node n's mempool that cannot apply on its head in order: those that
// fail the ledger, and those behind a nonce gap.
func unapplicable(t *testing.T, n *Node) (bad, total int) {
	t.Helper()
	n.call(context.Background(), func() {
		st := n.tree.HeadState().Clone()
		senders := make([]chain.Address, 0, len(n.pool.senders))
		for a := range n.pool.senders {
			senders = append(senders, a)
		}
		sort.Slice(senders, func(i, j int) bool { return bytes.Compare(senders[i][:], senders[j][:]) < 0 })
		for _, a := range senders {
			s := n.pool.senders[a]
			applied := 0
			for nonce := st.Account(a).Nonce; s.txs[nonce] != nil; nonce++ {
				if st.ApplyTx(&s.txs[nonce].tx) != nil {
					break
				}
				applied++
			}
			bad += len(s.txs) - applied
		}
		total = n.pool.Len()
	})
	return bad, total
}

// Class 2: six fresh keys without an account send nonces 1..9,999 each (59,994 records that can never apply),
// and a funded user's record paying less than the minimum fee is gossiped. Every node once admitted and forwarded
// such a flood, its users got 503 "mempool full", and a user's overspending transfer ahead of its BPM records made
// the proposer drop the records, though every step was acknowledged. Now none of the flood is admitted, the
// transfer is refused at submission with the reason, and every honest record is committed once.
func TestMempoolFloodIsRefused(t *testing.T) {
	slot := 500 * time.Millisecond
	c := newCluster(t, []uint64{10, 10, 10, 0}, slot, 1500*time.Millisecond) // key 3: a funded user, no node
	c.start(0)
	c.start(1, 0)
	c.start(2, 0)
	all := []int{0, 1, 2}
	waitFor(t, 30*time.Second, "height 2", func() bool { return c.minHeight(all...) >= 2 })
	flooder := newAdversary(t, c, nil, 0)
	if err := flooder.WaitForTopics(testContext(t, 20*time.Second)); err != nil {
		t.Fatal(err)
	}
	var flood adversary.FloodStats
	runAttack(t, "flood", func(ctx context.Context) error { return flooder.Flood(ctx, 6, 9_999, 5_000, &flood) })

	ctx, user := context.Background(), c.keys[3]
	low := flooder.TxWithFee(user, 0, c.gen.TxFee-1)
	if err := flooder.PublishTx(ctx, low); err != nil {
		t.Fatal(err)
	}
	submitted, at := map[chain.Hash]chain.Slot{}, chain.Slot(c.status(0).Slot)
	honest := c.userRecordsBehindAnOverspend(flooder, user)
	for _, id := range honest {
		submitted[id] = at
	}
	for i := range 9 {
		at := chain.Slot(c.status(0).Slot)
		id := c.submitBPM(i%3, 60+uint64(i))
		honest, submitted[id] = append(honest, id), at
	}
	waitForCommitted(t, c, honest, all)
	worst := chain.Slot(0)
	for _, id := range honest {
		st, _ := c.nodes[0].Tx(ctx, id)
		b, _ := c.nodes[0].Block(ctx, st.Height)
		worst = max(worst, chain.Slot(b.Slot)-min(submitted[id], chain.Slot(b.Slot)))
	}
	waitFor(t, 120*time.Second, "the whole flood to be sent", func() bool { return flood.Sent.Load() >= 6*9_999 })
	time.Sleep(4 * slot) // the last of it through validation
	for _, i := range all {
		bad, total := unapplicable(t, c.nodes[i])
		t.Logf("node %d: mempool holds %d transactions, %d of which cannot apply", i, total, bad)
		if bad > 0 {
			t.Errorf("node %d holds %d transactions that cannot apply", i, bad)
		}
	}
	if st, err := c.nodes[0].Tx(ctx, low.ID()); err == nil {
		t.Errorf("the record below the minimum fee is known to node 0: %+v", st)
	}
	t.Logf("flood: %d records from 6 fresh keys sent, %.0f judged by node 0 and none admitted; %d honest records "+
		"committed, the slowest %d slots after its submission", flood.Sent.Load(), gossipCount(c.nodes[0], "txs", "ignore"),
		len(honest), worst)
}

// userRecordsBehindAnOverspend has the funded user key submit, through node 0, BPM records with nonces 1..5
// (waiting for nonce 0), then a transfer at nonce 0 that would leave too little for their fees, which must be
// refused with the reason, then the record at nonce 0. It returns the six records' IDs.
func (c *cluster) userRecordsBehindAnOverspend(p *adversary.Peer, user ed25519.PrivateKey) []chain.Hash {
	c.t.Helper()
	ctx := context.Background()
	var ids []chain.Hash
	for nonce := chain.Nonce(1); nonce <= 5; nonce++ {
		id, err := c.nodes[0].Submit(ctx, p.SignTx(user, chain.TxBPM, nonce, chain.Address{}, 70, c.gen.TxFee))
		if err != nil {
			c.t.Fatalf("record %d: %v", nonce, err)
		}
		ids = append(ids, id)
	}
	balance := uint64(c.gen.Allocations[3].Balance)
	overspend := p.SignTx(user, chain.TxTransfer, 0, c.nodes[1].Address(), balance-uint64(c.gen.TxFee)-2, c.gen.TxFee)
	_, err := c.nodes[0].Submit(ctx, overspend)
	c.t.Logf("transfer ahead of 5 pending records, leaving 2 tokens for their fees: %v", err)
	if !errors.Is(err, ErrBreaksLater) {
		c.t.Fatalf("the transfer that starves the records: got %v, want ErrBreaksLater", err)
	}
	id, err := c.nodes[0].Submit(ctx, p.SignTx(user, chain.TxBPM, 0, chain.Address{}, 70, c.gen.TxFee))
	if err != nil {
		c.t.Fatalf("record 0: %v", err)
	}
	return append(ids, id)
}

func testContext(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// doppelgangerLog is a logger for a node under test that also keeps its error entries for the test to read.
func doppelgangerLog(t *testing.T, name string) (*zap.Logger, *observer.ObservedLogs) {
	core, logs := observer.New(zapcore.ErrorLevel)
	return zap.New(zapcore.NewTee(zaptest.NewLogger(t).Named(name).Core(), core)), logs
}

// loggedDoppelganger reports whether logs hold the node's doppelganger error.
func loggedDoppelganger(logs *observer.ObservedLogs) bool {
	return logs.FilterMessageSnippet("DOPPELGANGER").Len() > 0
}

// signedSlots returns the highest slot node n recorded as signed and how many slots it won and filled.
func signedSlots(n *Node) (last chain.Slot, won float64) {
	n.call(context.Background(), func() { last = n.lastSigned })
	var m dto.Metric
	n.metrics.slotsWon.Write(&m)
	return last, m.GetCounter().GetValue()
}

// Class 4, the second process: a validator's key is started in a second process (a restored backup, a second
// machine) while the first still runs. It once signed four slots twice and neither process said a word. Now one of
// the two sees a block of the key that it did not make, stops signing for good and says so: the second, if the
// first one's blocks reach it during the slots it watches before signing (then it signs nothing); otherwise the
// first, once the second's blocks reach it. The two share one network identity, so peers may route one's traffic
// to the other, and either outcome happens.
func TestSecondProcessWithTheKeyStopsOneOfThem(t *testing.T) {
	slot := 200 * time.Millisecond
	c := newCluster(t, []uint64{10, 10, 10}, slot, 1500*time.Millisecond)
	firstLog, firstLogs := doppelgangerLog(t, "node0")
	c.logs = map[int]*zap.Logger{0: firstLog}
	c.startAll()
	all := []int{0, 1, 2}
	waitFor(t, 30*time.Second, "height 3", func() bool { return c.minHeight(all...) >= 3 })
	secondLog, secondLogs := doppelgangerLog(t, "copy")
	watch := uint64(2 * c.gen.EpochLength)
	second := c.startExtra(c.keys[0], secondLog, func(cfg *Config) { cfg.DoppelgangerSlots = watch }, 1, 2)
	startSlot := c.status(0).Slot
	procs := []struct {
		name string
		n    *Node
		logs *observer.ObservedLogs
	}{{"the first process", c.nodes[0], firstLogs}, {"the second process", second, secondLogs}}
	stopped := -1
	waitFor(t, 60*time.Second, "one of the two processes to see the other's blocks", func() bool {
		for i, p := range procs {
			if st, err := p.n.Status(context.Background()); err == nil && st.Doppelganger {
				stopped = i
				return true
			}
		}
		return false
	})
	p := procs[stopped]
	lastAt, wonAt := signedSlots(p.n)
	seenAt := c.status(1).Slot
	waitFor(t, 60*time.Second, "20 more slots", func() bool { return c.status(1).Slot >= seenAt+20 })
	last, won := signedSlots(p.n)
	st, _ := p.n.Status(context.Background())
	_, secondWon := signedSlots(second)
	t.Logf("a second process with node 0's key, watching %d slots from slot %d: at slot %d %s stopped (%q); it "+
		"signed %d slots before and %d after; the second process signed %d in all; logged: %v", watch, startSlot,
		seenAt, p.name, st.Signing, int(wonAt), int(won-wonAt), int(secondWon), loggedDoppelganger(p.logs))
	if last != lastAt || won != wonAt {
		t.Errorf("%s signed after it saw the other: last slot %d → %d, slots won %v → %v", p.name, lastAt, last, wonAt, won)
	}
	if !loggedDoppelganger(p.logs) {
		t.Errorf("%s did not log the doppelganger", p.name)
	}
	if !strings.HasPrefix(st.Signing, "stopped") {
		t.Errorf("%s: status signing %q, want stopped", p.name, st.Signing)
	}
	if _, err := p.n.SubmitOwn(context.Background(), chain.TxBPM, chain.Address{}, 70); !errors.Is(err, ErrDoppelganger) {
		t.Errorf("%s: own record after the doppelganger: got %v, want ErrDoppelganger", p.name, err)
	}
	if p.n == second && secondWon != 0 {
		t.Errorf("the second process saw the first within its watch but signed %v slots", secondWon)
	}
}

// Class 4, the first process: another process signs two different blocks with a running validator's key at every
// slot the key wins (equivocation; doppelganger protection cannot stop the other process, only this one). The
// validator sees a block of its key that it did not make, stops signing and says so; the others go on as one chain.
func TestValidatorStopsWhenAnotherSignsWithItsKey(t *testing.T) {
	slot := 200 * time.Millisecond
	c := newCluster(t, []uint64{10, 10, 10}, slot, 1500*time.Millisecond)
	log, logs := doppelgangerLog(t, "node0")
	c.logs = map[int]*zap.Logger{0: log}
	c.start(0)
	c.start(1, 0)
	c.start(2, 0)
	all, honest := []int{0, 1, 2}, []int{1, 2}
	waitFor(t, 30*time.Second, "height 3", func() bool { return c.minHeight(all...) >= 3 })
	eq := newAdversary(t, c, nil, 1, 2)
	var sent adversary.BlockStats
	runAttack(t, "equivocation", func(ctx context.Context) error { return eq.Equivocate(ctx, c.keys[0], &sent) })
	waitFor(t, 60*time.Second, "node 0 to see another process sign with its key", func() bool {
		return c.status(0).Doppelganger
	})
	lastAt, wonAt := signedSlots(c.nodes[0])
	from := c.minHeight(honest...)
	waitFor(t, 60*time.Second, "30 more blocks", func() bool { return c.minHeight(honest...) >= from+30 })
	last, won := signedSlots(c.nodes[0])
	st := c.status(0)
	t.Logf("equivocating copy of node 0's key: %d blocks sent; node 0 stopped at slot %d: %q; it signed %d slots "+
		"before and %d after; logged: %v", sent.Sent.Load(), st.Slot, st.Signing, int(wonAt), int(won-wonAt),
		loggedDoppelganger(logs))
	if last != lastAt || won != wonAt {
		t.Errorf("node 0 signed after it saw the doppelganger: last slot %d → %d, slots won %v → %v", lastAt, last, wonAt, won)
	}
	if !loggedDoppelganger(logs) {
		t.Error("node 0 did not log the doppelganger")
	}
	c.agreeAt(c.minHeight(all...), 30*time.Second, all...)
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
