package mempool

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"errors"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/posnode/posnode/chain"
)

// poolFixture is a genesis with two funded accounts (balance 100, stake 5, tx_fee 1), a key without an account,
// and a mempool on a clock the test moves.
type poolFixture struct {
	st    *chain.State
	keys  []ed25519.PrivateKey // 0 and 1 funded, 2 without an account
	id    chain.Hash
	now   time.Time
	pool  *Pool
	proto *chain.Genesis
}

func newPoolFixture(t *testing.T) *poolFixture { return newPoolFixtureWith(t, 100) }

// newPoolFixtureWith is newPoolFixture with another balance for the funded accounts.
func newPoolFixtureWith(t *testing.T, balance chain.Amount) *poolFixture {
	t.Helper()
	g := &chain.Genesis{ChainID: "mempool-test", Time: time.Unix(0, 0), SlotDuration: chain.Duration(time.Second),
		EpochLength: 4, MinStake: 1, TxFee: 1}
	f := &poolFixture{now: time.Unix(1000, 0), proto: g}
	for i := range 3 {
		seed := sha256.Sum256([]byte{byte(i)})
		k := ed25519.NewKeyFromSeed(seed[:])
		f.keys = append(f.keys, k)
		if i < 2 {
			g.Allocations = append(g.Allocations, chain.Allocation{Address: addrOf(k), Balance: balance, Stake: 5})
		}
	}
	f.st, f.id = g.State(), g.Hash()
	f.pool = New(g.TxFee, func() time.Time { return f.now })
	return f
}

func addrOf(k ed25519.PrivateKey) chain.Address {
	return chain.AddressOf(k.Public().(ed25519.PublicKey))
}

// tx signs a transaction of key k.
func (f *poolFixture) tx(k int, kind chain.TxKind, nonce chain.Nonce, value uint64, fee chain.Amount) chain.Tx {
	tx := chain.Tx{Kind: kind, From: addrOf(f.keys[k]), Nonce: nonce, Value: value, Fee: fee}
	if kind == chain.TxTransfer {
		tx.To = addrOf(f.keys[1-k%2])
	}
	tx.Sign(f.id, f.keys[k])
	return tx
}

func (f *poolFixture) bpm(k int, nonce chain.Nonce) chain.Tx {
	return f.tx(k, chain.TxBPM, nonce, 70, 1)
}

func (f *poolFixture) mustAdd(t *testing.T, txs ...chain.Tx) {
	t.Helper()
	for _, tx := range txs {
		if err := f.pool.Add(tx, f.st); err != nil {
			t.Fatalf("add nonce %d of %s: %v", tx.Nonce, tx.From.Short(), err)
		}
	}
}

func bpmTx(key ed25519.PrivateKey, nonce chain.Nonce, id chain.Hash) chain.Tx {
	tx := chain.Tx{Kind: chain.TxBPM, From: addrOf(key), Nonce: nonce, Value: 70, Fee: 1}
	tx.Sign(id, key)
	return tx
}

