package node

import (
	"slices"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/posnode/posnode/chain"
	"github.com/posnode/posnode/consensus"
)

// Clock checking (PROTOCOL.md §2, §10). A node never trusts its own clock blindly: it compares it with the
// clocks its peers report in their status answers and, failing those, with the slots of the blocks it receives.
// While the comparison says the clock is off, the node does not propose or vote: a validator whose clock is
// seconds off refuses the newest honest blocks as future, builds on old parents and publishes late, and so
// orphans others' blocks (§8). The estimate only raises the alarm; it never moves the node's slot: a node that
// followed its peers' clocks could be steered by them.
const (
	// clockOffAfter is the estimated offset beyond which the clock is off: the tolerance of §7, past which the
	// node refuses blocks made on time as future, or makes blocks its peers refuse.
	clockOffAfter = maxClockSkew
	// clockOkWithin is the offset within which an off clock counts as right again (hysteresis).
	clockOkWithin = maxClockSkew / 2
	// clockWindow is how long a sample counts; a source's newer sample replaces its older one.
	clockWindow = time.Minute
	// clockMaxRTT is the slowest status exchange that still gives a sample: the peer's time is taken at the
	// middle of the exchange, so the error is at most half of it.
	clockMaxRTT = time.Second
	// clockMinSources is how many sources (peers, or proposers) an estimate needs: with a single one, the node
	// cannot tell whose clock is wrong.
	clockMinSources = 2
)

// clockSample is one source's view of the local clock: how far the network's time is ahead of the local one.
type clockSample struct {
	offset time.Duration // network time minus local time
	weight uint64        // the source's stake on the head's state; 0 without stake
	at     time.Time     // local time the sample was taken
}

// clockWatch is the state of the clock check; the event loop owns it.
type clockWatch struct {
	peers  map[string]clockSample        // from status answers, per peer
	blocks map[chain.Address]clockSample // from gossiped blocks that arrived before their slot, per proposer
	off    bool
	offset time.Duration // the latest estimate; 0 without one
	work   []clockSample // checkClock's working list, kept from one check to the next so a check allocates nothing
	// The node's own stake on the head's state selfOn, looked up once per head state (selfStake).
	selfOn    *chain.State
	selfStake uint64
	gauge     prometheus.Gauge
	offG      prometheus.Gauge
}

// addClock registers the clock series on m's registry.
func (m *metrics) addClock() (offset, off prometheus.Gauge) {
	offset = prometheus.NewGauge(prometheus.GaugeOpts{Name: "posnode_clock_offset_seconds",
		Help: "Estimated offset of the network's clock from this node's (peers' status answers, else blocks' slots); positive: the local clock is behind."})
	off = prometheus.NewGauge(prometheus.GaugeOpts{Name: "posnode_clock_off",
		Help: "1 while the local clock is off by more than the future-slot tolerance; the node then neither proposes nor votes."})
	m.reg.MustRegister(offset, off)
	return offset, off
}

// clockOff reports the estimated offset of the network's time from the local clock (positive: the local clock
// is behind) and whether it is off: the node then neither proposes nor votes, and is not synced. It is the one
// place every signing decision asks about the clock.
func (n *Node) clockOff() (offset time.Duration, off bool) {
	return n.clock.offset, n.clock.off
}

// noteStatusClock records what a peer's status answer says of the local clock; called on the loop.
func (n *Node) noteStatusClock(peer string, offset time.Duration, ok bool) {
	if !ok {
		return
	}
	if n.clock.peers == nil {
		n.clock.peers = map[string]clockSample{}
	}
	n.clock.peers[peer] = clockSample{offset: offset, weight: n.peerStake(peer), at: n.cfg.Now()}
	n.checkClock()
}

// noteBlockClock records the arrival of a gossiped block whose signature verified: a block that arrives before
// its slot starts shows, by how early it is, how far behind the local clock is at least (network delay only makes
// it later). A late block shows nothing (the network may have delayed it) and counts as agreeing. Only blocks of
// staked proposers count, one sample per proposer.
func (n *Node) noteBlockClock(b *chain.Block, arrived time.Time) {
	p := b.Header.Proposer
	stake := uint64(n.tree.HeadState().Account(p).Stake)
	if p == n.self || stake == 0 {
		return
	}
	g := n.cfg.Genesis
	early := max(consensus.SlotStart(g.Time, time.Duration(g.SlotDuration), b.Header.Slot).Sub(arrived), 0)
	if n.clock.blocks == nil {
		n.clock.blocks = map[chain.Address]clockSample{}
	}
	n.clock.blocks[p] = clockSample{offset: early, weight: stake, at: arrived}
	n.checkClock()
}

// peerStake is the stake of the validator whose key is the peer's identity, on the head's state.
func (n *Node) peerStake(peer string) uint64 {
	a, err := chain.ParseAddress(peer)
	if err != nil {
		return 0
	}
	return uint64(n.tree.HeadState().Account(a).Stake)
}

