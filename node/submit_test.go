package node

import (
	"context"
	"errors"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/posnode/posnode/chain"
	"github.com/posnode/posnode/node/view"
)

// A transfer whose value plus fee wraps around 2^64 is refused before it is signed: nothing reaches the mempool
// or the journal. Errors carry one prefix.
func TestSubmitOwnRefusals(t *testing.T) {
	c := newCluster(t, []uint64{10, 10}, 200*time.Millisecond, time.Hour)
	n := c.start(0)
	other := c.gen.Allocations[1].Address
	tests := []struct {
		name  string
		kind  chain.TxKind
		value uint64
		want  error
	}{
		{"value plus fee overflows", chain.TxTransfer, math.MaxUint64, ErrAmountOverflow},
		{"stake plus fee overflows", chain.TxStake, math.MaxUint64, ErrAmountOverflow},
		{"more than the balance", chain.TxTransfer, 2_000_000, chain.ErrInsufficientBalance},
		{"bpm out of range", chain.TxBPM, 999, chain.ErrInvalidTx},
	}
	for _, tt := range tests {
		to := chain.Address{}
		if tt.kind == chain.TxTransfer {
			to = other
		}
		_, err := n.SubmitOwn(context.Background(), tt.kind, to, tt.value)
		if !errors.Is(err, tt.want) || !errors.Is(err, view.ErrInvalidTx) {
			t.Errorf("%s: got %v; want %v of kind %v", tt.name, err, tt.want, view.ErrInvalidTx)
			continue
		}
		if c := strings.Count(err.Error(), "invalid transaction"); c > 1 {
			t.Errorf("%s: %q repeats its prefix", tt.name, err)
		}
	}
	var pool, journal int
	n.call(context.Background(), func() { pool, journal = n.pool.Len(), n.pendingLog.Len() })
	if pool != 0 || journal != 0 {
		t.Errorf("after refusals: %d pooled, %d journaled; want none", pool, journal)
	}
}

func TestMatchingPrefix(t *testing.T) {
	a, _ := chain.ParseHash("83d4cf7f" + strings.Repeat("0", 56))
	b, _ := chain.ParseHash("83d4cf7f1" + strings.Repeat("0", 55))
	c, _ := chain.ParseHash("12345678" + strings.Repeat("0", 56))
	ids := []chain.Hash{a, b, c, a}
	tests := []struct {
		prefix string
		want   []chain.Hash
	}{
		{"83d4cf7f", []chain.Hash{a, b}},
		{"83d4cf7f1", []chain.Hash{b}},
		{"83d4cf7f0", []chain.Hash{a}},
		{"12345678", []chain.Hash{c}},
		{"ffffffff", nil},
	}
	for _, tt := range tests {
		if got := matching(ids, tt.prefix); !slices.Equal(got, tt.want) {
			t.Errorf("matching %s: got %v, want %v", tt.prefix, got, tt.want)
		}
	}
}

// connect to a dead address of a peer that is already connected is an error, not "connected".
func TestConnectDeadAddrOfConnectedPeer(t *testing.T) {
	c := newCluster(t, []uint64{10, 10}, 200*time.Millisecond, time.Hour)
	a := c.start(0)
	b := c.start(1, 0)
	waitFor(t, 20*time.Second, "the nodes to connect", func() bool { return len(a.Peers()) == 1 })
	dead := "/ip4/127.0.0.1/tcp/1/p2p/" + b.Address().String()
	if err := a.Connect(context.Background(), dead); err == nil {
		t.Errorf("connect %s: no error for a dead address", dead)
	}
	if err := a.Connect(context.Background(), b.Addrs()[0]); err != nil {
		t.Errorf("connect to the live address: %v", err)
	}
}

// A node that lost its chain.db does not know its own account's next nonce until a peer's chain tells it: its own
// records that are final have left the pending-transaction log. It refuses records until it has synced with a
// peer (ErrNotSynced), even once it proposes alone, and the record it takes then has the right nonce and is
// committed (the simulator found the record that never applied: sim/simnet, a restart without chain.db).
func TestRecordAfterChainDBLostWaitsForSync(t *testing.T) {
	c := newCluster(t, []uint64{10, 0}, 200*time.Millisecond, 0)
	c.start(0)
	c.start(1, 0)
	ids := []chain.Hash{c.submitBPM(1, 61), c.submitBPM(1, 62), c.submitBPM(1, 63)}
	waitForCommitted(t, c, ids, []int{0, 1})
	c.stop(1)
	c.stop(0) // node 1 would dial it from its peers.json
	if err := os.Remove(filepath.Join(c.homes[1], "chain.db")); err != nil {
		t.Fatal(err)
	}
	n := c.start(1) // alone: nothing tells it the account's nonce
	time.Sleep(syncGrace + time.Second)
	if _, err := n.SubmitOwn(context.Background(), chain.TxBPM, chain.Address{}, 64); !errors.Is(err, ErrNotSynced) ||
		!errors.Is(err, view.ErrBusy) {
		t.Fatalf("alone after chain.db was lost: got %v, want ErrNotSynced of kind busy", err)
	}
	c.stop(1)
	c.start(0)
	c.start(1, 0)
	id := c.submitBPM(1, 65)
	waitForCommitted(t, c, []chain.Hash{id}, []int{0, 1})
}
