package sim

import (
	"testing"

	"github.com/posnode/posnode/chain"
)

// TestVoteSplitDelaysFinality: with checkpoint votes and the real finality rules, honest validators finalize
// every epoch within two epochs; a perfect splitter that holds an epoch's last block keeps the next
// checkpoint from being justified, so it must split at least once and delay finality, and it must not stop
// finality for good (PROTOCOL.md §8a, §9).
func TestVoteSplitDelaysFinality(t *testing.T) {
	const slots, epoch = 1_600, 32
	base, err := Run(Params{Strategy: HonestVotes, Rule: chain.SeedRANDAO, AlphaPermille: 250, K: 1, Slots: slots, EpochLength: epoch, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	r, err := Run(Params{Strategy: VoteSplit, Rule: chain.SeedRANDAO, AlphaPermille: 250, K: 16, Slots: slots, EpochLength: epoch, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	for _, x := range []Result{base, r} {
		t.Logf("%s: share %.3f, %d checkpoints split, finality delay mean %.2f, max %.2f epochs over %d epochs",
			x.Strategy, x.Share(), x.Splits, float64(x.FinalityDelaySum)/float64(max(x.FinalityEpochs, 1))/epoch,
			float64(x.MaxFinalityDelay)/epoch, x.FinalityEpochs)
	}
	if base.FinalityEpochs < slots/epoch-3 || base.MaxFinalityDelay > 2*epoch || base.Splits != 0 {
		t.Errorf("honest: %d epochs measured, max delay %d slots, %d splits; want every epoch final within 2 epochs",
			base.FinalityEpochs, base.MaxFinalityDelay, base.Splits)
	}
	if r.Splits == 0 {
		t.Fatalf("the adversary never held a checkpoint block: the attack was not made")
	}
	if r.MaxFinalityDelay <= base.MaxFinalityDelay || r.MaxFinalityDelay >= slots/2 {
		t.Errorf("vote split: max finality delay %d slots against %d honest; want more, and finality to go on",
			r.MaxFinalityDelay, base.MaxFinalityDelay)
	}
}