// Admission applies the ledger's rules against the sender's pending state (PROTOCOL.md §3).
func TestMempoolAdmission(t *testing.T) {
	f := newPoolFixture(t)
	f.mustAdd(t, f.bpm(0, 0), f.bpm(0, 1))
	f.mustAdd(t, f.bpm(1, 0), f.bpm(1, 2), f.bpm(1, 3)) // key 1: nonce 1 missing, 2 and 3 wait for it
	other := f.bpm(0, 1)
	other.Value = 80
	other.Sign(f.id, f.keys[0])
	tests := []struct {
		name string
		tx   chain.Tx
		want error
	}{
		{"same tx again", f.bpm(0, 1), ErrDuplicateTx},
		{"same nonce, other content", other, ErrDuplicateTx},
		{"sender without an account", f.bpm(2, 0), chain.ErrUnknownAccount},
		{"fee below the minimum", f.tx(0, chain.TxBPM, 2, 70, 0), chain.ErrFeeTooLow},
		{"nonce too far beyond the run", f.bpm(0, 2+MaxNonceGap+1), ErrNonceGap},
		{"transfer over the balance", f.tx(0, chain.TxTransfer, 2, 100, 1), chain.ErrInsufficientBalance},
		{"stake of what the pending records leave, plus one", f.tx(0, chain.TxStake, 2, 98, 1), chain.ErrInsufficientBalance},
		{"unstake over the stake", f.tx(0, chain.TxUnstake, 2, 6, 1), chain.ErrInsufficientStake},
		{"transfer that starves the records waiting behind it", f.tx(1, chain.TxTransfer, 1, 98, 1), ErrBreaksLater},
	}
	for _, tt := range tests {
		err := f.pool.Add(tt.tx, f.st)
		if !errors.Is(err, tt.want) {
			t.Errorf("%s: got %v, want %v", tt.name, err, tt.want)
		}
	}
	f.mustAdd(t, f.tx(0, chain.TxStake, 2, 97, 1))    // exactly what the two records leave
	f.mustAdd(t, f.tx(1, chain.TxTransfer, 1, 96, 1)) // leaves the fees of nonces 2 and 3
	if got := f.pool.NextNonce(addrOf(f.keys[1]), f.st); got != 4 {
		t.Errorf("key 1's next nonce once the gap is filled: got %d, want 4", got)
	}
	if got := f.pool.Len(); got != 7 {
		t.Errorf("pool holds %d transactions, want 7", got)
	}
}

func TestMempoolSelectsRunsRoundRobin(t *testing.T) {
	f := newPoolFixture(t)
	f.mustAdd(t, f.bpm(0, 0), f.bpm(0, 1), f.bpm(0, 3)) // nonce 2 missing: 3 must wait
	f.mustAdd(t, f.bpm(1, 0))
	got := f.pool.Select(f.st, 10)
	if len(got) != 3 {
		t.Fatalf("got %d txs, want 3 (the gap holds nonce 3 back)", len(got))
	}
	if got[0].From == got[1].From {
		t.Errorf("got senders %s, %s first; want round-robin", got[0].From.Short(), got[1].From.Short())
	}
	if got := f.pool.Select(f.st, 1); len(got) != 1 {
		t.Errorf("max 1: got %d txs", len(got))
	}
}

// After a new head, a transaction that can no longer apply leaves the pool with its followers, and its reason is
// kept for Tx queries.
func TestMempoolRevalidate(t *testing.T) {
	f := newPoolFixture(t)
	b0, b1, b2 := f.bpm(0, 0), f.bpm(0, 1), f.bpm(0, 2)
	f.mustAdd(t, b0, b1, b2)
	replacing := f.tx(0, chain.TxTransfer, 0, 98, 1) // another nonce-0 transaction, committed elsewhere
	head := f.st.Clone()
	if err := head.ApplyTx(&replacing); err != nil {
		t.Fatal(err)
	}
	f.pool.Revalidate(head) // b0 is replaced; b1 and b2 would need 2 tokens, and 1 is left
	if f.pool.Has(b0.ID()) || !f.pool.Has(b1.ID()) || f.pool.Has(b2.ID()) {
		t.Fatalf("after the head moved: has b0 %v b1 %v b2 %v; want false true false",
			f.pool.Has(b0.ID()), f.pool.Has(b1.ID()), f.pool.Has(b2.ID()))
	}
	for _, c := range []struct {
		tx   chain.Tx
		want string
	}{{b0, "used by another transaction"}, {b2, "insufficient balance"}} {
		reason, ok := f.pool.DropReason(c.tx.ID())
		if !ok || !strings.Contains(reason, c.want) {
			t.Errorf("drop reason of nonce %d: got %q, %v; want one containing %q", c.tx.Nonce, reason, ok, c.want)
		}
	}
	if err := f.pool.Add(b0, head); !errors.Is(err, ErrStaleTx) {
		t.Errorf("re-adding a replaced tx: got %v, want ErrStaleTx", err)
	}
	f.pool.Remove([]chain.Tx{b1})
	if f.pool.Len() != 0 || len(f.pool.senders) != 0 {
		t.Errorf("after removing the last one: %d txs, %d senders; want none", f.pool.Len(), len(f.pool.senders))
	}
}

