package sim

import (
	"testing"

	"github.com/posnode/posnode/chain"
)

// TestStakeStrategiesGrind: the stake grinders build their k versions and the versions reach the seeds their
// rule lets them reach. Under parent-hash every block's hash seeds the next slot, so staking the best of 16
// amounts in each block captures the chain, as k orders of its records do (PROTOCOL.md §9); under randao the
// grinder builds versions only at the epoch tails it holds, and with the stake-table lag of PROTOCOL.md §6 they
// gain it nothing (chain's TestStakeGrindingBounded measures it at full size, and with the old lag).
func TestStakeStrategiesGrind(t *testing.T) {
	for _, tc := range []struct {
		rule     chain.SeedRule
		min, max float64
	}{{chain.SeedParentHash, 0.5, 1}, {chain.SeedRANDAO, 0.15, 0.40}} {
		for _, st := range []Strategy{StakeGrind, StakeWithhold} {
			r, err := Run(Params{Strategy: st, Rule: tc.rule, AlphaPermille: 250, K: 16, Slots: 1_600, EpochLength: 32, Seed: 1})
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("%s %s: share %.3f, ground in %d epochs, withheld %d, %d epoch tails held (%d in a row)",
				tc.rule, st, r.Share(), r.GrindEpochs, r.Withheld, r.TailEpochs, r.LongestTailRun)
			if r.GrindEpochs == 0 {
				t.Errorf("%s %s: the adversary never built its versions: the attack was not made", tc.rule, st)
			}
			if r.Share() < tc.min || r.Share() > tc.max {
				t.Errorf("%s %s: share %.3f, want %.2f to %.2f", tc.rule, st, r.Share(), tc.min, tc.max)
			}
		}
	}
}

// TestTailCounter: the epochs whose last block is the adversary's, and the longest run of them.
func TestTailCounter(t *testing.T) {
	c := tailCounter{epochLength: 4}
	// epoch 0 ends with the adversary, 1 with it, 2 honest, 3 empty, 4 adversary, 5 adversary
	for _, b := range []struct {
		slot chain.Slot
		adv  bool
	}{{1, false}, {3, true}, {5, true}, {9, true}, {10, false}, {17, true}, {21, false}, {22, true}, {100, false}} {
		c.add(b.slot, b.adv)
	}
	if c.epochs != 4 || c.longest != 2 {
		t.Errorf("got %d tail epochs, longest run %d; want 4, 2", c.epochs, c.longest)
	}
}
