package sim

import (
	"strings"
	"testing"

	"github.com/posnode/posnode/chain"
)

// Each α row of the grind tables prints the fair share (α) beside the shares the adversary got.
func TestWriteTableFairShare(t *testing.T) {
	var b strings.Builder
	WriteTable(&b, TableConfig{Rule: chain.SeedRANDAO, AlphasPermille: []int{100, 330}, Ks: []int{1}, Slots: 10,
		PrivateSlots: 10, EpochLength: 8}, nil)
	out := b.String()
	for _, want := range []string{"| α | fair share | k = 1 |", "| 0.10 | 0.100 |", "| 0.33 | 0.330 |",
		"| α | fair share | share | honest blocks orphaned | deepest reorg |"} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
}