// A transaction behind a nonce gap waits gapWait for it; then it leaves, with the reason.
func TestMempoolGapExpires(t *testing.T) {
	f := newPoolFixture(t)
	waiting := f.bpm(0, 5)
	f.mustAdd(t, f.bpm(0, 0), waiting)
	f.now = f.now.Add(gapWait - time.Second)
	f.pool.Revalidate(f.st)
	if !f.pool.Has(waiting.ID()) {
		t.Fatal("dropped before gapWait")
	}
	f.now = f.now.Add(2 * time.Second)
	f.pool.Revalidate(f.st)
	if f.pool.Has(waiting.ID()) || f.pool.Len() != 1 {
		t.Fatalf("after gapWait: has the waiting tx %v, len %d; want false, 1", f.pool.Has(waiting.ID()), f.pool.Len())
	}
	if reason, _ := f.pool.DropReason(waiting.ID()); !strings.Contains(reason, "nonce gap") {
		t.Errorf("drop reason: got %q, want one about the nonce gap", reason)
	}
	f.now = f.now.Add(maxTxAge)
	f.pool.Revalidate(f.st)
	if f.pool.Len() != 0 {
		t.Errorf("after maxTxAge: %d txs left, want 0", f.pool.Len())
	}
}

// A full pool takes a transaction that pays more by evicting the last transaction of the sender that pays least;
// at equal fees it refuses.
func TestMempoolEviction(t *testing.T) {
	f := newPoolFixture(t)
	f.pool.maxTxs = 3
	f.mustAdd(t, f.bpm(0, 0), f.bpm(0, 1), f.bpm(1, 0))
	if err := f.pool.Add(f.bpm(1, 1), f.st); !errors.Is(err, ErrPoolFull) {
		t.Fatalf("equal fee into a full pool: got %v, want ErrPoolFull", err)
	}
	rich := f.tx(1, chain.TxBPM, 1, 70, 5)
	f.mustAdd(t, rich)
	evicted := f.bpm(0, 1)
	if f.pool.Has(evicted.ID()) || !f.pool.Has(rich.ID()) || f.pool.Len() != 3 {
		t.Fatalf("after eviction: evicted still there %v, rich admitted %v, len %d", f.pool.Has(evicted.ID()),
			f.pool.Has(rich.ID()), f.pool.Len())
	}
	if reason, _ := f.pool.DropReason(evicted.ID()); !strings.Contains(reason, "evicted") {
		t.Errorf("drop reason: got %q, want eviction", reason)
	}
	if got := f.pool.NextNonce(addrOf(f.keys[0]), f.st); got != 1 {
		t.Errorf("next nonce of the evicted sender: got %d, want 1", got)
	}
}

