package chain

import (
	"fmt"
	"testing"
)

func BenchmarkVerifyTx(b *testing.B) {
	chainID := testGenesis().Hash()
	tx := signedTx(chainID, 0, TxTransfer, 0, testAddr(1), 5, 1)
	for b.Loop() {
		if err := tx.Verify(chainID); err != nil {
			b.Fatal(err)
		}
	}
}

// benchChain returns a genesis with senders funded accounts and a block of n signed transactions
// (alternating transfers and bpm readings) on it, valid for ValidateBlock.
func benchChain(b *testing.B, senders, n int) (*Genesis, *Block) {
	b.Helper()
	g := testGenesis()
	for i := 10; i < 10+senders; i++ {
		g.Allocations = append(g.Allocations, Allocation{Address: testAddr(i), Balance: 1_000_000})
	}
	chainID := g.Hash()
	txs := make([]Tx, 0, n)
	for i := range n {
		from, nonce := 10+i%senders, Nonce(i/senders)
		if i%2 == 0 {
			txs = append(txs, signedTx(chainID, from, TxTransfer, nonce, testAddr(10+(i+1)%senders), 7, 1))
		} else {
			txs = append(txs, signedTx(chainID, from, TxBPM, nonce, Address{}, 60+uint64(i%100), 1))
		}
	}
	return g, buildBlock(b, chainID, g.Tip(), g.State(), 1, 0, txs)
}

// BenchmarkValidateBlock validates one block of n transactions whose signatures are all checked: the block
// signature, its VRF proof (PROTOCOL.md §7), every transaction signature and the state transition.
func BenchmarkValidateBlock(b *testing.B) {
	for _, n := range []int{0, 100, 1000} {
		b.Run(fmt.Sprintf("txs=%d", n), func(b *testing.B) {
			g, blk := benchChain(b, 100, n)
			chainID, parent, st := g.Hash(), g.Tip(), g.State()
			for b.Loop() {
				if _, err := ValidateBlock(chainID, parent, st, blk, testAddr(0), 1); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkDecodeBlock(b *testing.B) {
	for _, n := range []int{1000} {
		b.Run(fmt.Sprintf("txs=%d", n), func(b *testing.B) {
			_, blk := benchChain(b, 100, n)
			enc := blk.Encode()
			b.SetBytes(int64(len(enc)))
			for b.Loop() {
				if _, err := DecodeBlock(enc); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkStateRoot(b *testing.B) {
	for _, n := range []int{100, 10000} {
		b.Run(fmt.Sprintf("accounts=%d", n), func(b *testing.B) {
			s := &State{}
			for i := range n {
				a := Address(HashBytes(fmt.Appendf(nil, "acct-%d", i)))
				s.accounts.put(a, Account{Balance: Amount(i), Nonce: Nonce(i)})
			}
			for b.Loop() {
				s.Root()
			}
		})
	}
}

func BenchmarkClone(b *testing.B) {
	g, _ := benchChain(b, 100, 0)
	s := g.State()
	for b.Loop() {
		s.Clone()
	}
}
