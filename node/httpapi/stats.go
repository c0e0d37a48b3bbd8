package httpapi

import (
	"bytes"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/posnode/posnode/chain"
	"github.com/posnode/posnode/node/view"
	"gonum.org/v1/gonum/stat/distuv"
)

// fairness compares each validator's expected share of the blocks of a window with the share it won. Each block
// is one draw of the lottery under the stake table of its own epoch, where a validator wins with p = stake /
// total (PROTOCOL.md §6), so its expected wins are the sum of its p over the window's blocks, not the current
// table's p times the blocks: a stake change within the window moves the expectation with it. It is for people;
// no rule uses it.
type fairness struct {
	Blocks int     // blocks in the window that were weighed
	Tables int     // distinct stake tables (epochs) the window's blocks were drawn under
	Rows   []share // one per validator in any of those tables, by address
	Chi2   float64 // Pearson's χ² of the wins against the expected wins
	DF     int     // degrees of freedom: validators with expected wins - 1
	P      float64 // probability of a χ² at least this large if the lottery is fair
}

type share struct {
	Address        chain.Address
	Stake          uint64  // in the newest table that holds it
	Expected       float64 // expected share of the window's blocks: the mean of its stake shares, 0..1
	Wins           int
	Observed       float64 // share of the window's blocks won, 0..1
	Low, High      float64 // expected ± 2σ of the share won (a sum of the blocks' draws), clamped to 0..1
	OutsideTheBand bool
}

// measureFairness weighs the proposers of blocks against the stake tables of their epochs (tables, oldest
// first). A block whose slot no table covers is not weighed.
func measureFairness(tables []view.EpochTable, blocks []view.Block) fairness {
	type tally struct {
		stake     uint64
		exp, vari float64 // Σ p and Σ p(1-p) over the weighed blocks
		wins      int
	}
	rows := map[chain.Address]*tally{}
	row := func(a chain.Address) *tally {
		if rows[a] == nil {
			rows[a] = &tally{}
		}
		return rows[a]
	}
	f := fairness{}
	var last *view.EpochTable
	for _, b := range blocks {
		t := tableOf(tables, b.Slot)
		total := tableTotal(t)
		if b.Height == 0 || total == 0 {
			continue
		}
		if t != last {
			f.Tables, last = f.Tables+1, t
		}
		f.Blocks++
		for _, v := range t.Validators {
			p := float64(v.Stake) / float64(total)
			r := row(v.Address)
			r.stake, r.exp, r.vari = v.Stake, r.exp+p, r.vari+p*(1-p)
		}
		row(b.Proposer).wins++
	}
	if f.Blocks == 0 {
		return f
	}
	n := float64(f.Blocks)
	for a, r := range rows {
		sigma := math.Sqrt(r.vari) / n
		sh := share{Address: a, Stake: r.stake, Expected: r.exp / n, Wins: r.wins, Observed: float64(r.wins) / n}
		sh.Low, sh.High = max(0, sh.Expected-2*sigma), min(1, sh.Expected+2*sigma)
		sh.OutsideTheBand = sh.Observed < sh.Low || sh.Observed > sh.High
		f.Rows = append(f.Rows, sh)
		if r.exp > 0 {
			d := float64(r.wins) - r.exp
			f.Chi2 += d * d / r.exp
			f.DF++
		}
	}
	slices.SortFunc(f.Rows, func(x, y share) int { return bytes.Compare(x.Address[:], y.Address[:]) })
	f.DF = max(f.DF-1, 0)
	f.P = chi2Survival(f.Chi2, f.DF)
	return f
}

// tableOf returns the table whose epoch holds slot, or nil.
func tableOf(tables []view.EpochTable, slot uint64) *view.EpochTable {
	for i := range tables {
		if tables[i].FirstSlot <= slot && slot <= tables[i].LastSlot {
			return &tables[i]
		}
	}
	return nil
}

func tableTotal(t *view.EpochTable) uint64 {
	var total uint64
	if t != nil {
		for _, v := range t.Validators {
			total += v.Stake
		}
	}
	return total
}

// slotsOf returns the slots of blocks, for StakeTables.
func slotsOf(blocks []view.Block) []uint64 {
	out := make([]uint64, 0, len(blocks))
	for _, b := range blocks {
		out = append(out, b.Slot)
	}
	return out
}

// chi2Survival is P(X ≥ x) for X χ²-distributed with df degrees of freedom (1 for df ≤ 0 or x ≤ 0).
func chi2Survival(x float64, df int) float64 {
	if df <= 0 || x <= 0 {
		return 1
	}
	return distuv.ChiSquared{K: float64(df)}.Survival(x)
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
