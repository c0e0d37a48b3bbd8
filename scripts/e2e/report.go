package main

import (
	"context"
	"fmt"
	"os"
	"text/tabwriter"
	"time"
)

// report prints the summary: the chain, each fault, each node.
func (r *runner) report(ctx context.Context, st0 status, f final, fin finalityResult, outs []outcome, byz byzOutcome,
	recs []record, fails []int) {
	fmt.Println()
	fmt.Println("== posnode e2e summary ==")
	runSlots, runBlocks := f.slot-st0.Slot, f.height-st0.Height
	fmt.Printf("chain        agreed block #%d %.8s at slot %d\n", f.height, f.hash, f.slot)
	fmt.Printf("since genesis  %d slots elapsed, %d filled (%s)\n", f.slot, f.height, pct(f.height, f.slot))
	fmt.Printf("during the run %d slots elapsed, %d filled (%s)\n", runSlots, runBlocks, pct(runBlocks, runSlots))
	r.finalityLine(fin)
	fmt.Println()
	w := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, "perturbation\tnode\thold\tothers advanced\tlongest stall\trecovery\tcaught up at\tresult")
	for _, o := range outs {
		res := "ok"
		if o.err != nil {
			res = "FAIL"
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%.1fs\t%.1fs\t#%d\t%s\n", o.p.name, r.nodes[o.p.node].name, r.cfg.hold,
			fmtAdvance(o.advance), o.stall.Seconds(), o.recovery.Seconds(), o.caughtUp, res)
	}
	w.Flush()
	fmt.Println()
	if byz.ran {
		r.byzTable(byz)
		fmt.Println()
	}
	r.nodeTable(ctx, f, recs, fails)
}

func (r *runner) nodeTable(ctx context.Context, f final, recs []record, fails []int) {
	stakes := r.stakes(ctx)
	submitted := make([]int, len(r.nodes))
	for _, rec := range recs {
		submitted[rec.node]++
	}
	w := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, "node\tstake\trecords accepted\tsubmissions refused\trecords committed once\treorgs")
	var tot, totFail, totCommit int
	for i, c := range r.nodes {
		fmt.Fprintf(w, "%s\t%s\t%d\t%d\t%d\t%s\n", c.name, stakes[i], submitted[i], fails[i], f.committed[i], f.reorgs[i])
		tot, totFail, totCommit = tot+submitted[i], totFail+fails[i], totCommit+f.committed[i]
	}
	fmt.Fprintf(w, "total\t\t%d\t%d\t%d\t\n", tot, totFail, totCommit)
	w.Flush()
	fmt.Printf("\nrun time %s\n", time.Since(r.start).Round(time.Second))
}

// stakes maps each node to its stake in the current table, by its address.
func (r *runner) stakes(ctx context.Context) []string {
	out := make([]string, len(r.nodes))
	vals, err := r.nodes[0].validators(ctx)
	byAddr := map[string]uint64{}
	for _, v := range vals {
		byAddr[v.Address] = v.Stake
	}
	for i, c := range r.nodes {
		out[i] = "?"
		if st, e := c.status(ctx); e == nil && err == nil {
			out[i] = fmt.Sprint(byAddr[st.PeerID])
		}
	}
	return out
}

func pct(a, b uint64) string {
	if b == 0 {
		return "n/a"
	}
	return fmt.Sprintf("%d.%d%%", a*100/b, a*1000/b%10)
}

// byzTable prints the byzantine stage's row: the slots the honest nodes filled, their records, what the adversary
// sent and what node1 (its only contact) rejected or penalised.
func (r *runner) byzTable(o byzOutcome) {
	res := "ok"
	if o.err != nil || float64(o.filled) < r.cfg.minFill*float64(o.slot1-o.slot0) || o.committed != len(o.records) {
		res = "FAIL"
	}
	w := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, "stage\thold\tslots filled\trecords committed once\tlongest stall\tadversary sent\t"+
		"node1 gossip rejects, sync penalties\tresult")
	fmt.Fprintf(w, "byzantine\t%s\t%d/%d (%s)\t%d/%d\t%.1fs\t%s\t%d blocks, %d txs, %d sync penalties\t%s\n",
		r.cfg.byzHold, o.filled, o.slot1-o.slot0, pct(o.filled, o.slot1-o.slot0), o.committed, len(o.records),
		o.stall.Seconds(), fmtSent(o.sent), o.rejects[0], o.rejects[1], o.penalties, res)
	w.Flush()
	fmt.Printf("  attacks %s; equivocate skipped: it needs a validator's key, whose owner then stops signing by design\n",
		byzAttacks)
}

func fmtSent(m map[string]int64) string {
	if m == nil {
		return "?"
	}
	return fmt.Sprintf("%d flood txs, %d lone bad txs, %d old-parent blocks, %d sync answers (%d status, %d ranges)",
		m["flood"], m["single"], m["old-parent"], m["status"]+m["ranges"], m["status"], m["ranges"])
}
