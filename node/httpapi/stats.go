package httpapi

import (
	"bytes"
	"context"
	"errors"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/posnode/posnode/chain"
	"github.com/posnode/posnode/node/view"
	"gonum.org/v1/gonum/stat/distuv"
)

// fairness compares each validator's expected share of the slots of a window with the share it led. Each slot,
// filled or missed, is one draw of the lottery under the stake table of its own epoch, where a validator wins
// with p = stake / total (PROTOCOL.md §6); a validator's wins are the slots whose leader it is, whether or not it
// proposed there. So its expected wins are the sum of its p over the window's slots, not the current table's p
// times the slots (a stake change within the window moves the expectation with it), and validators that are
// offline cannot make an online one look lucky: their slots are missed, not won by another. It is for people;
// no rule uses it.
type fairness struct {
	Slots  int     // slots in the window that were weighed: passed, with a known leader
	Tables int     // distinct stake tables (epochs) the window's slots were drawn under
	Rows   []share // one per validator in any of those tables, by address
	Chi2   float64 // Pearson's χ² of the wins against the expected wins
	DF     int     // degrees of freedom: validators with expected wins - 1
	P      float64 // probability of a χ² at least this large if the lottery is fair
}

type share struct {
	Address        chain.Address
	Stake          uint64  // in the newest table that holds it
	Expected       float64 // expected share of the window's slots: the mean of its stake shares, 0..1
	Wins           int     // slots of the window it led, filled or missed
	Observed       float64 // share of the window's slots led, 0..1
	Low, High      float64 // expected ± 2σ of the share led (a sum of the slots' draws), clamped to 0..1
	OutsideTheBand bool
}

// measureFairness weighs the leaders of slots against the stake tables of their epochs (tables, oldest first).
// A slot that has not passed, has no known leader (the genesis's slot 0 has none), or whose slot no table covers
// is not weighed.
func measureFairness(tables []view.EpochTable, slots []view.Slot) fairness {
	type tally struct {
		stake     uint64
		exp, vari float64 // Σ p and Σ p(1-p) over the weighed slots
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
	for _, sl := range slots {
		t := tableOf(tables, sl.Slot)
		total := tableTotal(t)
		if sl.State == view.SlotUpcoming || sl.Leader.IsZero() || total == 0 {
			continue
		}
		if t != last {
			f.Tables, last = f.Tables+1, t
		}
		f.Slots++
		for _, v := range t.Validators {
			p := float64(v.Stake) / float64(total)
			r := row(v.Address)
			r.stake, r.exp, r.vari = v.Stake, r.exp+p, r.vari+p*(1-p)
		}
		row(sl.Leader).wins++
	}
	if f.Slots == 0 {
		return f
	}
	n := float64(f.Slots)
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

// fairnessSlots returns the last fairnessWindow slots before the current one (slot 0, the genesis, excluded),
// oldest first, with their stake tables: the window the stake panel weighs. It reads the read index
// (Backend.Slots, Backend.StakeTables), never the event loop's state. An epoch longer than one Slots answer gives
// no slots (and no error), as the slot grid does.
func fairnessSlots(ctx context.Context, b Backend, st view.Status) ([]view.Slot, []view.EpochTable, error) {
	first := max(st.Slot, fairnessWindow+1) - fairnessWindow
	out, err := b.Slots(ctx, st.Epoch, st.Epoch)
	for e := st.Epoch; err == nil && len(out) > 0 && out[0].Slot > first && e > 0; {
		length := max(uint64(len(out)), 1) // every epoch is as long
		k := min((out[0].Slot-first+length-1)/length, e, max(maxSlotsAnswer/length, 1))
		var older []view.Slot
		older, err = b.Slots(ctx, e-k, e-1)
		out, e = append(older, out...), e-k
	}
	if errors.Is(err, view.ErrBadInput) {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, err
	}
	out = slices.DeleteFunc(out, func(sl view.Slot) bool { return sl.Slot < first || sl.Slot >= st.Slot })
	tables, err := b.StakeTables(ctx, epochSlots(out))
	return out, tables, err
}

// maxSlotsAnswer is the most slots one Backend.Slots answer holds (node.MaxGridSlots).
const maxSlotsAnswer = 512

// epochSlots returns the first slot of each epoch of slots, for StakeTables.
func epochSlots(slots []view.Slot) []uint64 {
	var out []uint64
	for i, sl := range slots {
		if i == 0 || sl.Epoch != slots[i-1].Epoch {
			out = append(out, sl.Slot)
		}
	}
	return out
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
