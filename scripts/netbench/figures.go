package main

import (
	"fmt"
	"io"
	"log"
	"slices"
	"time"
)

// runs caches cluster runs so that figures sharing a configuration (16 nodes at 1 s serves the slot-fill and the
// propagation figures) run it once.
type runs struct {
	minSlots int
	minTime  time.Duration
	done     map[runSpec]runResult
}

func (rs *runs) get(spec runSpec) runResult {
	if r, ok := rs.done[spec]; ok {
		return r
	}
	w := window(spec.slot, rs.minSlots, rs.minTime)
	log.Printf("cluster run: %d nodes, %s slots, window %d slots", spec.nodes, spec.slot, w)
	r := runCluster(spec, w)
	if r.err != nil {
		log.Printf("cluster run %d nodes %s: %v", spec.nodes, spec.slot, r.err)
	}
	rs.done[spec] = r
	return r
}

// fillFigure is figure 2: slot fill, reorgs and disagreement k deep.
func fillFigure(w io.Writer, rs *runs, nodes []int, slots []time.Duration) {
	fmt.Fprintf(w, "| nodes | slot | slots measured | filled | reorgs / 100 slots (per node) | samples with a node split %d deep | most nodes split | agreed at end |\n", depth)
	fmt.Fprintln(w, "|---:|---:|---:|---:|---:|---:|---:|:---:|")
	var goal *runResult
	for _, n := range nodes {
		for _, s := range slots {
			r := rs.get(runSpec{n, s})
			if r.err != nil {
				fmt.Fprintf(w, "| %d | %s | – | failed: %v | | | | |\n", n, s, r.err)
				continue
			}
			fmt.Fprintf(w, "| %d | %s | %d | %s | %.1f | %d of %d | %d | %s |\n", n, s, r.slots(), pct(r.fill()),
				r.reorgsPer100(), r.split, r.samples, r.maxSplit, yesNo(r.agreed))
			if n == 16 && s == 200*time.Millisecond {
				goal = &r
			}
		}
	}
	fmt.Fprintln(w)
	if goal == nil {
		fmt.Fprintln(w, "Goal: ≥ 99 % of slots filled at 200 ms with 16 nodes — not measured in this run.")
		return
	}
	fmt.Fprintf(w, "Goal: ≥ 99 %% of slots filled at 200 ms with 16 nodes — %s (%s).\n", verdict(goal.fill() >= 0.99), pct(goal.fill()))
}

// propFigure is figure 3: publish-to-import delay over every (block, other node) pair.
func propFigure(w io.Writer, rs *runs, nodes []int, slot time.Duration) {
	fmt.Fprintf(w, "| nodes | slot | blocks proposed | imports / pairs | p50 | p99 | max |\n")
	fmt.Fprintln(w, "|---:|---:|---:|---:|---:|---:|---:|")
	var goal *runResult
	for _, n := range nodes {
		r := rs.get(runSpec{n, slot})
		if r.err != nil {
			fmt.Fprintf(w, "| %d | %s | failed: %v | | | | |\n", n, slot, r.err)
			continue
		}
		blocks := r.pairs / max(n-1, 1)
		fmt.Fprintf(w, "| %d | %s | %d | %d / %d | %s | %s | %s |\n", n, slot, blocks, len(r.delays), r.pairs,
			ms(quantile(r.delays, 0.5)), ms(quantile(r.delays, 0.99)), ms(slices.Max(append(r.delays, 0))))
		if n == 16 {
			goal = &r
		}
	}
	fmt.Fprintln(w)
	if goal == nil || len(goal.delays) == 0 {
		fmt.Fprintln(w, "Goal: p99 under 50 ms at 16 nodes — not measured in this run.")
		return
	}
	p99 := quantile(goal.delays, 0.99)
	fmt.Fprintf(w, "Goal: p99 under 50 ms at 16 nodes on loopback — %s (%s).\n", verdict(p99 < 50*time.Millisecond), ms(p99))
}

// converged is the scale figure's test: every node ended on the same block and at least 90 % of slots were filled.
func converged(r runResult) bool { return r.err == nil && r.agreed && r.fill() >= 0.9 }

// scaleFigure is figure 7: the largest cluster that converges with 1 s slots, trying sizes in increasing order and
// stopping after the first that does not.
func scaleFigure(w io.Writer, rs *runs, nodes []int, slot time.Duration) {
	fmt.Fprintf(w, "| nodes | slot | start-up of all nodes | filled | samples with a node split %d deep | agreed at end | peers of a node (median, max) | converges |\n", depth)
	fmt.Fprintln(w, "|---:|---:|---:|---:|---:|:---:|---:|:---:|")
	best, failed := 0, false
	for _, n := range nodes {
		r := rs.get(runSpec{n, slot})
		if r.err != nil {
			fmt.Fprintf(w, "| %d | %s | | failed: %v | | | | no |\n", n, slot, r.err)
			failed = true
			break
		}
		ok := converged(r)
		fmt.Fprintf(w, "| %d | %s | %.1f s | %s | %d of %d | %s | %s | %s |\n", n, slot, r.startup.Seconds(), pct(r.fill()),
			r.split, r.samples, yesNo(r.agreed), peerCounts(r.peers), yesNo(ok))
		if !ok {
			failed = true
			break
		}
		best = n
	}
	fmt.Fprintln(w)
	fmt.Fprintf(w, "Converges: every node ends on the same block at the window's last filled height and ≥ 90 %% of slots are filled.\n\n")
	limit := fmt.Sprintf("the largest that converged: %d; the next size did not", best)
	if !failed {
		limit = fmt.Sprintf("every size tried converged, up to %d; larger ones were not tried", best)
	}
	fmt.Fprintf(w, "Goal: 64 nodes converge with 1 s slots — %s (%s).\n", verdict(best >= 64), limit)
}

// peerCounts shows the median and the largest of sorted peer counts.
func peerCounts(sorted []int) string {
	if len(sorted) == 0 {
		return ""
	}
	return fmt.Sprintf("%d, %d", sorted[len(sorted)/2], sorted[len(sorted)-1])
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}
