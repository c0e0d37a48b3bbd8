package chain

import (
	"crypto/ed25519"
	"errors"
	"slices"
	"testing"
)

func TestProposeSkipsInvalidTxs(t *testing.T) {
	tr := openTestTree(t, testGenesis(), NewMemStore())
	id := tr.ChainID()
	growHead(t, tr, 2, 1)
	st := tr.HeadState()
	nonce := func(i int) Nonce { return st.Account(testAddr(i)).Nonce }

	good0 := signedTx(id, 0, TxTransfer, nonce(0), testAddr(3), 10, 1)
	good1 := signedTx(id, 0, TxBPM, nonce(0)+1, Address{}, 80, 1) // depends on good0
	badSig := signedTx(id, 1, TxTransfer, nonce(1), testAddr(3), 10, 1)
	badSig.Value = 11
	tests := []struct {
		tx   Tx
		want error // nil: included
	}{
		{good0, nil},
		{signedTx(id, 2, TxTransfer, nonce(2)+1, testAddr(3), 10, 1), ErrBadNonce},
		{good1, nil},
		{badSig, ErrBadSignature},
		{signedTx(id, 2, TxTransfer, nonce(2), testAddr(3), 10, 0), ErrFeeTooLow},
		{signedTx(id, 2, TxBPM, nonce(2), Address{}, 0, 1), ErrInvalidTx},
		{signedTx(id, 2, TxTransfer, nonce(2), testAddr(3), 1_000_000, 1), ErrInsufficientBalance},
		{signedTx(id, 4, TxTransfer, 0, testAddr(3), 1, 1), ErrUnknownAccount},
		{good0, ErrBadNonce}, // a duplicate
	}
	var txs []Tx
	for _, tc := range tests {
		txs = append(txs, tc.tx)
	}
	head := tr.Head()
	slot := head.Slot + 1
	key := testKey(leaderAt(t, tr, head.Hash, slot))
	b, rejected, err := tr.Propose(slot, key, txs)
	if err != nil {
		t.Fatalf("propose: %v", err)
	}
	if got, want := txIDs(b.Txs), []Hash{good0.ID(), good1.ID()}; !slices.Equal(got, want) {
		t.Errorf("included txs: got %v, want %v", got, want)
	}
	var wantRejected []error
	for _, tc := range tests {
		if tc.want != nil {
			wantRejected = append(wantRejected, tc.want)
		}
	}
	if len(rejected) != len(wantRejected) {
		t.Fatalf("rejected: got %d, want %d", len(rejected), len(wantRejected))
	}
	for i, r := range rejected {
		if !errors.Is(r.Err, wantRejected[i]) {
			t.Errorf("rejected tx %d: got %v, want %v", i, r.Err, wantRejected[i])
		}
	}
	want := Header{Height: head.Height + 1, Slot: slot, Parent: head.Hash, Proposer: AddressOf(key.Public().(ed25519.PublicKey))}
	if got := b.Header; got.Height != want.Height || got.Slot != want.Slot || got.Parent != want.Parent || got.Proposer != want.Proposer {
		t.Errorf("header: got %+v, want %+v", got, want)
	}
	if ch, err := tr.Insert(b, slot); err != nil || ch.Head != b.Tip() {
		t.Errorf("insert the proposed block: got head %+v, %v; want %+v", ch.Head, err, b.Tip())
	}
}

func TestProposeSlotNotAfterHead(t *testing.T) {
	tr := openTestTree(t, testGenesis(), NewMemStore())
	growHead(t, tr, 1, 0)
	head := tr.Head()
	for _, slot := range []Slot{head.Slot - 1, head.Slot} {
		if _, _, err := tr.Propose(slot, testKey(0), nil); !errors.Is(err, ErrSlotNotAfterParent) {
			t.Errorf("propose at slot %d with the head at %d: got %v, want ErrSlotNotAfterParent", slot, head.Slot, err)
		}
	}
	if _, _, err := tr.Propose(head.Slot+1, ed25519.PrivateKey{1, 2}, nil); err == nil {
		t.Errorf("propose with a short key: got nil error")
	}
}

func TestProposeStopsAtMaxBlockTxs(t *testing.T) {
	if testing.Short() || raceDetector {
		t.Skip("signs and verifies 5001 transactions: seconds, and more with -race")
	}
	tr := openTestTree(t, richGenesis(), NewMemStore())
	txs := make([]Tx, MaxBlockTxs+1)
	for i := range txs {
		txs[i] = signedTx(tr.ChainID(), 0, TxBPM, Nonce(i), Address{}, 60, 1)
	}
	key := testKey(leaderAt(t, tr, tr.ChainID(), 1))
	b, rejected, err := tr.Propose(1, key, txs)
	if err != nil {
		t.Fatalf("propose: %v", err)
	}
	if len(b.Txs) != MaxBlockTxs || len(rejected) != 0 {
		t.Errorf("propose %d txs: got %d included, %d rejected; want %d, 0", len(txs), len(b.Txs), len(rejected), MaxBlockTxs)
	}
	if _, err := tr.Insert(b, 1); err != nil {
		t.Errorf("insert a full block: %v", err)
	}
}
