package chain

import (
	"errors"
	"fmt"
	"testing"
)

// smallOrderKey is the identity point's encoding, a small-order key: with the signature R = identity, S = 0
// (smallOrderSig), ZIP-215 verification accepts it for every message.
var smallOrderKey = Address{1}

var smallOrderSig = func() (s [64]byte) { s[0] = 1; return s }()

func TestSmallOrderKeys(t *testing.T) {
	chainID := testGenesis().Hash()
	for _, msg := range []string{"a", "b", "anything at all"} {
		if !verifySig(smallOrderKey, []byte(msg), smallOrderSig[:]) {
			t.Fatalf("the fixed signature did not verify %q under a small-order key: the premise of the rule is wrong", msg)
		}
	}
	if !smallOrderKey.IsSmallOrder() || testAddr(1).IsSmallOrder() {
		t.Fatalf("IsSmallOrder: got %v for the identity, %v for a real key; want true, false",
			smallOrderKey.IsSmallOrder(), testAddr(1).IsSmallOrder())
	}
	from := NewTx(TxBPM, smallOrderKey, 0, Address{}, 60, 1)
	from.Sig = smallOrderSig
	to := signedTx(chainID, 0, TxTransfer, 0, smallOrderKey, 5, 1)
	if err := to.ValidateBasic(); !errors.Is(err, ErrInvalidTx) {
		t.Errorf("to a small-order key: got %v, want ErrInvalidTx", err)
	}
	if err := from.Verify(chainID); !errors.Is(err, ErrInvalidTx) {
		t.Errorf("from a small-order key: got %v, want ErrInvalidTx", err)
	}
	if err := VerifyTxs(chainID, []Tx{to, from}); !errors.Is(err, ErrInvalidTx) {
		t.Errorf("batch with a tx from a small-order key: got %v, want ErrInvalidTx", err)
	}
	g := testGenesis()
	g.Allocations[0].Address = smallOrderKey
	if err := g.Validate(); !errors.Is(err, ErrBadGenesis) {
		t.Errorf("genesis allocation to a small-order key: got %v, want ErrBadGenesis", err)
	}
}

// TestVerifyTxsAgreesWithSingle: the batch names the same bad transaction the single checks find, and accepts
// exactly what they accept.
func TestVerifyTxsAgreesWithSingle(t *testing.T) {
	chainID := testGenesis().Hash()
	var txs []Tx
	for i := range 40 {
		txs = append(txs, signedTx(chainID, i%4, TxBPM, Nonce(i), Address{}, 60, 1))
	}
	if err := VerifyTxs(chainID, txs); err != nil {
		t.Fatalf("all good: got %v", err)
	}
	for _, bad := range []int{0, 17, 39} {
		broken := append([]Tx(nil), txs...)
		broken[bad].Sig[5] ^= 1
		err := VerifyTxs(chainID, broken)
		if !errors.Is(err, ErrBadSignature) || broken[bad].Verify(chainID) == nil {
			t.Fatalf("bad tx %d: batch %v, single %v; want both ErrBadSignature", bad, err, broken[bad].Verify(chainID))
		}
		if want := fmt.Sprintf("tx %d:", bad); err.Error()[:len(want)] != want {
			t.Errorf("bad tx %d: got %q, want it named", bad, err)
		}
	}
	if err := VerifyTxs(Hash{1}, txs); !errors.Is(err, ErrBadSignature) {
		t.Errorf("other chain: got %v, want ErrBadSignature", err)
	}
	c := NewSigCache(chainID, 100)
	if err := c.VerifyAll(txs); err != nil || !c.has(txs[7].ID()) {
		t.Errorf("cache: got %v, remembered %v; want nil, true", err, c.has(txs[7].ID()))
	}
}

func BenchmarkVerifyTxs(b *testing.B) {
	chainID := testGenesis().Hash()
	for _, n := range []int{64, 1024} {
		txs := make([]Tx, n)
		for i := range txs {
			txs[i] = signedTx(chainID, i%4, TxBPM, Nonce(i), Address{}, 60, 1)
		}
		b.Run(fmt.Sprintf("batch/n=%d", n), func(b *testing.B) {
			for b.Loop() {
				if err := VerifyTxs(chainID, txs); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/sig")
		})
		b.Run(fmt.Sprintf("single/n=%d", n), func(b *testing.B) {
			for b.Loop() {
				for i := range txs {
					if err := txs[i].Verify(chainID); err != nil {
						b.Fatal(err)
					}
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/sig")
		})
	}
}
