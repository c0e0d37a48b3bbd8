package sim

import (
	"context"
	"fmt"
	"io"
	"runtime"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/posnode/posnode/chain"
)

// TableConfig fixes the runs of one table: every strategy for every α and k under one seed rule.
type TableConfig struct {
	Rule           chain.SeedRule
	AlphasPermille []int
	Ks             []int
	StakeKs        []int // stake amounts the StakeGrind and StakeWithhold runs try
	Slots          int   // slots of each Grind, LateRelease and stake run
	PrivateSlots   int   // slots after which the private branch is released
	EpochLength    uint64
	Seed           int64
}

// Cells returns the runs of c, in the order Table prints them.
func (c TableConfig) Cells() []Params {
	var ps []Params
	cell := func(st Strategy, a, k, slots int) {
		ps = append(ps, Params{Strategy: st, Rule: c.Rule, AlphaPermille: a, K: k, Slots: slots, EpochLength: c.EpochLength, Seed: c.Seed})
	}
	for _, a := range c.AlphasPermille {
		for _, k := range c.Ks {
			cell(Grind, a, k, c.Slots)
		}
	}
	for _, a := range c.AlphasPermille {
		for _, k := range c.Ks {
			cell(PrivateBranch, a, k, c.PrivateSlots)
		}
	}
	for _, a := range c.AlphasPermille {
		cell(LateRelease, a, 1, c.Slots)
	}
	for _, st := range []Strategy{StakeGrind, StakeWithhold} {
		for _, a := range c.AlphasPermille {
			for _, k := range c.StakeKs {
				cell(st, a, k, c.Slots)
			}
		}
	}
	if len(c.StakeKs) > 0 {
		for _, a := range c.AlphasPermille {
			cell(HonestVotes, a, 1, c.Slots)
			cell(VoteSplit, a, c.StakeKs[len(c.StakeKs)-1], c.Slots)
		}
	}
	return ps
}

// RunTable plays every cell of c on all cores and returns the results in the order of Cells. It writes one line
// of progress per finished run to progress, and stops early when ctx is done.
func RunTable(ctx context.Context, c TableConfig, progress io.Writer) ([]Result, error) {
	cells := c.Cells()
	out := make([]Result, len(cells))
	g, ctx := errgroup.WithContext(ctx)
	g.SetLimit(runtime.GOMAXPROCS(0))
	var mu sync.Mutex
	done, start := 0, time.Now()
	for i, p := range cells {
		g.Go(func() error {
			if err := ctx.Err(); err != nil {
				return err
			}
			r, err := Run(p)
			if err != nil {
				return err
			}
			out[i] = r
			mu.Lock()
			done++
			fmt.Fprintf(progress, "  [%2d/%d %5.1fs] %s %-14s α=%.2f k=%-3d share %.3f\n", done, len(cells),
				time.Since(start).Seconds(), p.Rule, p.Strategy, float64(p.AlphaPermille)/1000, p.K, r.Share())
			mu.Unlock()
			return nil
		})
	}
	return out, g.Wait()
}

