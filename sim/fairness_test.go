package sim

import (
	"crypto/ed25519"
	"fmt"
	"testing"

	"github.com/posnode/posnode/chain"
	"github.com/posnode/posnode/consensus"
)

// TestFairnessRANDAO runs the lottery of PROTOCOL.md §6 under randao for 100,000 slots with stakes {10, 20, 30,
// 40}, every slot filled by its winner, whose real VRF output enters the mix, and checks the win counts with a
// chi-square test (3 degrees of freedom, p > 0.001). The keys are fixed, so the outcome is deterministic.
func TestFairnessRANDAO(t *testing.T) {
	const slots, epoch = 100_000, 32
	const critical = 16.266 // χ² with 3 degrees of freedom at p = 0.001
	amounts := []chain.Amount{10, 20, 30, 40}
	keys := map[chain.Address]ed25519.PrivateKey{}
	var stakes []chain.Stake
	for i, a := range amounts {
		k := simKey(0, fmt.Sprintf("fair-%d", i))
		keys[addrOf(k)] = k
		stakes = append(stakes, chain.Stake{Addr: addrOf(k), Amount: a})
	}
	table, err := consensus.NewTable(stakes)
	if err != nil {
		t.Fatal(err)
	}
	chainID := chain.HashBytes([]byte("posnode fairness test"))
	mix := chain.GenesisMix(chainID)
	ends := []chain.Hash{mix, mix} // ends[e]: the mix at the end of epoch e−2, the seed source of epoch e
	wins := map[chain.Address]int{}
	for s := chain.Slot(1); s <= slots; s++ {
		e := int(uint64(s) / epoch)
		if e+2 > len(ends) {
			ends = append(ends, mix) // s opens epoch e: the mix so far ends epoch e−1, the source of e+1
		}
		leader, ok := table.Pick(consensus.Seed(ends[e], s))
		if !ok {
			t.Fatalf("slot %d: no leader", s)
		}
		wins[leader]++
		proof := chain.ProveVRF(keys[leader], chainID, s)
		out, err := proof.Output()
		if err != nil {
			t.Fatal(err)
		}
		mix = chain.NextMix(mix, out)
	}
	var chi2 float64
	counts := make([]int, len(stakes))
	for i, st := range stakes {
		counts[i] = wins[st.Addr]
		expected := float64(slots) * float64(st.Amount) / 100
		d := float64(counts[i]) - expected
		chi2 += d * d / expected
	}
	t.Logf("wins for stakes %v: %v; χ² = %.3f (critical %.3f)", amounts, counts, chi2, critical)
	if chi2 >= critical {
		t.Errorf("χ² = %.3f, want < %.3f (counts %v)", chi2, critical, counts)
	}
}
