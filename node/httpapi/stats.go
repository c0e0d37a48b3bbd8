package httpapi

import (
	"math"
	"strconv"
	"strings"

	"github.com/posnode/posnode/chain"
	"github.com/posnode/posnode/node/view"
)

// fairness compares each validator's stake share with its share of the blocks won in a window of recent
// blocks: the lottery promises p = stake / total (PROTOCOL.md §6). It is for people; no rule uses it.
type fairness struct {
	Blocks int     // blocks in the window
	Rows   []share // one per validator of the current table
	Chi2   float64 // Pearson's χ² of the wins against the stakes
	DF     int     // degrees of freedom: validators - 1
	P      float64 // probability of a χ² at least this large if the lottery is fair
}

type share struct {
	Address        chain.Address
	Stake          uint64
	Expected       float64 // stake share, 0..1
	Wins           int
	Observed       float64 // share of the window's blocks, 0..1
	Low, High      float64 // expected ± 2σ of a binomial share over the window, clamped to 0..1
	OutsideTheBand bool
}

// measureFairness counts the proposers of blocks against the stake table vals. Blocks by proposers that are not
// in the table (stake changed within the window) count in the total only.
func measureFairness(vals []view.Validator, blocks []view.Block) fairness {
	f := fairness{}
	wins := map[chain.Address]int{}
	for _, b := range blocks {
		if b.Height > 0 {
			wins[b.Proposer]++
			f.Blocks++
		}
	}
	var total uint64
	for _, v := range vals {
		total += v.Stake
	}
	if total == 0 || f.Blocks == 0 {
		return f
	}
	n := float64(f.Blocks)
	for _, v := range vals {
		p := float64(v.Stake) / float64(total)
		sigma := math.Sqrt(p * (1 - p) / n)
		r := share{Address: v.Address, Stake: v.Stake, Expected: p, Wins: wins[v.Address],
			Observed: float64(wins[v.Address]) / n, Low: max(0, p-2*sigma), High: min(1, p+2*sigma)}
		r.OutsideTheBand = r.Observed < r.Low || r.Observed > r.High
		f.Rows = append(f.Rows, r)
		if exp := n * p; exp > 0 {
			d := float64(r.Wins) - exp
			f.Chi2 += d * d / exp
		}
	}
	f.DF = len(vals) - 1
	f.P = chi2Survival(f.Chi2, f.DF)
	return f
}

// chi2Survival is P(X ≥ x) for X ~ χ² with df degrees of freedom: the regularized upper incomplete gamma
// Q(df/2, x/2), by its series below a+1 and its continued fraction above (Numerical Recipes §6.2).
func chi2Survival(x float64, df int) float64 {
	if df <= 0 {
		return 1
	}
	a, y := float64(df)/2, x/2
	if y <= 0 {
		return 1
	}
	lg, _ := math.Lgamma(a)
	pre := math.Exp(-y + a*math.Log(y) - lg)
	if y < a+1 {
		sum, term := 1/a, 1/a
		for k := 1.0; k < 500 && math.Abs(term) > 1e-15*math.Abs(sum); k++ {
			term *= y / (a + k)
			sum += term
		}
		return math.Max(0, 1-pre*sum)
	}
	const tiny = 1e-300
	b := y + 1 - a
	c, d := 1/tiny, 1/b
	h := d
	for i := 1.0; i < 500; i++ {
		an := -i * (i - a)
		b += 2
		d = an*d + b
		if math.Abs(d) < tiny {
			d = tiny
		}
		c = b + an/c
		if math.Abs(c) < tiny {
			c = tiny
		}
		d = 1 / d
		delta := d * c
		h *= delta
		if math.Abs(delta-1) < 1e-15 {
			break
		}
	}
	return math.Min(1, pre*h)
}

// bpmList lists a block's heart-rate records, for people.
func bpmList(b view.Block) string {
	var out []string
	for _, tx := range b.Txs {
		if tx.Kind == chain.TxBPM.String() {
			out = append(out, strconv.FormatUint(tx.Value, 10))
		}
	}
	return strings.Join(out, " ")
}
