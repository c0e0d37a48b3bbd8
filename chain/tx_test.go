package chain

import (
	"bytes"
	"errors"
	"testing"
)

func TestTxEncodeRoundTrip(t *testing.T) {
	chainID := testGenesis().Hash()
	tests := []struct {
		name string
		tx   Tx
	}{
		{"transfer", signedTx(chainID, 0, TxTransfer, 0, testAddr(1), 5, 1)},
		{"stake", signedTx(chainID, 1, TxStake, 7, Address{}, 100, 2)},
		{"unstake", signedTx(chainID, 2, TxUnstake, 1<<40, Address{}, 1, 1)},
		{"bpm", signedTx(chainID, 3, TxBPM, 3, Address{}, 72, 1)},
		{"max fields", Tx{Kind: TxTransfer, From: testAddr(0), Nonce: ^Nonce(0), To: testAddr(1), Value: ^uint64(0), Fee: ^Amount(0)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			enc := tt.tx.Encode()
			if len(enc) != TxSize {
				t.Fatalf("got %d bytes, want %d", len(enc), TxSize)
			}
			got, err := DecodeTx(enc)
			if err != nil {
				t.Fatalf("DecodeTx: %v", err)
			}
			if got != tt.tx {
				t.Errorf("got %+v, want %+v", got, tt.tx)
			}
			if again := got.Encode(); !bytes.Equal(again, enc) {
				t.Errorf("re-encoding differs: got %x, want %x", again, enc)
			}
			if got := tt.tx.AppendTo([]byte{9}); !bytes.Equal(got[1:], enc) || got[0] != 9 {
				t.Errorf("AppendTo did not append the encoding")
			}
		})
	}
}

func TestTxEncodingLayout(t *testing.T) {
	tx := Tx{Kind: TxStake, Nonce: 0x0102030405060708, Value: 0x1112131415161718, Fee: 0x2122232425262728}
	tx.From[0], tx.To[31], tx.Sig[63] = 0xaa, 0xbb, 0xcc
	enc := tx.Encode()
	checks := []struct {
		off  int
		want byte
	}{{0, 2}, {1, 0xaa}, {33, 0x01}, {40, 0x08}, {72, 0xbb}, {73, 0x11}, {80, 0x18}, {81, 0x21}, {88, 0x28}, {152, 0xcc}}
	for _, c := range checks {
		if enc[c.off] != c.want {
			t.Errorf("byte %d: got %#x, want %#x", c.off, enc[c.off], c.want)
		}
	}
}

func TestDecodeTxErrors(t *testing.T) {
	tx := signedTx(testGenesis().Hash(), 0, TxTransfer, 0, testAddr(1), 5, 1)
	valid := tx.Encode()
	withKind := func(k byte) []byte { b := bytes.Clone(valid); b[0] = k; return b }
	tests := []struct {
		name string
		in   []byte
	}{
		{"empty", nil},
		{"short", valid[:TxSize-1]},
		{"one byte", valid[:1]},
		{"trailing", append(bytes.Clone(valid), 0)},
		{"kind 0", withKind(0)},
		{"kind 5", withKind(5)},
		{"kind 255", withKind(255)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := DecodeTx(tt.in)
			if !errors.Is(err, ErrMalformed) {
				t.Errorf("got %v, want ErrMalformed", err)
			}
		})
	}
}

func TestTxSignVerify(t *testing.T) {
	chainID := testGenesis().Hash()
	tx := signedTx(chainID, 0, TxTransfer, 0, testAddr(1), 5, 1)
	if err := tx.Verify(chainID); err != nil {
		t.Fatalf("Verify: %v", err)
	}
	other := chainID
	other[0] ^= 1
	tampered := []struct {
		name    string
		mutate  func(*Tx)
		chainID Hash
	}{
		{"other chain", func(*Tx) {}, other},
		{"value", func(tx *Tx) { tx.Value++ }, chainID},
		{"fee", func(tx *Tx) { tx.Fee++ }, chainID},
		{"nonce", func(tx *Tx) { tx.Nonce++ }, chainID},
		{"kind", func(tx *Tx) { tx.Kind = TxStake }, chainID},
		{"to", func(tx *Tx) { tx.To = testAddr(2) }, chainID},
		{"from", func(tx *Tx) { tx.From = testAddr(2) }, chainID},
		{"sig", func(tx *Tx) { tx.Sig[5] ^= 1 }, chainID},
	}
	for _, tt := range tampered {
		t.Run(tt.name, func(t *testing.T) {
			c := tx
			tt.mutate(&c)
			if err := c.Verify(tt.chainID); !errors.Is(err, ErrBadSignature) {
				t.Errorf("got %v, want ErrBadSignature", err)
			}
		})
	}
	zero := tx
	zero.From = Address{} // the zero encoding is a point of order 4: refused before the signature is looked at
	if err := zero.Verify(chainID); !errors.Is(err, ErrInvalidTx) {
		t.Errorf("zero sender: got %v, want ErrInvalidTx", err)
	}
}

