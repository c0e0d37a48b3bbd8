package chain

import (
	"bytes"
	"crypto/ed25519"
	"errors"
	"testing"
)

func TestTxBatchRoundTrip(t *testing.T) {
	_, key, _ := ed25519.GenerateKey(bytes.NewReader(make([]byte, 64)))
	from := AddressOf(key.Public().(ed25519.PublicKey))
	var chainID Hash
	txs := make([]Tx, 3)
	for i := range txs {
		txs[i] = NewTx(TxBPM, from, Nonce(i), Address{}, uint64(60+i), 1)
		txs[i].Sign(chainID, key)
	}
	one := EncodeTxBatch(txs[:1])
	if !bytes.Equal(one, txs[0].Encode()) {
		t.Fatalf("a batch of one is not the transaction's own encoding")
	}
	got, err := DecodeTxBatch(EncodeTxBatch(txs))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(txs) {
		t.Fatalf("got %d transactions, want %d", len(got), len(txs))
	}
	for i := range txs {
		if got[i] != txs[i] {
			t.Errorf("transaction %d: got %+v, want %+v", i, got[i], txs[i])
		}
	}
}

func TestDecodeTxBatchRefuses(t *testing.T) {
	t0 := NewTx(TxBPM, Address{1}, 0, Address{}, 60, 1)
	tx := t0.Encode()
	unknown := append([]byte{}, tx...)
	unknown[0] = 0xff
	cases := []struct {
		name string
		in   []byte
	}{
		{"empty", nil},
		{"torn", tx[:TxSize-1]},
		{"one and a bit", append(append([]byte{}, tx...), 0)},
		{"too many", bytes.Repeat(tx, MaxTxBatch+1)},
		{"unknown kind in the second", append(append([]byte{}, tx...), unknown...)},
	}
	for _, c := range cases {
		if txs, err := DecodeTxBatch(c.in); !errors.Is(err, ErrMalformed) || txs != nil {
			t.Errorf("%s: got %d txs, %v; want ErrMalformed", c.name, len(txs), err)
		}
	}
	if txs, err := DecodeTxBatch(bytes.Repeat(tx, MaxTxBatch)); err != nil || len(txs) != MaxTxBatch {
		t.Errorf("full batch: got %d txs, %v; want %d", len(txs), err, MaxTxBatch)
	}
}
