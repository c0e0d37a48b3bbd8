package node

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/posnode/posnode/chain"
	"github.com/posnode/posnode/node/finality"
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
	f.lag.Set(float64(finality.LagSlots(finalized, now, epochLength)))
}
