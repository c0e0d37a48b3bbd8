package node

import (
	"crypto/ed25519"
	"crypto/sha256"
	"testing"

	"github.com/posnode/posnode/chain"
	"github.com/posnode/posnode/node/blocksync"
)

// readRange, run off the loop when a range answer arrives, verifies the records' signatures into the signature
// cache, so that the loop's validation of the blocks checks none of them again.
func TestReadRangeVerifiesSignaturesOffTheLoop(t *testing.T) {
	chainID := chain.HashBytes([]byte("warm"))
	seed := sha256.Sum256([]byte("sender"))
	key := ed25519.NewKeyFromSeed(seed[:])
	from := chain.AddressOf(key.Public().(ed25519.PublicKey))
	var blocks []*chain.Block
	var encoded [][]byte
	var txs []chain.Tx
	for h := range chain.Height(2) {
		b := &chain.Block{Header: chain.Header{Height: h + 1, Slot: chain.Slot(h + 1)}}
		if h > 0 {
			b.Header.Parent = blocks[h-1].Hash()
		}
		for i := range 3 {
			tx := chain.Tx{Kind: chain.TxBPM, From: from, Nonce: chain.Nonce(3*int(h) + i), Value: 70, Fee: 1}
			tx.Sign(chainID, key)
			b.Txs, txs = append(b.Txs, tx), append(txs, tx)
		}
		blocks, encoded = append(blocks, b), append(encoded, b.Encode())
	}
	n := &Node{sigs: chain.NewSigCache(chainID, 100)}
	got, err := n.readRange(blocksync.RangeReq{From: 1, Count: 2, MaxBytes: blocksync.MaxRangeBytes}, blocksync.EncodeBlocks(encoded), nil)
	if err != nil || len(got) != 2 {
		t.Fatalf("readRange: got %d blocks, %v; want 2, nil", len(got), err)
	}
	for i := range txs { // Verify counts a check only for a signature the cache does not hold
		if err := n.sigs.Verify(&txs[i]); err != nil {
			t.Fatal(err)
		}
	}
	if c := n.sigs.Checks(); c != 0 {
		t.Errorf("signatures the loop checks again after readRange: got %d, want 0", c)
	}
	other := chain.Tx{Kind: chain.TxBPM, From: from, Nonce: 99, Value: 70, Fee: 1}
	other.Sign(chainID, key)
	if err := n.sigs.Verify(&other); err != nil || n.sigs.Checks() != 1 {
		t.Errorf("a record of no block read: got %v and %d checks, want nil and 1", err, n.sigs.Checks())
	}
}