// spend, the pool's forecast, agrees with the ledger (State.ApplyTx) on a random walk of transactions.
func TestSpendMatchesLedger(t *testing.T) {
	f := newPoolFixtureWith(t, 5000)
	r := rand.New(rand.NewPCG(1, 2))
	kinds := []chain.TxKind{chain.TxTransfer, chain.TxStake, chain.TxUnstake, chain.TxBPM}
	st := f.st.Clone()
	from := addrOf(f.keys[0])
	applied, refused := 0, 0
	for i := range 2000 {
		kind, value := kinds[r.IntN(len(kinds))], r.Uint64N(40)+1
		if kind == chain.TxBPM {
			value = 70
		}
		acct := st.Account(from)
		tx := f.tx(0, kind, acct.Nonce, value, chain.Amount(r.Uint64N(3)+1))
		got, gotErr := spend(acct, &tx)
		wantErr := st.ApplyTx(&tx)
		if (gotErr == nil) != (wantErr == nil) {
			t.Fatalf("tx %d (%s %d): spend says %v, ledger says %v", i, kind, value, gotErr, wantErr)
		}
		if gotErr != nil {
			refused++
			f.topUp(t, st)
			continue
		}
		applied++
		want := st.Account(from)
		got.UnbondEpoch = want.UnbondEpoch // the ledger's to set; nothing the forecast decides depends on it
		if got != want {
			t.Fatalf("tx %d (%s %d): spend gives %+v, ledger %+v", i, kind, value, got, want)
		}
	}
	if applied < 100 || refused < 100 {
		t.Errorf("the walk applied %d and refused %d transactions; want ≥ 100 of each", applied, refused)
	}
}

// topUp moves 50 tokens from key 1 to key 0 on st, while key 1 has them.
func (f *poolFixture) topUp(t *testing.T, st *chain.State) {
	t.Helper()
	rich := st.Account(addrOf(f.keys[1]))
	if rich.Balance < 60 {
		return
	}
	tx := f.tx(1, chain.TxTransfer, rich.Nonce, 50, 1)
	if err := st.ApplyTx(&tx); err != nil {
		t.Fatal(err)
	}
}

func TestDropLogKeepsTheLatest(t *testing.T) {
	d := newDropLog(3)
	ids := []chain.Hash{{1}, {2}, {3}, {4}}
	for i, id := range ids {
		d.add(id, "reason", time.Unix(int64(i), 0))
	}
	if _, ok := d.reason(ids[0]); ok {
		t.Error("the oldest record is still kept past capacity")
	}
	for _, id := range ids[1:] {
		if _, ok := d.reason(id); !ok {
			t.Errorf("record %x lost", id[:1])
		}
	}
}

// Looking up the next nonce of an address with nothing pending leaves no trace in the pool.
func TestMempoolNextNonceKeepsNoEntry(t *testing.T) {
	f := newPoolFixture(t)
	for i := range 3 {
		if got := f.pool.NextNonce(addrOf(f.keys[i]), f.st); got != 0 {
			t.Errorf("key %d: got next nonce %d, want 0", i, got)
		}
	}
	if len(f.pool.senders) != 0 {
		t.Errorf("got %d sender entries after lookups, want 0", len(f.pool.senders))
	}
}

// Oldest finds the transaction admitted first, and forgets it once it leaves the pool.
func TestMempoolOldest(t *testing.T) {
	f := newPoolFixture(t)
	if _, _, ok := f.pool.Oldest(); ok {
		t.Fatal("an empty pool has an oldest transaction")
	}
	first, second := f.bpm(1, 0), f.bpm(0, 0)
	f.mustAdd(t, first)
	f.now = f.now.Add(time.Second)
	f.mustAdd(t, second)
	if tx, since, ok := f.pool.Oldest(); !ok || tx.ID() != first.ID() || !since.Equal(time.Unix(1000, 0)) {
		t.Errorf("oldest: got %s at %s, want %s at 1000 s", tx.ID().Short(), since, first.ID().Short())
	}
	f.pool.Remove([]chain.Tx{first})
	if tx, since, ok := f.pool.Oldest(); !ok || tx.ID() != second.ID() || !since.Equal(time.Unix(1001, 0)) {
		t.Errorf("after removing it: got %s at %s, want %s at 1001 s", tx.ID().Short(), since, second.ID().Short())
	}
	if tx, ok := f.pool.Get(second.ID()); !ok || tx.ID() != second.ID() {
		t.Errorf("Get: got %v, want the pending transaction", ok)
	}
	// Admitted in the same instant: the lowest ID, whichever came first.
	a, b := f.bpm(1, 0), f.bpm(1, 1)
	f.mustAdd(t, a, b)
	f.pool.Remove([]chain.Tx{second})
	want := a
	if ia, ib := a.ID(), b.ID(); bytes.Compare(ib[:], ia[:]) < 0 {
		want = b
	}
	if tx, _, ok := f.pool.Oldest(); !ok || tx.ID() != want.ID() {
		t.Errorf("two of the same instant: got %s, want the lower ID %s", tx.ID().Short(), want.ID().Short())
	}
}

