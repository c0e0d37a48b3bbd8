package node

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/posnode/posnode/chain"
)

// finalityMetrics are the Prometheus series of finality and accountability (PROTOCOL.md §8a, §8b).
type finalityMetrics struct {
	justified   prometheus.Gauge
	finalized   prometheus.Gauge
	lag         prometheus.Gauge
	slashings   prometheus.Counter
	votesSigned prometheus.Counter
}

// addFinality registers the finality series on m's registry.
func (m *metrics) addFinality() *finalityMetrics {
	f := &finalityMetrics{
		justified: prometheus.NewGauge(prometheus.GaugeOpts{Name: "posnode_justified_epoch",
			Help: "Epoch of the newest justified checkpoint of the head's branch."}),
		finalized: prometheus.NewGauge(prometheus.GaugeOpts{Name: "posnode_finalized_epoch",
			Help: "Epoch of the newest finalized checkpoint of the head's branch."}),
		lag: prometheus.NewGauge(prometheus.GaugeOpts{Name: "posnode_finality_lag_slots",
			Help: "Slots from the first slot of the finalized checkpoint's epoch to the current slot."}),
		slashings: prometheus.NewCounter(prometheus.CounterOpts{Name: "posnode_slashings_total",
			Help: "Offences slashed by blocks that joined the canonical chain, each offence (offender, kind, slot or epoch) once, across reorgs."}),
		votesSigned: prometheus.NewCounter(prometheus.CounterOpts{Name: "posnode_votes_signed_total",
			Help: "Checkpoint votes this node signed."}),
	}
	m.reg.MustRegister(f.justified, f.finalized, f.lag, f.slashings, f.votesSigned)
	return f
}

// set shows the head's finality at slot now.
func (f *finalityMetrics) set(justified, finalized chain.Checkpoint, now chain.Slot, epochLength uint64) {
	f.justified.Set(float64(justified.Epoch))
	f.finalized.Set(float64(finalized.Epoch))
	f.lag.Set(float64(lagSlots(finalized, now, epochLength)))
}

// lagSlots is how many slots the finalized checkpoint's epoch started before slot now (0 if not before).
func lagSlots(finalized chain.Checkpoint, now chain.Slot, epochLength uint64) uint64 {
	start := uint64(finalized.Epoch) * epochLength
	return uint64(now) - min(start, uint64(now))
}

// offence names one punishable act, whatever evidence proves it: its offender and kind, and the slot of a double
// proposal or the later target epoch of a double or surround vote.
type offence struct {
	offender chain.Address
	kind     chain.EvidenceKind
	at       uint64
}

func offenceOf(e *chain.Evidence) offence {
	at := uint64(max(e.VoteA.Target.Epoch, e.VoteB.Target.Epoch))
	if e.Kind == chain.EvidenceDoubleProposal {
		at = uint64(e.HeaderA.Slot)
	}
	return offence{offender: e.Offender(), kind: e.Kind, at: at}
}

// slashCount decides which slashings posnode_slashings_total counts: each offence once, although a reorg can
// revert the block that applied its evidence and apply it (or other evidence of the same offence) again. It
// remembers an offence while the node keeps the messages of its epoch (chain.Retained, PROTOCOL.md §8b).
type slashCount struct {
	epochLength uint64
	counted     map[offence]chain.Epoch // the offence's epoch
}

func newSlashCount(epochLength uint64) slashCount {
	return slashCount{epochLength: epochLength, counted: map[offence]chain.Epoch{}}
}

// first reports whether e proves an offence not counted yet, and remembers it; now is the current epoch, before
// which expired offences are forgotten.
func (c *slashCount) first(e *chain.Evidence, now chain.Epoch) bool {
	for o, at := range c.counted {
		if !chain.Retained(at, now) {
			delete(c.counted, o)
		}
	}
	o := offenceOf(e)
	if _, ok := c.counted[o]; ok {
		return false
	}
	c.counted[o] = e.Epoch(c.epochLength)
	return true
}