// checkClock estimates the offset from the samples of the last clockWindow and says loudly when the verdict
// changes (PROTOCOL.md §10): a WARN log, the prompt, the metrics and /api/status.
func (n *Node) checkClock() {
	now := n.cfg.Now()
	self := n.selfStake()
	source := "peers"
	n.clock.work = fresh(n.clock.work[:0], n.clock.peers, now)
	offset, off, ok := estimateClock(n.clock.work, self, n.clock.off)
	if !ok {
		source = "blocks"
		n.clock.work = fresh(n.clock.work[:0], n.clock.blocks, now)
		offset, off, ok = estimateClock(n.clock.work, self, n.clock.off)
	}
	if !ok {
		offset, off = 0, false
	}
	was := n.clock.off
	n.clock.offset, n.clock.off = offset, off
	if n.clock.gauge != nil {
		n.clock.gauge.Set(offset.Seconds())
		n.clock.offG.Set(b2f(off))
	}
	switch {
	case off && !was:
		n.log.Warn("clock is off: the local clock disagrees with the network's; not proposing or voting until it is fixed",
			zap.Duration("clock_offset", offset), zap.String("source", source), zap.String("local_clock", strings.TrimSuffix(behindAhead(offset), " of")))
		n.announce("!!! CLOCK: this node's clock is %s %s the network's (%s); it neither proposes nor votes until the clock is fixed (check NTP)",
			offset.Abs().Round(time.Millisecond), behindAhead(offset), source)
	case !off && was:
		n.log.Info("clock agrees with the network's again; proposing and voting resume", zap.Duration("clock_offset", offset))
		n.announce("clock: agrees with the network's again (offset %s)", offset.Round(time.Millisecond))
	}
}

// selfStake returns the node's own stake on the head's state. The clock check asks at every block that arrives; a
// state never changes once it is a head (publishHead shares it with readers off the loop), so the stake is looked
// up, through the accounts' layers, once per head state.
func (n *Node) selfStake() uint64 {
	if st := n.tree.HeadState(); st != n.clock.selfOn {
		n.clock.selfOn, n.clock.selfStake = st, uint64(st.Account(n.self).Stake)
	}
	return n.clock.selfStake
}

// fresh appends to out the samples taken within clockWindow of now, forgetting older ones, and returns it.
func fresh[K comparable](out []clockSample, m map[K]clockSample, now time.Time) []clockSample {
	for k, s := range m {
		if now.Sub(s.at) > clockWindow {
			delete(m, k)
			continue
		}
		out = append(out, s)
	}
	return out
}

// estimateClock judges samples (one per source) together with the node's own clock (offset 0, its own stake
// self): the estimate is their weighted median, and the clock is off when more than half of the weight lies
// beyond clockOffAfter on one side (clockOkWithin while it was off already). When at least clockMinSources
// sources have stake, only they count, by stake: sources without stake cost nothing to make, so any number of
// them could outvote the rest. Otherwise every source, and the node, counts once. The node's own vote means that
// a validator whose clock is wrong cannot make an honest node with few sources think itself off unless its stake
// outweighs the honest node's and its other sources' together. ok is false with fewer than clockMinSources
// samples. It reorders and overwrites samples and may append to them: the caller's working list, which no one
// reads after.
func estimateClock(samples []clockSample, self uint64, wasOff bool) (offset time.Duration, off, ok bool) {
	if len(samples) < clockMinSources {
		return 0, false, false
	}
	staked := 0
	for _, s := range samples {
		if s.weight > 0 {
			staked++
		}
	}
	if staked >= clockMinSources {
		samples = append(slices.DeleteFunc(samples, func(s clockSample) bool { return s.weight == 0 }), clockSample{weight: self})
	} else {
		samples = append(samples, clockSample{})
		for i := range samples {
			samples[i].weight = 1
		}
	}
	var total uint64
	for _, s := range samples {
		total += s.weight
	}
	bound := clockOffAfter
	if wasOff {
		bound = clockOkWithin
	}
	var above, below uint64
	for _, s := range samples {
		switch {
		case s.offset > bound:
			above += s.weight
		case s.offset < -bound:
			below += s.weight
		}
	}
	return weightedMedian(samples, total), 2*above > total || 2*below > total, true
}

// weightedMedian returns the least offset of samples such that the samples at or below it weigh at least half of
// total, their weight (at least 1): the offset at which a walk of the samples sorted by offset reaches half the
// weight. It selects instead of sorting — each round splits the samples around one offset and keeps the side
// that holds the median — in time linear in their number on average, and reorders them.
func weightedMedian(samples []clockSample, total uint64) time.Duration {
	var under uint64 // the weight of the samples dropped below the ones left, less than half of total
	for {
		pivot := samples[len(samples)/2].offset
		lt, gt := 0, len(samples) // samples[:lt] below the pivot, samples[gt:] above it
		var wLess, wEqual uint64
		for i := 0; i < gt; {
			switch s := samples[i]; {
			case s.offset < pivot:
				samples[lt], samples[i] = s, samples[lt]
				wLess += s.weight
				lt++
				i++
			case s.offset > pivot:
				gt--
				samples[gt], samples[i] = s, samples[gt]
			default:
				wEqual += s.weight
				i++
			}
		}
		switch {
		case 2*(under+wLess) >= total:
			samples = samples[:lt]
		case 2*(under+wLess+wEqual) >= total:
			return pivot
		default:
			under += wLess + wEqual
			samples = samples[gt:]
		}
	}
}

// behindAhead names the local clock's side of the network's for an offset.
func behindAhead(offset time.Duration) string {
	if offset > 0 {
		return "behind"
	}
	return "ahead of"
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
