package simnet

import (
	"fmt"
	"math"
	"strings"

	"gonum.org/v1/gonum/stat/distuv"
)

// FairnessPool gathers the validators' shares (Stats.Shares) of many seeds of one configuration and tests them
// together: is any validator's share of the lottery's slots, or of the canonical blocks, biased? Validator i is the
// same stake rank in every seed (Config.Stakes), so its counts add up across seeds.
type FairnessPool struct {
	seeds  int
	sum    []ShareCount // by validator: the seeds' counts and sums added
	chi2   float64      // Σ over seeds of the Pearson statistic of the wins
	df     int          // its degrees of freedom: Σ (validators − 1)
	blkChi float64      // the same for the blocks against the slots each validator could propose in
	nvChi  float64      // the same for the blocks against the walk-through's expectation (NaiveMean)
}

// Add adds one run's shares.
func (p *FairnessPool) Add(r Result) {
	sh := r.Stats.Shares
	if len(sh) < 2 {
		return
	}
	if len(p.sum) < len(sh) {
		p.sum = append(p.sum, make([]ShareCount, len(sh)-len(p.sum))...)
	}
	p.seeds++
	p.df += len(sh) - 1
	for i, c := range sh {
		s := &p.sum[i]
		s.Stake = c.Stake
		s.Won, s.WonMean, s.WonVar = s.Won+c.Won, s.WonMean+c.WonMean, s.WonVar+c.WonVar
		s.Blocks, s.BlockMean, s.BlkVar = s.Blocks+c.Blocks, s.BlockMean+c.BlockMean, s.BlkVar+c.BlkVar
		s.NaiveMean += c.NaiveMean
		p.chi2 += pearson(c.Won, c.WonMean)
		p.blkChi += pearson(c.Blocks, c.BlockMean)
		p.nvChi += pearson(c.Blocks, c.NaiveMean)
	}
}

// pearson is one cell of Pearson's χ²: (observed − expected)² / expected; 0 for no expectation.
func pearson(got int, mean float64) float64 {
	if mean <= 0 {
		return 0
	}
	d := float64(got) - mean
	return d * d / mean
}

// Report prints, per validator, its pooled counts and z-scores ((observed − expected) / √variance, summed over
// the seeds) with their two-sided p-values, and the χ² tests over every seed and validator with their p-values.
func (p *FairnessPool) Report() string {
	var b strings.Builder
	fmt.Fprintf(&b, "fairness over %d seeds (won: slots the lottery gave the validator on the canonical chain; "+
		"blocks: its canonical blocks against the slots it could propose in):\n", p.seeds)
	minP := 1.0
	for i, s := range p.sum {
		zw := zScore(s.Won, s.WonMean, s.WonVar)
		zb := zScore(s.Blocks, s.BlockMean, s.BlkVar)
		minP = min(minP, twoSided(zw))
		fmt.Fprintf(&b, "  validator %d (stake %d): won %d, expected %.1f (z %+.2f, p %.3f); blocks %d, expected %.1f "+
			"(z %+.2f); walk's expectation %.1f\n", i, s.Stake, s.Won, s.WonMean, zw, twoSided(zw), s.Blocks,
			s.BlockMean, zb, s.NaiveMean)
	}
	n := float64(len(p.sum))
	fmt.Fprintf(&b, "  won: χ² = %.1f over %d degrees of freedom, p = %.3f; smallest per-validator p %.3f "+
		"(Bonferroni over %d: p = %.3f)\n", p.chi2, p.df, Chi2Survival(p.chi2, p.df), minP, len(p.sum), min(minP*n, 1))
	fmt.Fprintf(&b, "  blocks against the slots each could propose in: χ² = %.1f, p = %.3g; against canonical "+
		"blocks × genesis share (the walk-through's test): χ² = %.1f, p = %.3g\n", p.blkChi, Chi2Survival(p.blkChi, p.df),
		p.nvChi, Chi2Survival(p.nvChi, p.df))
	return b.String()
}

// zScore is (got − mean) / √variance, 0 without variance.
func zScore(got int, mean, variance float64) float64 {
	if variance <= 0 {
		return 0
	}
	return (float64(got) - mean) / math.Sqrt(variance)
}

// twoSided is the two-sided p-value of a standard normal z.
func twoSided(z float64) float64 { return math.Erfc(math.Abs(z) / math.Sqrt2) }

// Chi2Survival is P(X ≥ x) for X χ²-distributed with df degrees of freedom (1 for df ≤ 0 or x ≤ 0).
func Chi2Survival(x float64, df int) float64 {
	if df <= 0 || x <= 0 {
		return 1
	}
	return distuv.ChiSquared{K: float64(df)}.Survival(x)
}
