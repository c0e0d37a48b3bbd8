package consensus

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/big"
	"math/rand/v2"
	"slices"
	"sort"
	"testing"

	"github.com/posnode/posnode/chain"
)

// validatorAddr returns the address of the ed25519 key whose seed is SHA-256("validator-i").
func validatorAddr(i int) chain.Address {
	seed := sha256.Sum256(fmt.Appendf(nil, "validator-%d", i))
	return chain.AddressOf(ed25519.NewKeyFromSeed(seed[:]).Public().(ed25519.PublicKey))
}

// hashAddr returns a pseudo-random address that is not a key; enough for the lottery, and fast.
func hashAddr(i int) chain.Address {
	return chain.Address(sha256.Sum256(fmt.Appendf(nil, "address-%d", i)))
}

// sortedStakes returns validatorAddr(0…) with the given stakes, sorted by address.
func sortedStakes(amounts ...chain.Amount) []chain.Stake {
	s := make([]chain.Stake, len(amounts))
	for i, a := range amounts {
		s[i] = chain.Stake{Addr: validatorAddr(i), Amount: a}
	}
	slices.SortFunc(s, compareStakes)
	return s
}

func TestNewTable(t *testing.T) {
	a, b, c := validatorAddr(0), validatorAddr(1), validatorAddr(2)
	tests := []struct {
		name    string
		in      []chain.Stake
		wantErr error
		want    []chain.Stake // sorted by address
		total   chain.Amount
	}{
		{"nil", nil, nil, []chain.Stake{}, 0},
		{"only zero stakes", []chain.Stake{st(a, 0), st(b, 0)}, nil, []chain.Stake{}, 0},
		{"single", []chain.Stake{st(a, 7)}, nil, []chain.Stake{st(a, 7)}, 7},
		{"unsorted is sorted", []chain.Stake{st(c, 3), st(a, 1), st(b, 2)}, nil, sortedStakesOf([]chain.Stake{st(a, 1), st(b, 2), st(c, 3)}), 6},
		{"zero stake dropped", []chain.Stake{st(a, 1), st(b, 0), st(c, 3)}, nil, sortedStakesOf([]chain.Stake{st(a, 1), st(c, 3)}), 4},
		{"total may be 2^64-1", []chain.Stake{st(a, math.MaxUint64-1), st(b, 1)}, nil, sortedStakesOf([]chain.Stake{st(a, math.MaxUint64-1), st(b, 1)}), math.MaxUint64},
		{"duplicate", []chain.Stake{st(a, 1), st(b, 2), st(a, 3)}, ErrDuplicateValidator, nil, 0},
		{"duplicate adjacent", []chain.Stake{st(a, 1), st(a, 1)}, ErrDuplicateValidator, nil, 0},
		{"duplicate with zero stake is dropped", []chain.Stake{st(a, 1), st(a, 0)}, nil, []chain.Stake{st(a, 1)}, 1},
		{"overflow", []chain.Stake{st(a, math.MaxUint64), st(b, 1)}, ErrStakeOverflow, nil, 0},
		{"overflow of three", []chain.Stake{st(a, 1<<63), st(b, 1<<62), st(c, 1<<62)}, ErrStakeOverflow, nil, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := slices.Clone(tt.in)
			tab, err := NewTable(tt.in)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("NewTable error = %v, want %v", err, tt.wantErr)
			}
			if !slices.Equal(in, tt.in) {
				t.Errorf("NewTable modified its input: got %v, want %v", tt.in, in)
			}
			if err != nil {
				if tab.Len() != 0 {
					t.Errorf("Len() after error = %d, want 0", tab.Len())
				}
				return
			}
			if got := tab.Validators(); !slices.Equal(got, tt.want) {
				t.Errorf("Validators() = %v, want %v", got, tt.want)
			}
			if got := tab.Len(); got != len(tt.want) {
				t.Errorf("Len() = %d, want %d", got, len(tt.want))
			}
			if got := tab.Total(); got != tt.total {
				t.Errorf("Total() = %d, want %d", got, tt.total)
			}
		})
	}
}

func st(a chain.Address, amount chain.Amount) chain.Stake {
	return chain.Stake{Addr: a, Amount: amount}
}

