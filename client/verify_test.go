package client

import (
	"errors"
	"testing"

	"github.com/posnode/posnode/chain"
)

// inclusionFixture signs five records, puts them in a header, and returns them with the header's hash.
func inclusionFixture(t *testing.T) ([]chain.Tx, chain.Header, chain.Hash) {
	t.Helper()
	w := New(testKey("user"), chain.Hash{5}, 1)
	var txs []chain.Tx
	for n := range chain.Nonce(5) {
		tx, err := w.BPM(n, 60+uint64(n))
		if err != nil {
			t.Fatal(err)
		}
		txs = append(txs, tx)
	}
	h := chain.Header{Height: 7, Slot: 9, TxRoot: chain.TxRoot(txs), StateRoot: chain.Hash{4}}
	return txs, h, h.Hash()
}

// TestVerifyInclusion: each record is proven in the trusted block; a node that answers with another header, a
// proof of another record, or a header whose tx_root it changed is caught.
func TestVerifyInclusion(t *testing.T) {
	txs, h, trusted := inclusionFixture(t)
	for i := range txs {
		p, err := chain.TxProof(txs, i)
		if err != nil {
			t.Fatal(err)
		}
		inc := Inclusion{Header: h, Proof: p}
		if err := VerifyInclusion(trusted, txs[i].ID(), inc); err != nil {
			t.Errorf("record %d: %v", i, err)
		}
		if err := VerifyInclusion(trusted, txs[(i+1)%len(txs)].ID(), inc); !errors.Is(err, chain.ErrBadProof) {
			t.Errorf("record %d's proof for record %d: got %v, want ErrBadProof", i, (i+1)%len(txs), err)
		}
		forged := h
		forged.TxRoot = chain.TxRoot(append([]chain.Tx{txs[i]}, txs[:i]...))
		if err := VerifyInclusion(trusted, txs[i].ID(), Inclusion{Header: forged, Proof: p}); !errors.Is(err, ErrWrongHeader) {
			t.Errorf("record %d under a header with another tx_root: got %v, want ErrWrongHeader", i, err)
		}
	}
	notIn, err := New(testKey("stranger"), chain.Hash{5}, 1).BPM(0, 70)
	if err != nil {
		t.Fatal(err)
	}
	p, _ := chain.TxProof(txs, 0)
	if err := VerifyInclusion(trusted, notIn.ID(), Inclusion{Header: h, Proof: p}); !errors.Is(err, chain.ErrBadProof) {
		t.Errorf("a record not in the block: got %v, want ErrBadProof", err)
	}
}

// TestVerifyAccount: the account is proven against the trusted header's state_root; a changed balance and
// another header are caught.
func TestVerifyAccount(t *testing.T) {
	w := New(testKey("user"), chain.Hash{}, 1)
	st := testGenesis(w.Address()).State()
	p, err := st.AccountProof(w.Address())
	if err != nil {
		t.Fatal(err)
	}
	h := chain.Header{Height: 3, StateRoot: st.Root()}
	acc := st.Account(w.Address())
	if err := VerifyAccount(h.Hash(), h, w.Address(), acc, p); err != nil {
		t.Fatal(err)
	}
	richer := acc
	richer.Balance += 1_000_000
	if err := VerifyAccount(h.Hash(), h, w.Address(), richer, p); !errors.Is(err, chain.ErrBadProof) {
		t.Errorf("a richer account: got %v, want ErrBadProof", err)
	}
	other := chain.Header{Height: 4, StateRoot: st.Root()}
	if err := VerifyAccount(h.Hash(), other, w.Address(), acc, p); !errors.Is(err, ErrWrongHeader) {
		t.Errorf("another header: got %v, want ErrWrongHeader", err)
	}
}
