package consensus

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"testing"

	"github.com/posnode/posnode/chain"
)

// branchHash names the checkpoint block of epoch e on branch b of the property test's fork.
func branchHash(b int, e chain.Epoch) chain.Hash {
	return chain.HashBytes(fmt.Appendf(nil, "branch-%d-epoch-%d", b, e))
}

// forkRun is one generated history: validators with random stakes, two branches that fork after genesis, and
// every vote each validator signed, fed epoch by epoch to each branch's chain.Finality under FFGRules.
type forkRun struct {
	stakes []chain.Stake
	state  *chain.State // genesis state: the stake table of every epoch
	fin    [2]*chain.Finality
	signed map[chain.Address][]chain.Vote
}

func newForkRun(rng *rand.Rand, n int) *forkRun {
	g := &chain.Genesis{ChainID: "ffg-property", SlotDuration: chain.Duration(1e9), EpochLength: 4, MinStake: 1}
	for i := range n {
		var a chain.Address
		a[0], a[1] = byte(i+1), 0x5a
		g.Allocations = append(g.Allocations, chain.Allocation{Address: a, Stake: chain.Amount(1 + rng.IntN(100))})
	}
	st := g.State()
	r := &forkRun{stakes: st.Validators(0), state: st, signed: map[chain.Address][]chain.Vote{}}
	for b := range r.fin {
		r.fin[b] = chain.GenesisFinality(g.Hash(), st.Validators(0))
	}
	return r
}

// vote is validator a's vote on branch b for epoch e, from the branch's justified checkpoint or, when surround
// is set, from an older justified one the vote then surrounds.
func (r *forkRun) vote(a chain.Address, b int, e chain.Epoch, older bool) chain.Vote {
	src := r.fin[b].Justified
	if older && src.Epoch > 0 {
		src = r.fin[b].Finalized
	}
	v := chain.Vote{Validator: a, Source: src, Target: chain.Checkpoint{Epoch: e, Hash: branchHash(b, e)}}
	r.signed[a] = append(r.signed[a], v)
	return v
}

// epoch lets every validator vote for epoch e: honest ones on their branch, Byzantine ones on both, sometimes
// from an older source.
func (r *forkRun) epoch(t *testing.T, rng *rand.Rand, e chain.Epoch, side map[chain.Address]int, byz map[chain.Address]bool) {
	var votes [2][]chain.Vote
	for _, s := range r.stakes {
		for b := range 2 {
			if byz[s.Addr] || side[s.Addr] == b {
				votes[b] = append(votes[b], r.vote(s.Addr, b, e, byz[s.Addr] && rng.IntN(3) == 0))
			}
		}
	}
	for b := range 2 {
		next, err := r.fin[b].Next(e, branchHash(b, e), r.state, nil, votes[b], FFGRules())
		if err != nil {
			t.Fatalf("branch %d epoch %d: %v", b, e, err)
		}
		r.fin[b] = next
	}
}

// slashableStake sums the stake of validators that signed at least one slashable pair.
func (r *forkRun) slashableStake() chain.Amount {
	var total chain.Amount
	for _, s := range r.stakes {
		vs := r.signed[s.Addr]
	pairs:
		for i := range vs {
			for j := i + 1; j < len(vs); j++ {
				if chain.Slashable(vs[i], vs[j]) {
					total += s.Amount
					break pairs
				}
			}
		}
	}
	return total
}

// TestAccountableSafety: on generated histories of two branches, two conflicting finalized checkpoints only ever
// appear when validators holding at least a third of the stake signed slashable pairs (PROTOCOL.md §8a, the
// Gasper paper's accountable safety).
func TestAccountableSafety(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 9))
	conflicts := 0
	const trials = 3000
	for trial := range trials {
		r := newForkRun(rng, 3+rng.IntN(6))
		side, byz := map[chain.Address]int{}, map[chain.Address]bool{}
		for _, s := range r.stakes {
			side[s.Addr] = rng.IntN(2)
			byz[s.Addr] = rng.IntN(100) < 35
		}
		for e := chain.Epoch(1); e <= 6; e++ {
			r.epoch(t, rng, e, side, byz)
		}
		fa, fb := r.fin[0].Finalized, r.fin[1].Finalized
		if fa.Epoch == 0 || fb.Epoch == 0 { // genesis is common to both: no conflict
			continue
		}
		conflicts++
		var total chain.Amount
		for _, s := range r.stakes {
			total += s.Amount
		}
		if got := r.slashableStake(); 3*uint64(got) < uint64(total) {
			t.Fatalf("trial %d: branches finalized %s and %s with only %d of %d stake slashable", trial, fa, fb, got, total)
		}
	}
	t.Logf("%d of %d histories finalized conflicting checkpoints; in every one ≥ 1/3 of the stake was slashable", conflicts, trials)
	if conflicts == 0 {
		t.Fatal("no history finalized conflicting checkpoints: the generator does not exercise the property")
	}
}

// ffgStep is the golden record of one epoch of a generated fork: each branch's justified and finalized
// checkpoints after it.
type ffgStep struct {
	Epoch     chain.Epoch         `json:"epoch"`
	Justified [2]chain.Checkpoint `json:"justified"`
	Finalized [2]chain.Checkpoint `json:"finalized"`
}

// TestGoldenFFG pins justification and finalization over 12 epochs of 5 fixed histories (seeded generator,
// honest and Byzantine validators on two branches). Any change to the FFG rules or to chain.Finality's
// bookkeeping changes a vector; regenerate deliberately with -update.
func TestGoldenFFG(t *testing.T) {
	const path = "testdata/ffg.json"
	var got [][]ffgStep
	for h := range 5 {
		rng := rand.New(rand.NewPCG(uint64(h), 42))
		r := newForkRun(rng, 4+h)
		side, byz := map[chain.Address]int{}, map[chain.Address]bool{}
		for i, s := range r.stakes {
			side[s.Addr], byz[s.Addr] = i%2, i < h // history h has h Byzantine validators
		}
		var steps []ffgStep
		for e := chain.Epoch(1); e <= 12; e++ {
			r.epoch(t, rng, e, side, byz)
			steps = append(steps, ffgStep{Epoch: e,
				Justified: [2]chain.Checkpoint{r.fin[0].Justified, r.fin[1].Justified},
				Finalized: [2]chain.Checkpoint{r.fin[0].Finalized, r.fin[1].Finalized}})
		}
		got = append(got, steps)
	}
	data, err := json.MarshalIndent(got, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	if *update {
		if err := os.WriteFile(path, append(data, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (generate with -update)", err)
	}
	if !bytes.Equal(bytes.TrimSpace(want), data) {
		var w [][]ffgStep
		if err := json.Unmarshal(want, &w); err != nil {
			t.Fatal(err)
		}
		for h := range got {
			for i := range got[h] {
				if h >= len(w) || i >= len(w[h]) || w[h][i] != got[h][i] {
					t.Fatalf("history %d epoch %d CHANGED: got %+v", h, got[h][i].Epoch, got[h][i])
				}
			}
		}
	}
}
