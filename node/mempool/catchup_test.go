package mempool

import (
	"slices"
	"testing"
	"time"

	"github.com/posnode/posnode/chain"
)

// After a block, a sender whose account moved exactly as the pool projected (the block applied the bottom of its
// run) is brought up to date in one step; any other move is walked. Either way the pool ends as a pool that
// admitted the remaining transactions on the new head would be.
func TestMempoolCatchUpMatchesAWalk(t *testing.T) {
	for _, c := range []struct {
		name    string
		applied int  // how many of sender 0's pending nonces the block applies
		gift    bool // the block also applies a transfer from sender 1 to sender 0
		insert  bool // a transaction was admitted below the sender's top (into a gap) before the block
		want    bool // catchUp takes the one step
	}{
		{"the bottom of the run", 2, false, false, true},
		{"the whole run", 4, false, false, true},
		{"the bottom and a transfer in", 2, true, false, false},
		{"after an admission into a gap", 2, false, true, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := newPoolFixture(t)
			run := []chain.Tx{f.bpm(0, 0), f.bpm(0, 1), f.bpm(0, 2), f.bpm(0, 3)}
			waiting := f.bpm(0, 6)
			f.mustAdd(t, run...)
			f.mustAdd(t, waiting)
			if c.insert {
				f.mustAdd(t, f.bpm(0, 5)) // below the top, behind the gap at 4
			}
			head := f.st.Clone()
			block := slices.Clone(run[:c.applied])
			if c.gift {
				block = append(block, f.tx(1, chain.TxTransfer, 0, 10, 1))
			}
			for i := range block {
				if err := head.ApplyTx(&block[i]); err != nil {
					t.Fatal(err)
				}
			}
			f.pool.Remove(block)
			s := f.pool.senders[addrOf(f.keys[0])]
			probe := *s
			if got := probe.catchUp(head.Account(addrOf(f.keys[0]))); got != c.want {
				t.Errorf("catchUp: got %v, want %v", got, c.want)
			}
			f.pool.Revalidate(head)

			fresh := New(f.proto.TxFee, func() time.Time { return f.now })
			for _, tx := range f.pool.From(addrOf(f.keys[0])) {
				_ = fresh.Add(tx, head) // those behind the gap wait, as in the pool
			}
			if got, want := f.pool.Select(head, 100), fresh.Select(head, 100); !slices.Equal(txIDs(got), txIDs(want)) {
				t.Errorf("select: got %d transactions, want %d as a fresh pool's", len(got), len(want))
			}
			a := addrOf(f.keys[0])
			if got, want := f.pool.NextNonce(a, head), fresh.NextNonce(a, head); got != want {
				t.Errorf("next nonce: got %d, want %d", got, want)
			}
			if got, want := len(f.pool.waiting), len(fresh.waiting); got != want {
				t.Errorf("waiting: got %d, want %d", got, want)
			}
			ps, fs := f.pool.senders[a], fresh.senders[a]
			if ps.run != fs.run || ps.after != fs.after || ps.tail != fs.tail || ps.base != fs.base {
				t.Errorf("run: got %d %+v %+v, want %d %+v %+v", ps.run, ps.after, ps.tail, fs.run, fs.after, fs.tail)
			}
			if got, want := f.pool.Len(), 5-c.applied+btoi(c.insert); got != want {
				t.Errorf("len: got %d, want %d", got, want)
			}
		})
	}
}

func txIDs(txs []chain.Tx) []chain.Hash {
	out := make([]chain.Hash, len(txs))
	for i := range txs {
		out[i] = txs[i].ID()
	}
	return out
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// Expiry drops a sender's transactions from its lowest expired nonce on, whichever the reason, and looks only
// at the oldest transactions: one admitted later stays.
func TestMempoolExpiryByAge(t *testing.T) {
	f := newPoolFixture(t)
	old := []chain.Tx{f.bpm(0, 0), f.bpm(0, 1)}
	f.mustAdd(t, old...)
	f.now = f.now.Add(maxTxAge / 2)
	young := f.bpm(1, 0)
	f.mustAdd(t, young)
	f.now = f.now.Add(maxTxAge/2 + time.Second)
	f.pool.Revalidate(f.st)
	if f.pool.Has(old[0].ID()) || f.pool.Has(old[1].ID()) || !f.pool.Has(young.ID()) {
		t.Fatalf("after maxTxAge of the first two: has %v %v %v, want false false true", f.pool.Has(old[0].ID()),
			f.pool.Has(old[1].ID()), f.pool.Has(young.ID()))
	}
	if got := f.pool.ages.oldest; got == nil || got.id != young.ID() || f.pool.ages.newest != got {
		t.Errorf("age order after expiry: got oldest %v, want the young transaction alone", got)
	}
}
