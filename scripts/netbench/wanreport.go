package main

import (
	"fmt"
	"io"
	"runtime"
	"slices"
	"strings"
	"time"
)

// wanTable prints the WAN figure: a row per run, the NATed node's showing, and how the links were shaped.
func wanTable(w io.Writer, o wanOptions, rs []wanResult, netem bool, load0 string) {
	fmt.Fprintln(w, "| scenario | slot | link (each node, each direction) | slots filled | propagation p50 / p99 | reorgs / 100 slots (per node), deepest | finality lag median / max | records offered / accepted / committed once | lost / twice / left in mempools | one head (settled in) |")
	fmt.Fprintln(w, "|---|---:|---|---:|---:|---:|---:|---:|---:|:---:|")
	for _, r := range rs {
		name := r.sc.name
		if r.sc.cut > 0 {
			name = fmt.Sprintf("partition: nodes 2–%d cut off for %s", r.sc.cut+1, r.sc.cutFor)
		}
		slots := int(r.last - r.first + 1)
		fmt.Fprintf(w, "| %s | %s | %s | %d of %d (%s) | %s / %s | %.1f, %d deep | %s / %s | %d / %d / %d | %d / %d / %d | %s (%.0f s) |\n",
			name, r.sc.slot, r.sc.link, r.filled, slots, pct(float64(r.filled)/float64(max(slots, 1))),
			ms(quantile(r.delays, 0.5)), ms(quantile(r.delays, 0.99)),
			100*r.reorgs/float64(max(r.nodes, 1))/float64(max(r.reorgSlots, 1)), r.deepest,
			lagStr(r.lag, r.sc.slot, medianU), lagStr(r.lag, r.sc.slot, maxU),
			r.offered, r.accepted, r.committedOnce, r.lost, r.twice, r.mempoolLeft, yesNo(r.oneHead), r.settle.Seconds())
	}
	fmt.Fprintln(w)
	if o.nat > 0 {
		var parts []string
		for _, r := range rs {
			n := r.nat
			parts = append(parts, fmt.Sprintf("%s@%s: %d peers, synced %s, proposed %d of %d window blocks (by stake ≈ %.1f)",
				r.sc.name, r.sc.slot, n.peers, yesNo(n.synced), n.proposed, n.total, n.share*float64(n.total)))
		}
		fmt.Fprintf(w, "Node %d sits behind a masquerading NAT (a router namespace; only its own connections go out) with %s of the stake — %s.\n\n",
			rs[0].nat.node, pct(rs[0].nat.share), strings.Join(parts, "; "))
	}
	fmt.Fprintf(w, "%d `posnode run` processes, each in its own network namespace, on a bridge in another; a window of %s per run "+
		"with %d BPM records/s offered over the nodes' APIs, then up to %s to settle. Propagation: from the proposer's head event "+
		"to each other node's (GET /api/events, read inside each namespace). Finality lag: node 1's GET /api/finality `lag_slots` every 2 s "+
		"(epochs of %d slots). One head: every node reported the same head with empty mempools in one poll.\n\n",
		rs[0].nodes, o.window, loadRate, o.settle, o.epoch)
	if netem {
		fmt.Fprintln(w, "Shaping: the kernel has netem — netem on each node's egress adds latency, jitter and loss per packet; tbf caps the rate towards the node.")
	} else {
		fmt.Fprintln(w, "Shaping: this kernel has no netem. tbf caps each direction's rate; nftables drops packets at random on each node's egress "+
			"(TCP turns a loss into a retransmission delay, at least 200 ms, since the kernel sees no latency); a toxiproxy TCP proxy in each "+
			"node's namespace delays both directions of every connection the node accepts, per chunk of the stream rather than per packet, "+
			"so jitter never reorders and a connection's handshake is delayed like its data.")
	}
	fmt.Fprintf(w, "\nLoad average (1, 5, 15 min) before / after: %s / %s, on %s.\n", load0, loadAvg(), fmt.Sprintf("%d cores (%s), kernel %s", runtime.NumCPU(), cpuModel(), readTrim("/proc/sys/kernel/osrelease")))
}

func maxU(xs []uint64) uint64 {
	if len(xs) == 0 {
		return 0
	}
	return slices.Max(xs)
}

// lagStr formats a finality lag in slots and seconds.
func lagStr(lag []uint64, slot time.Duration, f func([]uint64) uint64) string {
	if len(lag) == 0 {
		return "–"
	}
	v := f(lag)
	return fmt.Sprintf("%d slots (%.0f s)", v, (time.Duration(v) * slot).Seconds())
}