// A transaction of a reverted block comes back even into a full pool: the sender's later pending transactions
// cannot apply without it, and its user was told it was accepted (PROTOCOL.md §8).
func TestMempoolReadmitIgnoresLimits(t *testing.T) {
	f := newPoolFixture(t)
	f.pool.maxTxs = 3
	f.mustAdd(t, f.bpm(0, 1), f.bpm(0, 2), f.bpm(1, 0)) // nonce 0 of sender 0 was in the reverted block
	back := f.bpm(0, 0)
	if err := f.pool.Add(back, f.st); !errors.Is(err, ErrPoolFull) {
		t.Fatalf("Add into the full pool: got %v, want ErrPoolFull", err)
	}
	if err := f.pool.Readmit(back, f.st); err != nil {
		t.Fatalf("Readmit into the full pool: %v", err)
	}
	f.pool.Revalidate(f.st)
	if got := f.pool.Select(f.st, 10); len(got) != 4 {
		t.Fatalf("after readmission: %d transactions selectable, want 4 (the sender's run 0, 1, 2 and the other's)", len(got))
	}
	if err := f.pool.Readmit(back, f.st); !errors.Is(err, ErrDuplicateTx) {
		t.Errorf("Readmit twice: got %v, want ErrDuplicateTx", err)
	}
	f.st = f.st.Clone()
	if err := f.st.ApplyTx(&back); err != nil { // the new branch holds nonce 0 too
		t.Fatal(err)
	}
	f.pool.Remove([]chain.Tx{back})
	if err := f.pool.Readmit(back, f.st); !errors.Is(err, ErrStaleTx) {
		t.Errorf("Readmit of a nonce the new head used: got %v, want ErrStaleTx", err)
	}
}

// Transactions readmitted after a reorg that cannot apply on the new head leave at the next Revalidate, with the
// reason, and take their sender's later ones with them.
func TestMempoolReadmitThenRevalidate(t *testing.T) {
	f := newPoolFixtureWith(t, 3) // three fees' worth
	f.mustAdd(t, f.bpm(0, 2))
	for n := range chain.Nonce(2) {
		if err := f.pool.Readmit(f.bpm(0, n), f.st); err != nil {
			t.Fatal(err)
		}
	}
	poorer := newPoolFixtureWith(t, 1) // on the new branch the sender has one fee's worth
	f.pool.Revalidate(poorer.st)
	first, second := f.bpm(0, 0), f.bpm(0, 1)
	if f.pool.Len() != 1 || !f.pool.Has(first.ID()) {
		t.Fatalf("after Revalidate: %d pending; want only nonce 0, the one the balance covers", f.pool.Len())
	}
	if reason, ok := f.pool.DropReason(second.ID()); !ok || !strings.Contains(reason, "balance") {
		t.Errorf("drop reason of nonce 1: %q, %v; want the balance", reason, ok)
	}
}

