package node

import (
	"context"
	"crypto/ed25519"
	"testing"
	"time"

	"github.com/posnode/posnode/chain"
)

// A node without peers accepted a transaction of another account; once validators connected, only the node's own
// account was ever published again, and the other stayed pending on that node for good. Now a node publishes every
// run it holds, and at once when a peer connects.
func TestPrePeerTransactionReachesTheNetwork(t *testing.T) {
	slot := 500 * time.Millisecond
	c := newCluster(t, []uint64{10, 10, 0, 0}, slot, 1500*time.Millisecond) // node 2 holds no stake; key 3 no node
	c.start(2)
	ctx := context.Background()
	user := chain.NewTx(chain.TxBPM, chain.AddressOf(c.keys[3].Public().(ed25519.PublicKey)), 0, chain.Address{}, 72,
		c.gen.TxFee)
	user.Sign(c.gen.Hash(), c.keys[3])
	id, err := c.nodes[2].Submit(ctx, user)
	if err != nil {
		t.Fatal(err)
	}
	c.start(0, 2)
	c.start(1, 2)
	connected := max(chain.Slot(c.status(0).Slot), 1) // the first slot they can sign
	waitForCommitted(t, c, []chain.Hash{id}, []int{0, 1, 2})
	st, _ := c.nodes[0].Tx(ctx, id)
	b, _ := c.nodes[0].Block(ctx, st.Height)
	t.Logf("pre-peer transaction of a non-node account committed at height %d, slot %d: %d slots after the "+
		"validators connected (slot %d)", st.Height, b.Slot, chain.Slot(b.Slot)-min(connected, chain.Slot(b.Slot)), connected)
}
