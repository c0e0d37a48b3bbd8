package node

import (
	"crypto/ed25519"
	"crypto/sha256"
	"errors"
	"testing"
	"time"

	"github.com/posnode/posnode/chain"
)

// mempoolFixture is a genesis with two funded accounts and their keys.
func mempoolFixture(t *testing.T) (*chain.State, []ed25519.PrivateKey, chain.Hash) {
	t.Helper()
	g := &chain.Genesis{ChainID: "mempool-test", Time: time.Unix(0, 0), SlotDuration: chain.Duration(time.Second),
		EpochLength: 4, MinStake: 1, TxFee: 1}
	var keys []ed25519.PrivateKey
	for i := range 2 {
		seed := sha256.Sum256([]byte{byte(i)})
		k := ed25519.NewKeyFromSeed(seed[:])
		keys = append(keys, k)
		g.Allocations = append(g.Allocations, chain.Allocation{Address: chain.AddressOf(k.Public().(ed25519.PublicKey)), Balance: 100, Stake: 5})
	}
	return g.State(), keys, g.Hash()
}

func bpmTx(key ed25519.PrivateKey, nonce chain.Nonce, id chain.Hash) chain.Tx {
	tx := chain.Tx{Kind: chain.TxBPM, From: chain.AddressOf(key.Public().(ed25519.PublicKey)), Nonce: nonce, Value: 70, Fee: 1}
	tx.Sign(id, key)
	return tx
}

func TestMempoolAdmission(t *testing.T) {
	st, keys, id := mempoolFixture(t)
	p := newMempool()
	tx0 := bpmTx(keys[0], 0, id)
	if err := p.Add(tx0, st); err != nil {
		t.Fatalf("first add: %v", err)
	}
	tests := []struct {
		name string
		tx   chain.Tx
		want error
	}{
		{"same tx again", tx0, ErrDuplicateTx},
		{"same nonce, other content", func() chain.Tx { tx := bpmTx(keys[0], 0, id); tx.Value = 80; tx.Sign(id, keys[0]); return tx }(), ErrDuplicateTx},
		{"nonce too far ahead", bpmTx(keys[0], maxNonceAheadBy, id), ErrPoolFull},
	}
	for _, tt := range tests {
		if err := p.Add(tt.tx, st); !errors.Is(err, tt.want) {
			t.Errorf("%s: got %v, want %v", tt.name, err, tt.want)
		}
	}
	if got := p.NextNonce(tx0.From, st); got != 1 {
		t.Errorf("next nonce: got %d, want 1", got)
	}
}

func TestMempoolSelectsRunsRoundRobin(t *testing.T) {
	st, keys, id := mempoolFixture(t)
	p := newMempool()
	for _, n := range []chain.Nonce{0, 1, 3} { // nonce 2 missing: 3 must wait
		if err := p.Add(bpmTx(keys[0], n, id), st); err != nil {
			t.Fatal(err)
		}
	}
	if err := p.Add(bpmTx(keys[1], 0, id), st); err != nil {
		t.Fatal(err)
	}
	got := p.Select(st, 10)
	if len(got) != 3 {
		t.Fatalf("got %d txs, want 3 (the gap holds nonce 3 back)", len(got))
	}
	if got[0].From == got[1].From {
		t.Errorf("got senders %s, %s first; want round-robin", got[0].From.Short(), got[1].From.Short())
	}
	if got := p.Select(st, 1); len(got) != 1 {
		t.Errorf("max 1: got %d txs", len(got))
	}
}

func TestMempoolPruneAndStale(t *testing.T) {
	st, keys, id := mempoolFixture(t)
	p := newMempool()
	tx0, tx1 := bpmTx(keys[0], 0, id), bpmTx(keys[0], 1, id)
	p.Add(tx0, st)
	p.Add(tx1, st)
	if err := st.ApplyTx(&tx0); err != nil {
		t.Fatal(err)
	}
	p.Prune(st)
	if p.Has(tx0.ID()) || !p.Has(tx1.ID()) || p.Len() != 1 {
		t.Errorf("after prune: has tx0 %v, tx1 %v, len %d; want false, true, 1", p.Has(tx0.ID()), p.Has(tx1.ID()), p.Len())
	}
	if err := p.Add(tx0, st); !errors.Is(err, ErrStaleTx) {
		t.Errorf("re-adding a committed tx: got %v, want ErrStaleTx", err)
	}
}

// Oldest finds the transaction admitted first, and forgets it once it leaves the pool.
func TestMempoolOldest(t *testing.T) {
	st, keys, id := mempoolFixture(t)
	p := newMempool()
	if _, _, ok := p.Oldest(); ok {
		t.Fatal("an empty pool has an oldest transaction")
	}
	clock := time.Unix(1000, 0)
	p.now = func() time.Time { return clock }
	first, second := bpmTx(keys[1], 0, id), bpmTx(keys[0], 0, id)
	for _, tx := range []chain.Tx{first, second} {
		if err := p.Add(tx, st); err != nil {
			t.Fatal(err)
		}
		clock = clock.Add(time.Second)
	}
	if tx, since, ok := p.Oldest(); !ok || tx.ID() != first.ID() || !since.Equal(time.Unix(1000, 0)) {
		t.Errorf("oldest: got %s at %s, want %s at 1000 s", tx.ID().Short(), since, first.ID().Short())
	}
	p.Remove([]chain.Tx{first})
	if tx, since, ok := p.Oldest(); !ok || tx.ID() != second.ID() || !since.Equal(time.Unix(1001, 0)) {
		t.Errorf("after removing it: got %s at %s, want %s at 1001 s", tx.ID().Short(), since, second.ID().Short())
	}
}