// Gossip validates batches concurrently, so a batch can finish its signature check before the one ahead of it:
// Order holds it until the one ahead has reached the pool, and the whole of both is kept. Without the order,
// the later batch would wait behind the gap, where a sender has room for MaxSenderWaiting transactions only.
func TestMempoolKeepsABatchThatOvertookTheOneAhead(t *testing.T) {
	f := newPoolFixtureWith(t, 1<<20)
	batch := func(first chain.Nonce) []chain.Tx {
		out := make([]chain.Tx, chain.MaxTxBatch)
		for i := range out {
			out[i] = f.bpm(0, first+chain.Nonce(i))
		}
		return out
	}
	order := NewOrder()
	ahead, behind := batch(0), batch(chain.MaxTxBatch)
	first, second := order.Enter(ahead), order.Enter(behind) // arrival order
	admitted := make(chan []error, 1)
	go func() { // the second batch's signatures checked first
		order.Wait(context.Background(), second)
		var errs []error
		for _, tx := range behind {
			errs = append(errs, f.pool.Add(tx, f.st))
		}
		order.Leave(second)
		admitted <- errs
	}()
	select {
	case <-admitted:
		t.Fatal("the second batch reached the pool before the one ahead of it")
	case <-time.After(200 * time.Millisecond):
	}
	f.mustAdd(t, ahead...)
	order.Leave(first)
	for i, err := range <-admitted {
		if err != nil {
			t.Fatalf("nonce %d of the second batch: %v", behind[i].Nonce, err)
		}
	}
	if got, want := f.pool.NextNonce(addrOf(f.keys[0]), f.st), chain.Nonce(2*chain.MaxTxBatch); got != want {
		t.Errorf("next nonce after both batches: got %d, want %d", got, want)
	}
	if got := len(f.pool.waiting); got != 0 {
		t.Errorf("%d transactions wait behind a gap, want 0", got)
	}
}

// A batch that overtook the one ahead of it anyway (it came by another path) keeps MaxSenderWaiting transactions
// behind the gap and refuses the rest; the one ahead then joins the run with them.
func TestMempoolWaitingIsBoundedPerSender(t *testing.T) {
	f := newPoolFixtureWith(t, 1<<20)
	refused := 0
	for n := chain.Nonce(1); n <= 40; n++ {
		err := f.pool.Add(f.bpm(0, n), f.st)
		switch {
		case err == nil:
		case errors.Is(err, ErrNonceGap):
			refused++
		default:
			t.Fatalf("nonce %d: %v", n, err)
		}
	}
	if refused != 40-MaxSenderWaiting || len(f.pool.waiting) != MaxSenderWaiting {
		t.Fatalf("refused %d, waiting %d; want %d and %d", refused, len(f.pool.waiting), 40-MaxSenderWaiting, MaxSenderWaiting)
	}
	f.mustAdd(t, f.bpm(0, 0))
	if got := len(f.pool.Select(f.st, 100)); got != MaxSenderWaiting+1 || len(f.pool.waiting) != 0 {
		t.Errorf("after the gap is filled: %d selectable, %d waiting; want %d and 0", got, len(f.pool.waiting), MaxSenderWaiting+1)
	}
}

// Transactions behind a gap have a small bucket of their own: there they displace only each other, by fee; they
// never displace a transaction that can apply, and one that can apply displaces them first, whatever they pay.
func TestMempoolWaitingNeverDisplacesARun(t *testing.T) {
	f := newPoolFixtureWith(t, 1<<20)
	f.pool.maxTxs, f.pool.maxWaiting = 6, 2
	f.mustAdd(t, f.bpm(0, 0), f.bpm(0, 1), f.bpm(0, 2))       // a run of key 0
	f.mustAdd(t, f.bpm(1, 5), f.tx(1, chain.TxBPM, 6, 70, 9)) // key 1 waits for nonce 0
	if err := f.pool.Add(f.tx(1, chain.TxBPM, 7, 70, 1), f.st); !errors.Is(err, ErrPoolFull) {
		t.Errorf("a third waiting transaction at the lowest fee: got %v, want ErrPoolFull", err)
	}
	f.mustAdd(t, f.tx(0, chain.TxBPM, 9, 70, 5)) // waits too, and evicts key 1's nonce 5 and its follower 6
	five := f.bpm(1, 5)
	if f.pool.Has(five.ID()) || len(f.pool.waiting) != 1 {
		t.Fatalf("a waiting transaction paying more: waiting %d, key 1 nonce 5 kept %v", len(f.pool.waiting), f.pool.Has(five.ID()))
	}
	f.mustAdd(t, f.bpm(0, 3), f.bpm(0, 4)) // the pool is full: 5 in key 0's run, 1 waiting
	f.mustAdd(t, f.bpm(1, 0))              // can apply: displaces the waiting transaction, which pays 5
	if got := len(f.pool.waiting); got != 0 || f.pool.Len() != 6 {
		t.Errorf("after a run's transaction came: %d waiting, %d pending; want 0 and 6", got, f.pool.Len())
	}
	rich := f.tx(1, chain.TxBPM, 3, 70, 1000)
	if err := f.pool.Add(rich, f.st); !errors.Is(err, ErrPoolFull) {
		t.Errorf("a waiting transaction paying 1,000 into a pool full of runs: got %v, want ErrPoolFull", err)
	}
}