// WriteTable writes the results of c as Markdown tables.
func WriteTable(w io.Writer, c TableConfig, rs []Result) {
	byKey := map[[3]int]Result{}
	defer writeStakeTables(w, c, byKey)
	for _, r := range rs {
		byKey[[3]int{strategyIndex(r.Strategy), r.AlphaPermille, r.K}] = r
	}
	ks := make([]string, len(c.Ks))
	for i, k := range c.Ks {
		ks[i] = fmt.Sprintf("k = %d", k)
	}
	fmt.Fprintf(w, "Seed rule `%s`, epoch %d slots, seed %d.\n\n", c.Rule, c.EpochLength, c.Seed)
	fmt.Fprintf(w, "Grind, %d slots: adversary's share of canonical blocks (deepest reorg it caused); its fair share, "+
		"what its stake wins without grinding, is α\n\n", c.Slots)
	fmt.Fprintf(w, "| α | fair share | %s |\n|---|---|%s\n", strings.Join(ks, " | "), strings.Repeat("---|", len(ks)))
	for _, a := range c.AlphasPermille {
		fmt.Fprintf(w, "| %.2f | %.3f |", float64(a)/1000, float64(a)/1000)
		for _, k := range c.Ks {
			r := byKey[[3]int{strategyIndex(Grind), a, k}]
			fmt.Fprintf(w, " %.3f (%d) |", r.Share(), r.DeepestReorg)
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintf(w, "\nPrivate branch from genesis released after %d slots: honest blocks it replaced (adversary's share after)\n\n", c.PrivateSlots)
	fmt.Fprintf(w, "| α | fair share | %s |\n|---|---|%s\n", strings.Join(ks, " | "), strings.Repeat("---|", len(ks)))
	for _, a := range c.AlphasPermille {
		fmt.Fprintf(w, "| %.2f | %.3f |", float64(a)/1000, float64(a)/1000)
		for _, k := range c.Ks {
			r := byKey[[3]int{strategyIndex(PrivateBranch), a, k}]
			fmt.Fprintf(w, " %d (%.3f) |", r.Replaced, r.Share())
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintf(w, "\nLate release, %d slots: the adversary holds each block until the next honest block on the same parent\n\n", c.Slots)
	fmt.Fprintf(w, "| α | fair share | share | honest blocks orphaned | deepest reorg |\n|---|---|---|---|---|\n")
	for _, a := range c.AlphasPermille {
		r := byKey[[3]int{strategyIndex(LateRelease), a, 1}]
		fmt.Fprintf(w, "| %.2f | %.3f | %.3f | %d | %d |\n", float64(a)/1000, float64(a)/1000, r.Share(), r.Replaced,
			r.DeepestReorg)
	}
	fmt.Fprintln(w)
}

func strategyIndex(s Strategy) int {
	switch s {
	case Grind:
		return 0
	case PrivateBranch:
		return 1
	case StakeGrind:
		return 3
	case StakeWithhold:
		return 4
	case VoteSplit:
		return 5
	case HonestVotes:
		return 6
	default:
		return 2
	}
}

// writeStakeTables writes the stake-grinding tables and the epoch tails the strategies held, after the others.
func writeStakeTables(w io.Writer, c TableConfig, byKey map[[3]int]Result) {
	if len(c.StakeKs) == 0 || len(c.Ks) == 0 {
		return
	}
	ks := make([]string, len(c.StakeKs))
	for i, k := range c.StakeKs {
		ks[i] = fmt.Sprintf("k = %d", k)
	}
	for _, st := range []Strategy{StakeGrind, StakeWithhold} {
		what := "stakes the best of k amounts of its own tokens in each block it proposes at an epoch's tail"
		if c.Rule == chain.SeedParentHash {
			what = "stakes the best of k amounts of its own tokens in each block it proposes"
		}
		if st == StakeWithhold {
			what += ", or withholds the block when that pays more"
		}
		fmt.Fprintf(w, "%s, %d slots: the adversary %s; its share of canonical blocks (fair share α) [epochs in which it ground]\n\n",
			st, c.Slots, what)
		fmt.Fprintf(w, "| α | %s |\n|---|%s\n", strings.Join(ks, " | "), strings.Repeat("---|", len(ks)))
		for _, a := range c.AlphasPermille {
			fmt.Fprintf(w, "| %.2f |", float64(a)/1000)
			for _, k := range c.StakeKs {
				r := byKey[[3]int{strategyIndex(st), a, k}]
				fmt.Fprintf(w, " %.3f (%.2f) [%d] |", r.Share(), float64(a)/1000, r.GrindEpochs)
			}
			fmt.Fprintln(w)
		}
		fmt.Fprintln(w)
	}
	kmax, smax := c.Ks[len(c.Ks)-1], c.StakeKs[len(c.StakeKs)-1]
	fmt.Fprintf(w, "Vote splitting, %d slots: epochs (of %d) whose last block is the adversary's, with no honest block after it "+
		"in the epoch, so that it could release it at the boundary to split the votes for the next checkpoint (longest run in a row)\n\n",
		c.Slots, c.Slots/int(c.EpochLength))
	fmt.Fprintf(w, "| α | grind, k = %d | stake-grind, k = %d | stake-withhold, k = %d |\n|---|---|---|---|\n", kmax, smax, smax)
	for _, a := range c.AlphasPermille {
		fmt.Fprintf(w, "| %.2f |", float64(a)/1000)
		for _, sk := range [][2]int{{strategyIndex(Grind), kmax}, {strategyIndex(StakeGrind), smax}, {strategyIndex(StakeWithhold), smax}} {
			r := byKey[[3]int{sk[0], a, sk[1]}]
			fmt.Fprintf(w, " %d (%d) |", r.TailEpochs, r.LongestTailRun)
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintln(w)
	fmt.Fprintf(w, "Vote splitting with checkpoint votes and the real finality rules, %d slots: finality delay of each epoch "+
		"from its first slot, mean / max in epochs; the splitter proposes as stake-withhold (k = %d), never votes, and "+
		"splits every checkpoint that is its block\n\n", c.Slots, smax)
	fmt.Fprintf(w, "| α | honest votes | vote-split: checkpoints split | share (α) | finality delay |\n|---|---|---|---|---|\n")
	epochs := func(r Result) string {
		mean := float64(r.FinalityDelaySum) / float64(max(r.FinalityEpochs, 1)) / float64(c.EpochLength)
		return fmt.Sprintf("%.2f / %.2f", mean, float64(r.MaxFinalityDelay)/float64(c.EpochLength))
	}
	for _, a := range c.AlphasPermille {
		h, r := byKey[[3]int{strategyIndex(HonestVotes), a, 1}], byKey[[3]int{strategyIndex(VoteSplit), a, smax}]
		fmt.Fprintf(w, "| %.2f | %s | %d | %.3f (%.2f) | %s |\n", float64(a)/1000, epochs(h), r.Splits, r.Share(),
			float64(a)/1000, epochs(r))
	}
	fmt.Fprintln(w)
}
