package chain

import (
	"errors"
	"testing"
)

func TestValidateBlock(t *testing.T) {
	g := testGenesis()
	chainID := g.Hash()
	parent := g.Tip()
	txs := []Tx{
		signedTx(chainID, 0, TxTransfer, 0, testAddr(9), 10, 1),
		signedTx(chainID, 1, TxBPM, 0, Address{}, 60, 1),
	}
	// resign fixes the roots and the signature after a mutation, so that only the intended check fails.
	resign := func(b *Block, st *State) {
		b.Header.TxRoot = TxRoot(b.Txs)
		post := st.Clone()
		if err := post.ApplyBlock(b); err == nil {
			b.Header.StateRoot = post.Root()
		}
		b.Sign(chainID, testKey(2))
	}
	tests := []struct {
		name    string
		mutate  func(b *Block, st *State)
		leader  Address
		maxSlot Slot
		want    error
	}{
		{"valid", func(*Block, *State) {}, testAddr(2), 5, nil},
		{"valid at max slot", func(*Block, *State) {}, testAddr(2), 3, nil},
		{"wrong parent", func(b *Block, st *State) { b.Header.Parent[0] ^= 1; resign(b, st) }, testAddr(2), 5, ErrWrongParent},
		{"height 2", func(b *Block, st *State) { b.Header.Height = 2; resign(b, st) }, testAddr(2), 5, ErrBadHeight},
		{"height 0", func(b *Block, st *State) { b.Header.Height = 0; resign(b, st) }, testAddr(2), 5, ErrBadHeight},
		{"slot 0", func(b *Block, st *State) { b.Header.Slot = 0; resign(b, st) }, testAddr(2), 5, ErrSlotNotAfterParent},
		{"future slot", func(*Block, *State) {}, testAddr(2), 2, ErrFutureSlot},
		{"not the leader", func(*Block, *State) {}, testAddr(1), 5, ErrWrongProposer},
		{"no leader", func(*Block, *State) {}, Address{}, 5, ErrWrongProposer},
		{"bad block signature", func(b *Block, _ *State) { b.Sig[0] ^= 1 }, testAddr(2), 5, ErrBadSignature},
		{"signed by another key", func(b *Block, _ *State) { b.Sign(chainID, testKey(1)) }, testAddr(2), 5, ErrBadSignature},
		{"tx root", func(b *Block, _ *State) { b.Header.TxRoot[0] ^= 1; b.Sign(chainID, testKey(2)) }, testAddr(2), 5, ErrBadTxRoot},
		{"invalid tx", func(b *Block, st *State) {
			b.Txs = append(b.Txs, signedTx(chainID, 0, TxBPM, 1, Address{}, 0, 1))
			resign(b, st)
		}, testAddr(2), 5, ErrInvalidTx},
		{"tx signed for another chain", func(b *Block, st *State) {
			b.Txs[1] = signedTx(HashBytes([]byte("other")), 1, TxBPM, 0, Address{}, 60, 1)
			resign(b, st)
		}, testAddr(2), 5, ErrBadSignature},
		{"tx with forged sender", func(b *Block, st *State) { b.Txs[1].From = testAddr(3); resign(b, st) }, testAddr(2), 5, ErrBadSignature},
		{"tx fails on state", func(b *Block, st *State) {
			b.Txs = append(b.Txs, signedTx(chainID, 0, TxTransfer, 1, testAddr(1), 5000, 1))
			resign(b, st)
		}, testAddr(2), 5, ErrInsufficientBalance},
		{"state root", func(b *Block, _ *State) { b.Header.StateRoot[0] ^= 1; b.Sign(chainID, testKey(2)) }, testAddr(2), 5, ErrBadStateRoot},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := g.State()
			b := buildBlock(t, chainID, parent, st, 3, 2, append([]Tx(nil), txs...))
			tt.mutate(b, st)
			before := st.Root()
			post, err := ValidateBlock(chainID, parent, st, b, tt.leader, tt.maxSlot)
			if st.Root() != before {
				t.Errorf("parent state modified")
			}
			if tt.want != nil {
				if !errors.Is(err, tt.want) || post != nil {
					t.Fatalf("got (%v, %v), want %v", post != nil, err, tt.want)
				}
				return
			}
			if err != nil {
				t.Fatalf("got %v, want nil", err)
			}
			if post.Root() != b.Header.StateRoot || post.Account(testAddr(9)).Balance != 10 {
				t.Errorf("post-state does not reflect the block")
			}
		})
	}
}

func TestValidateBlockChain(t *testing.T) {
	g := testGenesis()
	chainID := g.Hash()
	parent, st := g.Tip(), g.State()
	for i, slot := range []Slot{1, 4, 12, 31} {
		proposer := i % 3
		tx := signedTx(chainID, proposer, TxBPM, st.Account(testAddr(proposer)).Nonce, Address{}, 70, 1)
		b := buildBlock(t, chainID, parent, st, slot, proposer, []Tx{tx})
		post, err := ValidateBlock(chainID, parent, st, b, testAddr(proposer), slot)
		if err != nil {
			t.Fatalf("block %d: %v", i+1, err)
		}
		parent, st = b.Tip(), post
	}
	if parent.Height != 4 || st.Epoch() != 3 {
		t.Errorf("got height %d epoch %d, want 4 and 3", parent.Height, st.Epoch())
	}
	if _, err := ValidateBlock(chainID, parent, nil, &Block{}, testAddr(0), 100); err == nil {
		t.Errorf("nil parent state: got nil error")
	}
}
