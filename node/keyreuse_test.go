package node

import (
	"context"
	"errors"
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
// to the other, and either outcome is accepted.
//
// The second is started once the others hold a recent block of the first, one its watch covers. Without that
// the test depended on the lottery and the machine's speed: when the first's early blocks lost in fork choice
// (late on a loaded run), no block of the key was on the chain during the watch, and once both ran, neither
// process's blocks reached the others (one identity: each process's gossip stream to a peer replaces the other's,
// and both forget the peer's subscriptions), so neither stopped in four minutes.
func TestSecondProcessWithTheKeyStopsOneOfThem(t *testing.T) {
	slot := 200 * time.Millisecond
	c := newCluster(t, []uint64{10, 10, 10}, slot, 1500*time.Millisecond)
	firstLog, firstLogs := doppelgangerLog(t, "node0")
	c.logs = map[int]*zap.Logger{0: firstLog}
	c.startAll()
	all := []int{0, 1, 2}
	waitFor(t, 30*time.Second, "height 3", func() bool { return c.minHeight(all...) >= 3 })
	watch := uint64(2 * c.gen.EpochLength)
	// A block of the first process no more than a quarter of the watch old, with a block on top of it (so that
	// a reorganisation is unlikely to take it away) on both peers the second process syncs from.
	var firstAt chain.Slot
	waitFor(t, 60*time.Second, "nodes 1 and 2 to hold a recent block of node 0", func() bool {
		now := c.status(1).Slot
		for _, i := range []int{1, 2} {
			s, ok := c.lastBuriedBlockOf(i, c.nodes[0].Address())
			if !ok || uint64(s)+watch/4 < now {
				return false
			}
			firstAt = s
		}
		return true
	})
	secondLog, secondLogs := doppelgangerLog(t, "copy")
	second := c.startExtra(c.keys[0], secondLog, func(cfg *Config) { cfg.DoppelgangerSlots = watch }, 1, 2)
	startSlot := c.status(0).Slot
	var watchFrom chain.Slot
	second.call(context.Background(), func() { watchFrom = second.watchFrom })
	t.Logf("the second process watches from slot %d; node 0's block on nodes 1 and 2 is at slot %d", watchFrom, firstAt)
	procs := []struct {
		name string
		n    *Node
		logs *observer.ObservedLogs
	}{{"the first process", c.nodes[0], firstLogs}, {"the second process", second, secondLogs}}
	stopped := -1
	// The two share one network identity, so gossip reaches only one of them and the other learns blocks by the
	// sync poll (every 3 s) or by evidence a peer made of both processes' blocks for one slot; fork choice
	// prefers the timely block, so the other's may never become canonical, and the evidence path has taken up to
	// 90 s on a loaded race-detector run.
	waitFor(t, 4*time.Minute, "one of the two processes to see the other's blocks", func() bool {
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
}

// lastBuriedBlockOf returns the slot of the latest block of proposer among the canonical blocks of node i below
// its head, within its last 16.
func (c *cluster) lastBuriedBlockOf(i int, proposer chain.Address) (chain.Slot, bool) {
	h := c.status(i).Height
	if h < 2 {
		return 0, false
	}
	bs, err := c.nodes[i].Blocks(context.Background(), max(1, h-16), h-1)
	if err != nil {
		return 0, false
	}
	for k := len(bs) - 1; k >= 0; k-- {
		if bs[k].Proposer == proposer {
			return chain.Slot(bs[k].Slot), true
		}
	}
	return 0, false
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
