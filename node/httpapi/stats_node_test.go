package httpapi_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/posnode/posnode/chain"
	"github.com/posnode/posnode/node/view"
)

// The node gives the explorer's stake panel the table of each block's own epoch: after the validator stakes more,
// the blocks before the change are weighed by the old table and those after by the new one.
func TestStakeTablesFollowAStakeChange(t *testing.T) {
	n := startNode(t) // stake 10, epochs of 8 slots of 200 ms
	ctx := context.Background()
	before, err := n.Node.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := n.SubmitOwn(ctx, chain.TxStake, chain.Address{}, 90); err != nil {
		t.Fatal(err)
	}
	var after view.Status
	waitFor(t, 30*time.Second, "the stake of 100 in force", func() bool {
		_, vals, err := n.Validators(ctx)
		after, _ = n.Node.Status(ctx)
		return err == nil && len(vals) == 1 && vals[0].Stake == 100
	})
	tables, err := n.StakeTables(ctx, []uint64{before.Slot, after.Slot, before.Slot})
	if err != nil {
		t.Fatal(err)
	}
	if len(tables) != 2 || tables[0].Epoch != before.Epoch || tables[1].Epoch != after.Epoch {
		t.Fatalf("tables of epochs %d and %d: got %+v", before.Epoch, after.Epoch, tables)
	}
	for i, want := range []uint64{10, 100} {
		tb := tables[i]
		if len(tb.Validators) != 1 || tb.Validators[0].Stake != want || tb.Validators[0].Share != 1 ||
			tb.FirstSlot != 8*tb.Epoch || tb.LastSlot != tb.FirstSlot+7 {
			t.Errorf("epoch %d: got %+v, want slots %d..%d and one validator of stake %d", tb.Epoch, tb,
				8*tb.Epoch, 8*tb.Epoch+7, want)
		}
	}
	code, body := getPage(t, n.HTTPAddr(), "/")
	if code != 200 || !strings.Contains(body, "stake tables)") || !strings.Contains(body, "expected share") {
		t.Errorf("GET /: %d; want the stake panel over several tables", code)
	}
}
