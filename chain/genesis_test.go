package chain

import (
	"errors"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestGenesisSeedRuleHash: an absent seed rule is randao, and the rule is part of the chain id.
func TestGenesisSeedRuleHash(t *testing.T) {
	g := testGenesis()
	absent := g.Hash()
	g.SeedRule = SeedRANDAO
	if got := g.Hash(); got != absent {
		t.Errorf("explicit randao: got hash %s, want the absent rule's %s", got.Short(), absent.Short())
	}
	g.SeedRule = SeedParentHash
	if got := g.Hash(); got == absent {
		t.Error("parent-hash: got the randao hash, want another chain id")
	}
}

func TestGenesisValidate(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*Genesis)
		ok     bool
	}{
		{"valid", func(*Genesis) {}, true},
		{"slot 10ms", func(g *Genesis) { g.SlotDuration = Duration(10 * time.Millisecond) }, true},
		{"only one staker", func(g *Genesis) { g.Allocations = g.Allocations[:1] }, true},
		{"zero min stake", func(g *Genesis) { g.MinStake = 0 }, true},
		{"seed rule randao", func(g *Genesis) { g.SeedRule = SeedRANDAO }, true},
		{"seed rule parent-hash", func(g *Genesis) { g.SeedRule = SeedParentHash }, true},
		{"seed rule unknown", func(g *Genesis) { g.SeedRule = "coin-flip" }, false},
		{"empty chain id", func(g *Genesis) { g.ChainID = "" }, false},
		{"slot 9ms", func(g *Genesis) { g.SlotDuration = Duration(9 * time.Millisecond) }, false},
		{"negative slot", func(g *Genesis) { g.SlotDuration = Duration(-time.Second) }, false},
		{"epoch 0", func(g *Genesis) { g.EpochLength = 0 }, false},
		{"duplicate address", func(g *Genesis) { g.Allocations[1].Address = g.Allocations[0].Address }, false},
		{"zero address", func(g *Genesis) { g.Allocations[2].Address = Address{} }, false},
		{"no allocations", func(g *Genesis) { g.Allocations = nil }, false},
		{"all stakes below min", func(g *Genesis) { g.MinStake = 1001 }, false},
		{"zero stakes with zero min", func(g *Genesis) {
			g.MinStake = 0
			for i := range g.Allocations {
				g.Allocations[i].Stake = 0
			}
		}, false},
		{"supply overflows", func(g *Genesis) { g.Allocations[0].Balance = math.MaxUint64 - 100 }, false},
		{"one account overflows", func(g *Genesis) {
			g.Allocations = g.Allocations[:1]
			g.Allocations[0].Balance = math.MaxUint64
		}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := testGenesis()
			tt.mutate(g)
			err := g.Validate()
			if tt.ok && err != nil {
				t.Errorf("got %v, want nil", err)
			}
			if !tt.ok && !errors.Is(err, ErrBadGenesis) {
				t.Errorf("got %v, want ErrBadGenesis", err)
			}
		})
	}
}

func TestGenesisHashCoversEveryField(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*Genesis)
	}{
		{"chain id", func(g *Genesis) { g.ChainID += "x" }},
		{"time", func(g *Genesis) { g.Time = g.Time.Add(time.Millisecond) }},
		{"slot duration", func(g *Genesis) { g.SlotDuration++ }},
		{"epoch length", func(g *Genesis) { g.EpochLength++ }},
		{"block reward", func(g *Genesis) { g.BlockReward++ }},
		{"min stake", func(g *Genesis) { g.MinStake++ }},
		{"tx fee", func(g *Genesis) { g.TxFee++ }},
		{"balance", func(g *Genesis) { g.Allocations[0].Balance++ }},
		{"stake", func(g *Genesis) { g.Allocations[0].Stake++ }},
		{"address", func(g *Genesis) { g.Allocations[0].Address = testAddr(8) }},
		{"allocation dropped", func(g *Genesis) { g.Allocations = g.Allocations[1:] }},
	}
	seen := map[Hash]string{testGenesis().Hash(): "base"}
	for _, tt := range tests {
		g := testGenesis()
		tt.mutate(g)
		h := g.Hash()
		if prev, dup := seen[h]; dup {
			t.Errorf("%s: hash equals that of %s", tt.name, prev)
		}
		seen[h] = tt.name
	}
}

func TestGenesisHashCanonical(t *testing.T) {
	g := testGenesis()
	want := g.Hash()
	r := testGenesis()
	slices.Reverse(r.Allocations)
	if got := r.Hash(); got != want {
		t.Errorf("reordered allocations: got %s, want %s", got, want)
	}
	if g.Allocations[0].Address != testAddr(0) {
		t.Errorf("Hash reordered the caller's allocations")
	}
	z := testGenesis()
	z.Time = z.Time.Add(999 * time.Microsecond).In(time.FixedZone("x", 3600))
	if got := z.Hash(); got != want {
		t.Errorf("sub-millisecond time or zone: got %s, want %s", got, want)
	}
}