// The node's own users get a place in a pool full of gossiped transactions paying as much; when a flood pays
// more, the refusal says what fee would get in.
func TestMempoolLocalOutranksEqualGossip(t *testing.T) {
	f := newPoolFixtureWith(t, 1<<20)
	f.pool.maxTxs = 2
	f.mustAdd(t, f.bpm(1, 0), f.bpm(1, 1))
	if err := f.pool.Add(f.bpm(0, 0), f.st); !errors.Is(err, ErrPoolFull) {
		t.Fatalf("gossip at an equal fee: got %v, want ErrPoolFull", err)
	}
	if err := f.pool.AddLocal(f.bpm(0, 0), f.st); err != nil {
		t.Fatalf("local at an equal fee: %v", err)
	}
	g := newPoolFixtureWith(t, 1<<20)
	g.pool.maxTxs = 2
	g.mustAdd(t, g.tx(1, chain.TxBPM, 0, 70, 7), g.tx(1, chain.TxBPM, 1, 70, 7))
	err := g.pool.AddLocal(g.bpm(0, 0), g.st)
	if !errors.Is(err, ErrPoolFull) || !strings.Contains(err.Error(), "a fee of 7 would get in") {
		t.Errorf("local below a paying flood: got %v, want ErrPoolFull naming a fee of 7", err)
	}
}

// Stale lists the runs that can apply, the longest waiting sender first, each in nonce order, never a
// transaction behind a gap, and only senders that waited long enough.
func TestMempoolStaleOldestRunFirst(t *testing.T) {
	f := newPoolFixture(t)
	f.mustAdd(t, f.bpm(1, 0), f.bpm(1, 1), f.bpm(1, 3)) // 3 waits
	f.now = f.now.Add(time.Second)
	f.mustAdd(t, f.bpm(0, 0))
	got := f.pool.Stale(f.st, time.Time{}, 10)
	want := []chain.Tx{f.bpm(1, 0), f.bpm(1, 1), f.bpm(0, 0)}
	if len(got) != len(want) {
		t.Fatalf("got %d transactions, want %d", len(got), len(want))
	}
	for i := range want {
		if got[i].ID() != want[i].ID() {
			t.Errorf("position %d: got nonce %d of %s, want nonce %d of %s", i, got[i].Nonce, got[i].From.Short(),
				want[i].Nonce, want[i].From.Short())
		}
	}
	if got := f.pool.Stale(f.st, f.now.Add(-time.Second), 10); len(got) != 2 {
		t.Errorf("before the second sender's admission: got %d transactions, want 2", len(got))
	}
	if got := f.pool.Stale(f.st, time.Time{}, 1); len(got) != 1 {
		t.Errorf("max 1: got %d", len(got))
	}
}

