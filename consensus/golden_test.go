package consensus

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/posnode/posnode/chain"
)

// update rewrites the golden files: go test ./consensus -run Golden -update
var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

type seedVector struct {
	Parent chain.Hash `json:"parent"`
	Slot   chain.Slot `json:"slot"`
	Seed   chain.Hash `json:"seed"`
}

type lotteryTable struct {
	Name   string        `json:"name"`
	Total  chain.Amount  `json:"total"`
	Stakes []chain.Stake `json:"stakes"` // input of NewTable, sorted by address
	Picks  []pickVector  `json:"picks"`
}

type pickVector struct {
	Parent chain.Hash    `json:"parent"`
	Slot   chain.Slot    `json:"slot"`
	Seed   chain.Hash    `json:"seed"`
	Draw   uint64        `json:"draw"` // r in [0, total)
	Winner chain.Address `json:"winner"`
}

// goldenParents and goldenSlots are the (parent, slot) pairs drawn for every table.
var (
	goldenParents = func() []chain.Hash {
		ps := []chain.Hash{{}}
		for i := 1; i < 8; i++ {
			ps = append(ps, sha256.Sum256(fmt.Appendf(nil, "parent-%d", i)))
		}
		return ps
	}()
	goldenSlots = []chain.Slot{0, 1, 2, 3, 10, 1000, 1 << 32, math.MaxUint64}
)

// pseudoRandomStakes returns n validators with stakes 1 + (u64 of SHA-256("stake-i")) mod 10^6.
func pseudoRandomStakes(n int) []chain.Stake {
	amounts := make([]chain.Amount, n)
	for i := range amounts {
		sum := sha256.Sum256(fmt.Appendf(nil, "stake-%d", i))
		amounts[i] = 1 + chain.Amount(binary.BigEndian.Uint64(sum[:8])%1_000_000)
	}
	return sortedStakes(amounts...)
}

func goldenLottery(t *testing.T) []lotteryTable {
	tables := []lotteryTable{
		{Name: "stakes 10, 20, 30, 40", Stakes: sortedStakes(10, 20, 30, 40)},
		{Name: "single validator", Stakes: sortedStakes(1000)},
		{Name: "total 2^63+1: about half the candidates rejected", Stakes: sortedStakes(1<<62, 1<<62+1)},
		{Name: "1000 validators, stakes 1 + u64(SHA-256(\"stake-i\")) mod 1000000", Stakes: pseudoRandomStakes(1000)},
	}
	for i := range tables {
		tab := mustTable(t, tables[i].Stakes)
		tables[i].Total = tab.Total()
		for _, parent := range goldenParents {
			for _, slot := range goldenSlots {
				seed := Seed(parent, slot)
				winner, ok := Leader(tables[i].Stakes, parent, slot)
				if !ok {
					t.Fatalf("%s: no leader", tables[i].Name)
				}
				tables[i].Picks = append(tables[i].Picks, pickVector{
					Parent: parent, Slot: slot, Seed: seed, Draw: draw(seed, uint64(tab.Total())), Winner: winner,
				})
			}
		}
	}
	return tables
}

func goldenSeeds() []seedVector {
	var ff chain.Hash
	for i := range ff {
		ff[i] = 0xff
	}
	var vs []seedVector
	for _, parent := range []chain.Hash{{}, ff, chain.HashBytes([]byte("genesis"))} {
		for _, slot := range []chain.Slot{0, 1, 255, 256, 1 << 32, math.MaxUint64} {
			vs = append(vs, seedVector{Parent: parent, Slot: slot, Seed: Seed(parent, slot)})
		}
	}
	return vs
}

// TestSeedGolden pins Seed (PROTOCOL.md §6) to testdata/seed.json.
func TestSeedGolden(t *testing.T) {
	got := goldenSeeds()
	var want []seedVector
	if !golden(t, "seed.json", got, &want) {
		return
	}
	if len(got) != len(want) {
		t.Fatalf("seed.json: got %d vectors, want %d", len(got), len(want))
	}
	for i := range got {
		if got[i] != want[i] {
			t.Fatalf("seed.json vector %d: got %+v, want %+v", i, got[i], want[i])
		}
	}
}

// TestLotteryGolden pins the lottery (PROTOCOL.md §6) to testdata/lottery.json.
func TestLotteryGolden(t *testing.T) {
	got := goldenLottery(t)
	var want []lotteryTable
	if !golden(t, "lottery.json", got, &want) {
		return
	}
	if len(got) != len(want) {
		t.Fatalf("lottery.json: got %d tables, want %d", len(got), len(want))
	}
	for i, g := range got {
		w := want[i]
		if g.Name != w.Name || g.Total != w.Total || !slices.Equal(g.Stakes, w.Stakes) || len(g.Picks) != len(w.Picks) {
			t.Fatalf("lottery.json table %d %q: inputs differ (total got %d, want %d; %d picks, want %d)",
				i, w.Name, g.Total, w.Total, len(g.Picks), len(w.Picks))
		}
		for j := range g.Picks {
			if g.Picks[j] != w.Picks[j] {
				t.Fatalf("lottery.json table %q vector %d (parent %s, slot %d):\n got  seed %s draw %d winner %s\n want seed %s draw %d winner %s",
					w.Name, j, w.Picks[j].Parent, w.Picks[j].Slot,
					g.Picks[j].Seed, g.Picks[j].Draw, g.Picks[j].Winner, w.Picks[j].Seed, w.Picks[j].Draw, w.Picks[j].Winner)
			}
		}
	}
}

// golden writes got to testdata/name when -update is set and reports false; otherwise it decodes
// the file into want and reports true.
func golden(t *testing.T, name string, got, want any) bool {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		b, err := json.MarshalIndent(got, "", "  ")
		if err != nil {
			t.Fatalf("encode %s: %v", path, err)
		}
		if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
			t.Fatalf("write %s: %v", path, err)
		}
		t.Logf("rewrote %s", path)
		return false
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read golden file (create it with go test ./consensus -run Golden -update): %v", err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(want); err != nil {
		t.Fatalf("decode %s: %v", path, err)
	}
	return true
}