func TestTxSigningBytes(t *testing.T) {
	chainID := testGenesis().Hash()
	tx := signedTx(chainID, 0, TxBPM, 9, Address{}, 60, 1)
	sb := tx.SigningBytes(chainID)
	want := append(append([]byte("posnode/tx/v1"), chainID[:]...), tx.Encode()[:89]...)
	if !bytes.Equal(sb, want) {
		t.Errorf("got %x, want %x", sb, want)
	}
	if id, want := tx.ID(), HashBytes(tx.Encode()); id != want {
		t.Errorf("ID: got %s, want %s", id, want)
	}
}

func TestTxValidateBasic(t *testing.T) {
	a, b := testAddr(0), testAddr(1)
	tests := []struct {
		name string
		tx   Tx
		ok   bool
	}{
		{"transfer", NewTx(TxTransfer, a, 0, b, 1, 1), true},
		{"stake", NewTx(TxStake, a, 0, Address{}, 1, 1), true},
		{"unstake", NewTx(TxUnstake, a, 0, Address{}, 1, 1), true},
		{"bpm 1", NewTx(TxBPM, a, 0, Address{}, 1, 1), true},
		{"bpm 300", NewTx(TxBPM, a, 0, Address{}, 300, 1), true},
		{"zero fee is stateless-valid", NewTx(TxTransfer, a, 0, b, 1, 0), true},
		{"kind 0", NewTx(0, a, 0, Address{}, 1, 1), false},
		{"kind 9", NewTx(9, a, 0, Address{}, 1, 1), false},
		{"zero sender", NewTx(TxStake, Address{}, 0, Address{}, 1, 1), false},
		{"bpm 0", NewTx(TxBPM, a, 0, Address{}, 0, 1), false},
		{"bpm 301", NewTx(TxBPM, a, 0, Address{}, 301, 1), false},
		{"transfer zero value", NewTx(TxTransfer, a, 0, b, 0, 1), false},
		{"stake zero value", NewTx(TxStake, a, 0, Address{}, 0, 1), false},
		{"unstake zero value", NewTx(TxUnstake, a, 0, Address{}, 0, 1), false},
		{"transfer without recipient", NewTx(TxTransfer, a, 0, Address{}, 1, 1), false},
		{"transfer to self", NewTx(TxTransfer, a, 0, a, 1, 1), false},
		{"stake with recipient", NewTx(TxStake, a, 0, b, 1, 1), false},
		{"unstake with recipient", NewTx(TxUnstake, a, 0, b, 1, 1), false},
		{"bpm with recipient", NewTx(TxBPM, a, 0, b, 60, 1), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.tx.ValidateBasic()
			if tt.ok && err != nil {
				t.Errorf("got %v, want nil", err)
			}
			if !tt.ok && !errors.Is(err, ErrInvalidTx) {
				t.Errorf("got %v, want ErrInvalidTx", err)
			}
		})
	}
}

func TestTxKindString(t *testing.T) {
	tests := []struct {
		k    TxKind
		want string
	}{{TxTransfer, "transfer"}, {TxStake, "stake"}, {TxUnstake, "unstake"}, {TxBPM, "bpm"}, {7, "kind(7)"}}
	for _, tt := range tests {
		if got := tt.k.String(); got != tt.want {
			t.Errorf("TxKind(%d): got %q, want %q", tt.k, got, tt.want)
		}
	}
}