func sortedStakesOf(s []chain.Stake) []chain.Stake {
	s = slices.Clone(s)
	slices.SortFunc(s, compareStakes)
	return s
}

func TestEmptyTable(t *testing.T) {
	for i, tab := range []Table{{}, mustTable(t, nil)} {
		if got, ok := tab.Pick(chain.Hash{1}); ok {
			t.Errorf("empty table %d: Pick = %v, true; want false", i, got)
		}
	}
	if got, ok := Leader(nil, chain.Hash{}, 1); ok {
		t.Errorf("Leader(nil) = %v, true; want false", got)
	}
	dup := []chain.Stake{st(validatorAddr(0), 1), st(validatorAddr(0), 1)}
	if got, ok := Leader(dup, chain.Hash{}, 1); ok {
		t.Errorf("Leader(duplicate table) = %v, true; want false", got)
	}
}

func mustTable(t testing.TB, stakes []chain.Stake) Table {
	t.Helper()
	tab, err := NewTable(stakes)
	if err != nil {
		t.Fatalf("NewTable: %v", err)
	}
	return tab
}

// TestAcceptMax checks the rejection bound against total·floor(2^64/total) − 1 computed with big integers.
func TestAcceptMax(t *testing.T) {
	totals := []uint64{1, 2, 3, 10, 100, 1 << 32, 1<<63 - 1, 1 << 63, 1<<63 + 1, math.MaxUint64 - 1, math.MaxUint64}
	rng := rand.New(rand.NewPCG(7, 7))
	for range 1000 {
		totals = append(totals, rng.Uint64()>>rng.UintN(64)|1)
	}
	for _, total := range totals {
		if got, want := acceptMax(total), naiveAcceptMax(total); got != want {
			t.Errorf("acceptMax(%d) = %d, want %d", total, got, want)
		}
	}
}

var twoTo64 = new(big.Int).Lsh(big.NewInt(1), 64)

// naiveAcceptMax returns total·floor(2^64/total) − 1 computed with big integers.
func naiveAcceptMax(total uint64) uint64 {
	t := new(big.Int).SetUint64(total)
	limit := new(big.Int).Mul(t, new(big.Int).Quo(twoTo64, t))
	return limit.Sub(limit, big.NewInt(1)).Uint64()
}

// naivePick is the lottery written the slow, obvious way: big-integer rejection bound, then a
// linear walk over the stakes sorted by address (PROTOCOL.md §6). It also returns how many
// candidates the draw rejected.
func naivePick(stakes []chain.Stake, seed chain.Hash) (winner chain.Address, ok bool, rejected int) {
	var sorted []chain.Stake
	var total uint64
	for _, s := range stakes {
		if s.Amount > 0 {
			sorted = append(sorted, s)
			total += uint64(s.Amount)
		}
	}
	if total == 0 {
		return chain.Address{}, false, 0
	}
	sort.Slice(sorted, func(i, j int) bool { return bytes.Compare(sorted[i].Addr[:], sorted[j].Addr[:]) < 0 })
	limit := new(big.Int).Add(new(big.Int).SetUint64(naiveAcceptMax(total)), big.NewInt(1))
	var r uint64
	for ctr := uint64(0); ; ctr++ {
		msg := append(slices.Clone(seed[:]), binary.BigEndian.AppendUint64(nil, ctr)...)
		sum := sha256.Sum256(msg)
		x := binary.BigEndian.Uint64(sum[:8])
		if new(big.Int).SetUint64(x).Cmp(limit) < 0 {
			r = x % total
			break
		}
		rejected++
	}
	var acc uint64
	for _, s := range sorted {
		acc += uint64(s.Amount)
		if acc > r {
			return s.Addr, true, rejected
		}
	}
	panic("naivePick: walked past the total")
}

// randomStakes returns n shuffled stakes, some zero, with magnitudes from tiny to near the
// uint64 limit so that the rejection path is exercised too.
func randomStakes(rng *rand.Rand, n int) []chain.Stake {
	maxEach := uint64(math.MaxUint64) / uint64(n)
	scale := []uint64{1, 10, 1000, 1 << 40, maxEach}[rng.IntN(5)]
	scale = min(scale, maxEach)
	s := make([]chain.Stake, n)
	for i := range s {
		var a chain.Address
		for j := 0; j < len(a); j += 8 {
			binary.LittleEndian.PutUint64(a[j:], rng.Uint64())
		}
		if rng.IntN(8) == 0 {
			a[0] = 0 // share leading bytes sometimes
		}
		amount := rng.Uint64N(scale) + 1
		if rng.IntN(10) == 0 {
			amount = 0
		}
		s[i] = chain.Stake{Addr: a, Amount: chain.Amount(amount)}
	}
	return s
}

