package chain

import (
	"crypto/ed25519"
	"crypto/sha256"
	"fmt"
	"sync"
	"testing"
	"time"
)

var (
	testKeysMu sync.Mutex
	testKeys   = map[int]ed25519.PrivateKey{}
)

// testKey returns the deterministic key i: ed25519.NewKeyFromSeed(SHA-256("key-i")).
func testKey(i int) ed25519.PrivateKey {
	testKeysMu.Lock()
	defer testKeysMu.Unlock()
	if k, ok := testKeys[i]; ok {
		return k
	}
	seed := sha256.Sum256(fmt.Appendf(nil, "key-%d", i))
	k := ed25519.NewKeyFromSeed(seed[:])
	testKeys[i] = k
	return k
}

// testAddr returns the address of testKey(i).
func testAddr(i int) Address { return AddressOf(testKey(i).Public().(ed25519.PublicKey)) }

// testGenesis returns a fixed valid genesis: keys 0..2 hold 1000 tokens and stake 1000, key 3 holds
// 1000 tokens and stakes 50 (below MinStake 100); epochs are 10 slots.
func testGenesis() *Genesis {
	g := &Genesis{
		ChainID:      "posnode-test",
		Time:         time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC),
		SlotDuration: Duration(time.Second),
		EpochLength:  10,
		BlockReward:  10,
		MinStake:     100,
		TxFee:        1,
	}
	for i := range 3 {
		g.Allocations = append(g.Allocations, Allocation{Address: testAddr(i), Balance: 1000, Stake: 1000})
	}
	g.Allocations = append(g.Allocations, Allocation{Address: testAddr(3), Balance: 1000, Stake: 50})
	return g
}

// signedTx returns a transaction from key i, signed for chainID.
func signedTx(chainID Hash, i int, kind TxKind, nonce Nonce, to Address, value uint64, fee Amount) Tx {
	tx := NewTx(kind, testAddr(i), nonce, to, value, fee)
	tx.Sign(chainID, testKey(i))
	return tx
}

// buildBlock returns a block on parent (whose post-state is st) at slot, proposed and signed by key
// i, with correct TxRoot and StateRoot. st is not modified.
func buildBlock(t testing.TB, chainID Hash, parent Tip, st *State, slot Slot, i int, txs []Tx) *Block {
	t.Helper()
	b := &Block{Header: Header{
		Height:   parent.Height + 1,
		Slot:     slot,
		Parent:   parent.Hash,
		Proposer: testAddr(i),
		TxRoot:   TxRoot(txs),
		VoteRoot: VoteRoot(nil),
		EvRoot:   EvidenceRoot(nil),
		VRFProof: ProveVRF(testKey(i), chainID, slot),
	}, Txs: txs}
	out, err := b.Header.VRFProof.Output()
	if err != nil {
		t.Fatalf("build block: %v", err)
	}
	b.Header.Mix = NextMix(parent.Mix, out)
	post := st.Clone()
	if err := post.ApplyBlock(b); err != nil {
		t.Fatalf("build block: %v", err)
	}
	b.Header.StateRoot = post.Root()
	b.Sign(chainID, testKey(i))
	return b
}