// Transactions that wait behind a gap are charged one step each, from the account after every pending one; that
// account must be the one a walk over all of them in nonce order gives, and admission must refuse exactly what
// the walk cannot pay for, whatever the order of arrival.
func TestMempoolChargesWaitingTransactionsInOrder(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 11))
	for round := range 200 {
		f := newPoolFixtureWith(t, 60)
		from := addrOf(f.keys[0])
		var txs []chain.Tx
		for n := range chain.Nonce(MaxSenderWaiting + 1) { // never more waiting than a sender may have
			kind, value := chain.TxBPM, uint64(70)
			switch rng.IntN(6) {
			case 0:
				kind, value = chain.TxTransfer, uint64(rng.IntN(8))
			case 1:
				kind, value = chain.TxStake, uint64(rng.IntN(4))
			case 2:
				kind, value = chain.TxUnstake, uint64(rng.IntN(4))
			}
			txs = append(txs, f.tx(0, kind, n, value, 1))
		}
		rng.Shuffle(len(txs), func(i, j int) { txs[i], txs[j] = txs[j], txs[i] })
		for _, tx := range txs {
			err := f.pool.Add(tx, f.st)
			_, walkErr := walkPending(f.pool.senders[from], f.st.Account(from), &tx)
			if (err == nil) != (walkErr == nil) && !errors.Is(err, ErrBreaksLater) {
				t.Fatalf("round %d, nonce %d: Add says %v, a walk over all pending says %v", round, tx.Nonce, err, walkErr)
			}
			s := f.pool.senders[from]
			if s == nil {
				continue
			}
			want, err := walkPending(s, f.st.Account(from), nil)
			if err != nil {
				t.Fatalf("round %d: the pending transactions do not apply in order: %v", round, err)
			}
			if s.tail != want {
				t.Fatalf("round %d, after nonce %d: tail %+v, a walk gives %+v", round, tx.Nonce, s.tail, want)
			}
		}
	}
}

// walkPending applies s's pending transactions, and extra, in nonce order from base; it returns the account after
// the last of them.
func walkPending(s *senderTxs, base chain.Account, extra *chain.Tx) (chain.Account, error) {
	acct := base
	hi := base.Nonce
	if s != nil && len(s.txs) > 0 {
		hi = s.top
	}
	if extra != nil {
		hi = max(hi, extra.Nonce)
	}
	for n := base.Nonce; n <= hi; n++ {
		var tx *chain.Tx
		switch {
		case extra != nil && extra.Nonce == n:
			tx = extra
		case s != nil && s.txs[n] != nil:
			tx = &s.txs[n].tx
		default:
			continue
		}
		var err error
		if acct, err = spend(acct, tx); err != nil {
			return acct, err
		}
	}
	return acct, nil
}

// NextFree skips the nonces the caller says are taken and the waiting transactions the pool holds above the run,
// and gives the first nonce neither holds: a node that signed nonce 1 and lost it from its pool (expired, evicted)
// while its pending-transaction log still holds it must not sign nonce 1 again.
func TestMempoolNextFreeSkipsHeldNonces(t *testing.T) {
	f := newPoolFixture(t)
	a := addrOf(f.keys[0])
	f.mustAdd(t, f.bpm(0, 0), f.bpm(0, 3))
	held := map[chain.Nonce]bool{1: true, 2: true, 5: true}
	if got := f.pool.NextNonce(a, f.st); got != 1 {
		t.Fatalf("NextNonce: got %d, want 1, the end of the run", got)
	}
	if got := f.pool.NextFree(a, f.st, func(n chain.Nonce) bool { return held[n] }); got != 4 {
		t.Errorf("NextFree with 1, 2 and 5 held and 3 waiting: got %d, want 4", got)
	}
	b := addrOf(f.keys[1]) // no transaction in the pool: from the account's nonce
	if got := f.pool.NextFree(b, f.st, func(n chain.Nonce) bool { return n == 0 }); got != 1 {
		t.Errorf("NextFree of a sender the pool does not hold, nonce 0 held: got %d, want 1", got)
	}
	if got := f.pool.NextFree(b, f.st, nil); got != 0 || len(f.pool.Senders()) != 1 {
		t.Errorf("NextFree without held: got %d with %d senders kept, want 0 and 1", got, len(f.pool.Senders()))
	}
}
