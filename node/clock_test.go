package node

import (
	"cmp"
	"crypto/ed25519"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/posnode/posnode/chain"
	"github.com/posnode/posnode/consensus"
)

// estimateClock's verdicts: a majority of the weight, the node's own included, beyond the tolerance on one side.
func TestEstimateClock(t *testing.T) {
	s := func(offset time.Duration, weight uint64) clockSample {
		return clockSample{offset: offset, weight: weight}
	}
	const sec = time.Second
	tests := []struct {
		name    string
		samples []clockSample
		self    uint64
		wasOff  bool
		offset  time.Duration
		off, ok bool
	}{
		{"one source is not enough", []clockSample{s(2*sec, 20)}, 40, false, 0, false, false},
		{"the 40 % validator 2 s slow sees three peers ahead", []clockSample{s(2*sec, 20), s(2*sec, 20), s(2*sec, 20)}, 40, false, 2 * sec, true, true},
		{"the 40 % validator 2 s fast sees three peers behind", []clockSample{s(-2*sec, 20), s(-2*sec, 20), s(-2*sec, 20)}, 40, false, -2 * sec, true, true},
		{"an honest node sees the skewed 40 % and one honest peer", []clockSample{s(-2*sec, 40), s(0, 20)}, 20, false, 0, false, true},
		{"an honest node sees all three", []clockSample{s(-2*sec, 40), s(10*time.Millisecond, 20), s(0, 20)}, 20, false, 0, false, true},
		{"small offsets are not off", []clockSample{s(300*time.Millisecond, 20), s(400*time.Millisecond, 20)}, 10, false, 300 * time.Millisecond, false, true},
		{"while off, 400 ms still counts as off", []clockSample{s(400*time.Millisecond, 20), s(400*time.Millisecond, 20)}, 10, true, 400 * time.Millisecond, true, true},
		{"while off, 200 ms counts as right again", []clockSample{s(200*time.Millisecond, 20), s(200*time.Millisecond, 20)}, 10, true, 0, false, true},
		{"peers without stake do not count beside staked ones", []clockSample{s(5*sec, 0), s(5*sec, 0), s(5*sec, 0), s(0, 20), s(0, 20)}, 20, false, 0, false, true},
		{"without stake anywhere each source counts once", []clockSample{s(-3*sec, 0), s(-3*sec, 0)}, 0, false, -3 * sec, true, true},
		{"one staked source is not enough to ignore the others", []clockSample{s(3*sec, 40), s(0, 0), s(0, 0)}, 0, false, 0, false, true},
		{"a node without stake follows two staked sources", []clockSample{s(3*sec, 40), s(3*sec, 20), s(0, 0)}, 0, false, 3 * sec, true, true},
	}
	for _, tt := range tests {
		offset, off, ok := estimateClock(append([]clockSample(nil), tt.samples...), tt.self, tt.wasOff)
		if ok != tt.ok || off != tt.off || (tt.offset != 0 && offset != tt.offset) {
			t.Errorf("%s: got offset %s off %v ok %v, want offset %s off %v ok %v", tt.name, offset, off, ok, tt.offset, tt.off, tt.ok)
		}
	}
}

// weightedMedian, which selects, against the walk of the sorted samples it replaced: the same offset for lists of
// every size from 1 to 80, with ties, weights of 1 and stakes of up to 2^40.
func TestWeightedMedianAgainstSort(t *testing.T) {
	sorted := func(samples []clockSample, total uint64) time.Duration {
		samples = slices.Clone(samples)
		slices.SortFunc(samples, func(a, b clockSample) int { return cmp.Compare(a.offset, b.offset) })
		var sum uint64
		for _, s := range samples {
			if sum += s.weight; 2*sum >= total {
				return s.offset
			}
		}
		return 0
	}
	rng := rand.New(rand.NewPCG(20, 64))
	for round := range 4000 {
		samples := make([]clockSample, 1+rng.IntN(80))
		spread := []int64{3, 50, 1 << 30}[round%3] // few distinct offsets (ties), some, nearly all distinct
		var total uint64
		for i := range samples {
			w := uint64(1)
			if round%2 == 1 {
				w = rng.Uint64N(1<<40) + 1
			}
			samples[i] = clockSample{offset: time.Duration(rng.Int64N(2*spread+1) - spread), weight: w}
			total += w
		}
		want := sorted(samples, total)
		if got := weightedMedian(slices.Clone(samples), total); got != want {
			t.Fatalf("round %d, %d samples: got %s, want %s", round, len(samples), got, want)
		}
	}
}

// A check reuses its working list: once the list has grown to the samples, checks allocate nothing.
func TestEstimateClockAllocatesNothing(t *testing.T) {
	peers := map[string]clockSample{}
	now := time.Unix(1000, 0)
	for i := range 64 {
		peers[string(rune('a'+i))] = clockSample{offset: time.Duration(i) * time.Millisecond, weight: uint64(1 + i%3), at: now}
	}
	var work []clockSample
	check := func() {
		work = fresh(work[:0], peers, now)
		if _, _, ok := estimateClock(work, 10, false); !ok {
			t.Fatal("no estimate from 64 peers")
		}
	}
	check()
	if a := testing.AllocsPerRun(100, check); a != 0 {
		t.Errorf("got %v allocations per check, want 0", a)
	}
}

// Without peers' times, blocks that arrive before their slot starts, from staked proposers, show that the clock is
// behind; blocks of keys without stake and late blocks do not.
func TestBlocksShowASlowClock(t *testing.T) {
	c := newCluster(t, []uint64{40, 20, 20, 20}, time.Second, -time.Minute)
	n, err := New(Config{Home: c.homes[0], Genesis: c.gen})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.pendingLog.Close(); n.guard.Close(); n.store.Close() })
	addr := func(i int) chain.Address { return chain.AddressOf(c.keys[i].Public().(ed25519.PublicKey)) }
	const s = chain.Slot(30)
	start := consensus.SlotStart(c.gen.Time, time.Second, s)
	block := func(p chain.Address) *chain.Block { return &chain.Block{Header: chain.Header{Proposer: p, Slot: s}} }
	stranger := chain.AddressOf(ed25519.NewKeyFromSeed(make([]byte, 32)).Public().(ed25519.PublicKey))

	n.noteBlockClock(block(stranger), start.Add(-2*time.Second))
	n.noteBlockClock(block(addr(1)), start.Add(-2*time.Second))
	if _, off := n.clockOff(); off {
		t.Fatal("off after one staked proposer's early block and a stranger's")
	}
	n.noteBlockClock(block(addr(2)), start.Add(300*time.Millisecond)) // late: agrees
	if _, off := n.clockOff(); off {
		t.Fatal("off with one early and one late block of 20 % each beside the node's own 40 %")
	}
	n.noteBlockClock(block(addr(2)), start.Add(-2*time.Second))
	n.noteBlockClock(block(addr(3)), start.Add(-2*time.Second))
	offset, off := n.clockOff()
	if !off || offset != 2*time.Second {
		t.Fatalf("three staked proposers' blocks 2 s early: offset %s off %v, want 2s and off", offset, off)
	}
}