func TestGenesisSaveLoad(t *testing.T) {
	g := testGenesis()
	g.SlotDuration = Duration(250 * time.Millisecond)
	path := filepath.Join(t.TempDir(), "genesis.json")
	if err := g.Save(path); err != nil {
		t.Fatalf("Save: %v", err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"slot_duration": "250ms"`, `"genesis_time": "2025-01-02T03:04:05Z"`, "\n  \"chain_id\"", `"address": "12D3KooW`} {
		if !strings.Contains(string(data), want) {
			t.Errorf("saved file lacks %s:\n%s", want, data)
		}
	}
	got, err := LoadGenesis(path)
	if err != nil {
		t.Fatalf("LoadGenesis: %v", err)
	}
	if got.Hash() != g.Hash() || !got.Time.Equal(g.Time) || got.SlotDuration != g.SlotDuration {
		t.Errorf("got %+v, want %+v", got, g)
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Errorf("got %d files in the directory, want only genesis.json", len(entries))
	}
}

func TestGenesisSaveInvalid(t *testing.T) {
	g := testGenesis()
	g.EpochLength = 0
	path := filepath.Join(t.TempDir(), "genesis.json")
	if err := g.Save(path); !errors.Is(err, ErrBadGenesis) {
		t.Errorf("got %v, want ErrBadGenesis", err)
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Errorf("an invalid genesis was written")
	}
}

func TestLoadGenesisErrors(t *testing.T) {
	valid := `{"chain_id":"x","genesis_time":"2025-01-01T00:00:00Z","slot_duration":"1s","epoch_length":10,
		"block_reward":1,"min_stake":1,"tx_fee":1,"allocations":[{"address":"` + testAddr(0).String() + `","balance":5,"stake":5}]}`
	tests := []struct {
		name string
		json string
		want error
	}{
		{"valid", valid, nil},
		{"unknown field", strings.Replace(valid, `"tx_fee"`, `"txfee"`, 1), ErrBadGenesis},
		{"trailing data", valid + "{}", ErrBadGenesis},
		{"numeric duration", strings.Replace(valid, `"1s"`, `1000`, 1), ErrBadGenesis},
		{"bad duration", strings.Replace(valid, `"1s"`, `"1 sec"`, 1), ErrBadGenesis},
		{"bad address", strings.Replace(valid, testAddr(0).String(), "12D3KooWnope", 1), ErrBadAddress},
		{"bad time", strings.Replace(valid, `2025-01-01T00:00:00Z`, `yesterday`, 1), ErrBadGenesis},
		{"invalid", strings.Replace(valid, `"epoch_length":10`, `"epoch_length":0`, 1), ErrBadGenesis},
		{"negative amount", strings.Replace(valid, `"balance":5`, `"balance":-5`, 1), ErrBadGenesis},
		{"not json", "chain_id = x", ErrBadGenesis},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "genesis.json")
			if err := os.WriteFile(path, []byte(tt.json), 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := LoadGenesis(path)
			if tt.want == nil && err != nil || tt.want != nil && !errors.Is(err, tt.want) {
				t.Errorf("got %v, want %v", err, tt.want)
			}
		})
	}
	if _, err := LoadGenesis(filepath.Join(t.TempDir(), "missing.json")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: got %v, want os.ErrNotExist", err)
	}
}

func TestEpochOf(t *testing.T) {
	g := testGenesis() // 10 slots per epoch
	tests := []struct {
		slot Slot
		want Epoch
	}{{0, 0}, {9, 0}, {10, 1}, {19, 1}, {20, 2}, {math.MaxUint64, math.MaxUint64 / 10}}
	for _, tt := range tests {
		if got := g.EpochOf(tt.slot); got != tt.want {
			t.Errorf("EpochOf(%d): got %d, want %d", tt.slot, got, tt.want)
		}
	}
	g.EpochLength = 0
	if got := g.EpochOf(7); got != 7 {
		t.Errorf("EpochOf with zero length: got %d, want 7", got)
	}
}

func TestGenesisState(t *testing.T) {
	g := testGenesis()
	g.Allocations = append(g.Allocations, Allocation{Address: testAddr(5)}) // empty: no account
	s := g.State()
	if got, want := s.Account(testAddr(3)), (Account{Balance: 1000, Stake: 50}); got != want {
		t.Errorf("account 3: got %+v, want %+v", got, want)
	}
	if s.Accounts() != 4 || s.Epoch() != 0 || s.Supply() != 7050 {
		t.Errorf("got %d accounts, epoch %d, supply %d; want 4, 0, 7050", s.Accounts(), s.Epoch(), s.Supply())
	}
	if got, want := s.Params(), (Params{TxFee: 1, BlockReward: 10, MinStake: 100, EpochLength: 10}); got != want {
		t.Errorf("params: got %+v, want %+v", got, want)
	}
	if v0, v1 := s.Validators(0), s.Validators(1); len(v0) != 3 || !slices.Equal(v0, v1) || !slices.Equal(v0, s.Stakes()) {
		t.Errorf("genesis tables: got %v and %v, want the 3 genesis stakes", v0, v1)
	}
	if tip := g.Tip(); tip != (Tip{Hash: g.Hash(), Mix: GenesisMix(g.Hash())}) {
		t.Errorf("Tip: got %+v", tip)
	}
}
