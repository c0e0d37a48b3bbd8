package node

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/posnode/posnode/p2p"
)

// metrics are the node's Prometheus series, on a registry of its own so several nodes can share a process.
type metrics struct {
	reg         *prometheus.Registry
	height      prometheus.Gauge
	slot        prometheus.Gauge
	peers       prometheus.GaugeFunc
	reachable   prometheus.GaugeFunc
	mempool     prometheus.Gauge
	slotsWon    prometheus.Counter
	slotsMissed prometheus.Counter
	reorgs      prometheus.Counter
	gossip      *prometheus.CounterVec
	// verdicts holds gossip's counter of each topic and verdict, made once: a message's count is an array index,
	// not a label lookup (one per message received). Read-only after newMetrics, so validators may share it.
	verdicts map[string]*[3]prometheus.Counter
	// syncPenalties counts sync failures a peer was penalised for (PROTOCOL.md §10).
	syncPenalties prometheus.Counter
	// doppelganger is 1 once another process was seen signing with this node's key.
	doppelganger prometheus.Gauge
}

func newMetrics() *metrics {
	m := &metrics{
		reg:         prometheus.NewRegistry(),
		height:      prometheus.NewGauge(prometheus.GaugeOpts{Name: "posnode_height", Help: "Height of the canonical head."}),
		slot:        prometheus.NewGauge(prometheus.GaugeOpts{Name: "posnode_slot", Help: "Current slot by the local clock."}),
		mempool:     prometheus.NewGauge(prometheus.GaugeOpts{Name: "posnode_mempool_txs", Help: "Transactions waiting for a block."}),
		slotsWon:    prometheus.NewCounter(prometheus.CounterOpts{Name: "posnode_slots_won_total", Help: "Slots this node won and filled with a block."}),
		slotsMissed: prometheus.NewCounter(prometheus.CounterOpts{Name: "posnode_slots_missed_total", Help: "Slots this node won but left empty (not synced, or an error)."}),
		reorgs:      prometheus.NewCounter(prometheus.CounterOpts{Name: "posnode_reorgs_total", Help: "Head switches that abandoned at least one block."}),
		gossip: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "posnode_gossip_validation_total",
			Help: "Gossip validation outcomes by topic and verdict."}, []string{"topic", "verdict"}),
		syncPenalties: prometheus.NewCounter(prometheus.CounterOpts{Name: "posnode_sync_penalties_total",
			Help: "Syncs that failed by a peer's fault: invalid or undelivered answers, expired requests."}),
		doppelganger: prometheus.NewGauge(prometheus.GaugeOpts{Name: "posnode_doppelganger",
			Help: "1 once another process was seen signing with this node's key; the node has stopped signing."}),
	}
	m.reg.MustRegister(m.height, m.slot, m.mempool, m.slotsWon, m.slotsMissed, m.reorgs, m.gossip, m.syncPenalties,
		m.doppelganger)
	m.verdicts = map[string]*[3]prometheus.Counter{}
	for _, topic := range []string{"blocks", "txs", voteTopicName, evidenceTopicName} {
		var cs [3]prometheus.Counter
		for v := p2p.Accept; v <= p2p.Reject; v++ {
			cs[v] = m.gossip.WithLabelValues(topic, v.String())
		}
		m.verdicts[topic] = &cs
	}
	// The Go runtime's (go_*: goroutines, heap, GC pauses) and the process's (process_*: CPU, resident memory,
	// open files) series, as every Prometheus exporter has them.
	m.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// watchPeers adds the peer count, read from the host when scraped.
func (m *metrics) watchPeers(count func() float64) {
	m.peers = prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "posnode_peers", Help: "Connected peers."}, count)
	m.reg.MustRegister(m.peers)
}

// watchReachability adds the node's reachability (p2p.Reachability: 0 unknown, 1 public, 2 private), read from
// the host when scraped.
func (m *metrics) watchReachability(value func() float64) {
	m.reachable = prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "posnode_reachability",
		Help: "Whether peers can dial this node directly: 0 unknown, 1 public, 2 private (behind a NAT)."}, value)
	m.reg.MustRegister(m.reachable)
}

// countVerdict counts verdict v of a message of topic.
func (m *metrics) countVerdict(topic string, v p2p.Verdict) {
	if cs := m.verdicts[topic]; cs != nil && v >= p2p.Accept && v <= p2p.Reject {
		cs[v].Inc()
		return
	}
	m.gossip.WithLabelValues(topic, v.String()).Inc()
}

func (m *metrics) handler() http.Handler { return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{}) }