// TestPickMatchesNaive checks Pick against naivePick on many random tables and seeds.
func TestPickMatchesNaive(t *testing.T) {
	rng := rand.New(rand.NewPCG(2026, 6))
	picks, rejected := 0, 0
	for tableNo := range 300 {
		stakes := randomStakes(rng, 1+rng.IntN(40))
		tab := mustTable(t, stakes)
		for range 100 {
			var seed chain.Hash
			for j := 0; j < len(seed); j += 8 {
				binary.LittleEndian.PutUint64(seed[j:], rng.Uint64())
			}
			got, gotOK := tab.Pick(seed)
			want, wantOK, rej := naivePick(stakes, seed)
			rejected += rej
			if got != want || gotOK != wantOK {
				t.Fatalf("table %d (%d validators, total %d), seed %s: Pick = %s, %v; want %s, %v",
					tableNo, tab.Len(), tab.Total(), seed, got, gotOK, want, wantOK)
			}
			picks++
		}
	}
	t.Logf("%d picks agree; the draws rejected %d candidates", picks, rejected)
	if rejected == 0 {
		t.Errorf("no draw rejected a candidate: the rejection path went untested")
	}
}

// TestLeaderIsPickOfSeed checks that Leader is Pick of Seed and ignores the input order.
func TestLeaderIsPickOfSeed(t *testing.T) {
	stakes := sortedStakes(5, 0, 9, 1, 30)
	reversed := slices.Clone(stakes)
	slices.Reverse(reversed)
	tab := mustTable(t, stakes)
	for slot := chain.Slot(0); slot < 200; slot++ {
		parent := chain.HashBytes([]byte("leader"), []byte{byte(slot % 3)})
		want, _ := tab.Pick(Seed(parent, slot))
		for _, in := range [][]chain.Stake{stakes, reversed} {
			if got, ok := Leader(in, parent, slot); !ok || got != want {
				t.Fatalf("slot %d: Leader = %s, %v; want %s, true", slot, got, ok, want)
			}
		}
	}
}

// TestFairness draws 100,000 slots from stakes {10, 20, 30, 40} plus a zero stake and checks the
// win counts with a chi-square test (3 degrees of freedom, p > 0.001). The seeds are fixed, so
// the outcome is deterministic.
func TestFairness(t *testing.T) {
	const slots = 100_000
	const critical = 16.266 // χ² with 3 degrees of freedom at p = 0.001
	amounts := []chain.Amount{10, 20, 30, 40}
	stakes := make([]chain.Stake, 0, len(amounts)+1)
	for i, a := range amounts {
		stakes = append(stakes, chain.Stake{Addr: validatorAddr(i), Amount: a})
	}
	idle := validatorAddr(len(amounts))
	stakes = append(stakes, chain.Stake{Addr: idle, Amount: 0})
	parent := chain.HashBytes([]byte("posnode fairness test"))

	wins := make(map[chain.Address]int)
	for slot := chain.Slot(1); slot <= slots; slot++ {
		w, ok := Leader(stakes, parent, slot)
		if !ok {
			t.Fatalf("slot %d: no leader", slot)
		}
		wins[w]++
	}
	if n := wins[idle]; n != 0 {
		t.Errorf("validator with zero stake won %d slots, want 0", n)
	}
	var chi2 float64
	counts := make([]int, len(amounts))
	for i, a := range amounts {
		counts[i] = wins[validatorAddr(i)]
		expected := float64(slots) * float64(a) / 100
		d := float64(counts[i]) - expected
		chi2 += d * d / expected
	}
	t.Logf("wins for stakes %v: %v; χ² = %.3f (critical %.3f)", amounts, counts, chi2, critical)
	if chi2 >= critical {
		t.Errorf("χ² = %.3f, want < %.3f (counts %v)", chi2, critical, counts)
	}
}
