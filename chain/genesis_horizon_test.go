package chain

import (
	"errors"
	"math"
	"testing"
)

// TestGenesisRewardHorizon: a genesis whose supply could overflow within 2^32 blocks of rewards is refused,
// with allocations at and around the bound (issue: a genesis near 2^64 validated and then halted at height 5).
func TestGenesisRewardHorizon(t *testing.T) {
	const base = 7050 // testGenesis's supply
	horizonRoom := func(reward uint64) uint64 { return math.MaxUint64 - RewardHorizon*reward }
	tests := []struct {
		name   string
		reward Amount
		extra  uint64 // added to allocation 0's balance
		ok     bool
	}{
		{"far below the bound", 10, 1 << 40, true},
		{"supply exactly at the horizon", 10, horizonRoom(10) - base, true},
		{"one token past the horizon", 10, horizonRoom(10) - base + 1, false},
		{"halts at height 5 without the rule", 10, math.MaxUint64 - base - 4*10, false},
		{"no reward, supply at 2^64-1", 0, math.MaxUint64 - base, true},
		{"largest reward", Amount((math.MaxUint64 - base) / RewardHorizon), 0, true},
		{"reward one too large", Amount((math.MaxUint64-base)/RewardHorizon + 1), 0, false},
		{"reward times 2^32 overflows alone", 1 << 32, 0, false},
		{"maximal reward", math.MaxUint64, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := testGenesis()
			g.BlockReward = tt.reward
			g.Allocations[0].Balance += Amount(tt.extra)
			err := g.Validate()
			if tt.ok && err != nil {
				t.Fatalf("got %v, want nil", err)
			}
			if !tt.ok {
				if !errors.Is(err, ErrBadGenesis) || !errors.Is(err, ErrOverflow) {
					t.Fatalf("got %v, want ErrBadGenesis and ErrOverflow", err)
				}
				return
			}
			checkMintsToHorizon(t, g)
		})
	}
}

// checkMintsToHorizon applies the first block of a valid genesis's chain and the last one of its reward horizon
// (the state is moved to just before block 2^32 by setting its supply and the proposer's balance as 2^32 - 1
// rewards would have), and checks that both apply.
func checkMintsToHorizon(t *testing.T, g *Genesis) {
	t.Helper()
	st := g.State()
	b := &Block{Header: Header{Height: 1, Slot: 1, Proposer: testAddr(0)}}
	if err := st.ApplyBlock(b); err != nil {
		t.Fatalf("block 1: %v", err)
	}
	minted := uint64(g.BlockReward) * (RewardHorizon - 1)
	acc := st.accounts.at(testAddr(0))
	acc.Balance += Amount(minted) - g.BlockReward
	st.accounts.put(testAddr(0), acc)
	st.supply += Amount(minted) - g.BlockReward
	b.Header.Height, b.Header.Slot = RewardHorizon, RewardHorizon
	if err := st.ApplyBlock(b); err != nil {
		t.Fatalf("block 2^32: %v", err)
	}
	if want := g.State().Supply() + Amount(uint64(g.BlockReward)*RewardHorizon); st.Supply() != want {
		t.Fatalf("supply after 2^32 blocks: got %d, want %d", st.Supply(), want)
	}
}
