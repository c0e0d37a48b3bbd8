package chain

import (
	"errors"
	"slices"
	"testing"
)

// TestTxProof: every transaction of the golden block is proven against its header's TxRoot; another id, another
// header and an index out of range are refused.
func TestTxProof(t *testing.T) {
	b := goldenBlock(t)
	for i := range b.Txs {
		p, err := TxProof(b.Txs, i)
		if err != nil {
			t.Fatal(err)
		}
		if err := VerifyTxProof(b.Header.TxRoot, b.Txs[i].ID(), p); err != nil {
			t.Errorf("tx %d: %v", i, err)
		}
		other := b.Txs[(i+1)%len(b.Txs)].ID()
		if err := VerifyTxProof(b.Header.TxRoot, other, p); !errors.Is(err, ErrBadProof) {
			t.Errorf("tx %d's proof for tx %d: got %v, want ErrBadProof", i, (i+1)%len(b.Txs), err)
		}
		if err := VerifyTxProof(b.Header.StateRoot, b.Txs[i].ID(), p); !errors.Is(err, ErrBadProof) {
			t.Errorf("tx %d against the state root: got %v, want ErrBadProof", i, err)
		}
	}
	for _, i := range []int{-1, len(b.Txs)} {
		if _, err := TxProof(b.Txs, i); !errors.Is(err, ErrNotInList) {
			t.Errorf("TxProof(%d): got %v, want ErrNotInList", i, err)
		}
	}
}

// provenState returns the state after the golden block: accounts that staked, unstaked and were paid, and
// stake tables of epochs 0 to 2.
func provenState(t testing.TB) *State {
	t.Helper()
	s := testGenesis().State()
	if err := s.ApplyBlock(goldenBlock(t)); err != nil {
		t.Fatal(err)
	}
	return s
}

// TestAccountProof: every account is proven against the state root; a changed field, another address and
// another state's root are refused; a missing account has no proof.
func TestAccountProof(t *testing.T) {
	s := provenState(t)
	root := s.Root()
	for a, acc := range s.accounts.all() {
		p, err := s.AccountProof(a)
		if err != nil {
			t.Fatal(err)
		}
		if err := VerifyAccountProof(root, a, acc, p); err != nil {
			t.Errorf("account %s: %v", a.Short(), err)
		}
		dec, err := DecodeAccountProof(p.Encode())
		if err != nil || dec.Epoch != p.Epoch || dec.TablesRoot != p.TablesRoot || !slices.Equal(dec.Path.Path, p.Path.Path) {
			t.Errorf("account %s: round trip gave %+v, %v", a.Short(), dec, err)
		}
		lied := acc
		lied.Nonce++
		if err := VerifyAccountProof(root, a, lied, p); !errors.Is(err, ErrBadProof) {
			t.Errorf("account %s with nonce+1: got %v, want ErrBadProof", a.Short(), err)
		}
		if err := VerifyAccountProof(root, testAddr(9), acc, p); !errors.Is(err, ErrBadProof) {
			t.Errorf("account %s's proof for another address: got %v, want ErrBadProof", a.Short(), err)
		}
		if err := VerifyAccountProof(testGenesis().State().Root(), a, acc, p); !errors.Is(err, ErrBadProof) {
			t.Errorf("account %s against the genesis root: got %v, want ErrBadProof", a.Short(), err)
		}
	}
	if _, err := s.AccountProof(testAddr(9)); !errors.Is(err, ErrNotInList) {
		t.Errorf("proof of a missing account: got %v, want ErrNotInList", err)
	}
}

// TestStakeTableProof: each table the state keeps is proven against the state root for its own epoch and no
// other; a changed table is refused; an epoch the state keeps no table of has no proof.
func TestStakeTableProof(t *testing.T) {
	s := provenState(t)
	rotated := s.Clone()
	if err := rotated.rotate(3); err != nil {
		t.Fatal(err)
	}
	for _, st := range []*State{s, rotated} {
		root := st.Root()
		for e := st.Epoch(); e < st.Epoch()+StakeLag; e++ {
			table, p, err := st.StakeTableProof(e)
			if err != nil {
				t.Fatal(err)
			}
			if want := st.Validators(e); !slices.Equal(table, want) {
				t.Fatalf("epoch %d: proven table %v, Validators gives %v", e, table, want)
			}
			if err := VerifyStakeTable(root, e, table, p); err != nil {
				t.Errorf("epoch %d: %v", e, err)
			}
			if err := VerifyStakeTable(root, e+1, table, p); !errors.Is(err, ErrBadProof) {
				t.Errorf("epoch %d's table as epoch %d: got %v, want ErrBadProof", e, e+1, err)
			}
			changed := slices.Clone(table)
			changed[0].Amount++
			if err := VerifyStakeTable(root, e, changed, p); !errors.Is(err, ErrBadProof) {
				t.Errorf("epoch %d with a stake changed: got %v, want ErrBadProof", e, err)
			}
			if err := VerifyStakeTable(root, e, table[1:], p); !errors.Is(err, ErrBadProof) {
				t.Errorf("epoch %d with a validator left out: got %v, want ErrBadProof", e, err)
			}
			dec, err := DecodeStakeTableProof(p.Encode())
			if err != nil || VerifyStakeTable(root, e, table, dec) != nil {
				t.Errorf("epoch %d: decoded proof gave %v", e, err)
			}
		}
		for _, e := range []Epoch{st.Epoch() + StakeLag} {
			if _, _, err := st.StakeTableProof(e); !errors.Is(err, ErrNotInList) {
				t.Errorf("epoch %d of a state in epoch %d: got %v, want ErrNotInList", e, st.Epoch(), err)
			}
		}
	}
	if _, _, err := rotated.StakeTableProof(2); !errors.Is(err, ErrNotInList) {
		t.Errorf("epoch 2 of a state in epoch 3: got %v, want ErrNotInList", err)
	}
}

// TestStateRootCommitsToTables: states that differ only in a stake table have different roots.
func TestStateRootCommitsToTables(t *testing.T) {
	s := provenState(t)
	c := s.Clone()
	c.tables = slices.Clone(c.tables)
	c.tables[2] = c.tables[2][1:]
	if s.Root() == c.Root() {
		t.Error("a state with a validator removed from its table of epoch 2 has the same root")
	}
}
