package node

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"testing"
	"time"

	"github.com/posnode/posnode/chain"
)

func addrOf(k ed25519.PrivateKey) chain.Address {
	return chain.AddressOf(k.Public().(ed25519.PublicKey))
}

// bpmTx signs a BPM record of key with the given nonce on chain id.
func bpmTx(key ed25519.PrivateKey, nonce chain.Nonce, id chain.Hash) chain.Tx {
	tx := chain.Tx{Kind: chain.TxBPM, From: addrOf(key), Nonce: nonce, Value: 70, Fee: 1}
	tx.Sign(id, key)
	return tx
}

// txKeysFixture returns a genesis state with two funded keys, the keys and the chain ID.
func txKeysFixture(t *testing.T) (*chain.State, []ed25519.PrivateKey, chain.Hash) {
	t.Helper()
	g := &chain.Genesis{ChainID: "txkeys-test", Time: time.Unix(0, 0), SlotDuration: chain.Duration(time.Second),
		EpochLength: 4, MinStake: 1, TxFee: 1}
	var keys []ed25519.PrivateKey
	for i := range 2 {
		seed := sha256.Sum256([]byte{byte(i)})
		k := ed25519.NewKeyFromSeed(seed[:])
		keys = append(keys, k)
		g.Allocations = append(g.Allocations, chain.Allocation{Address: addrOf(k), Balance: 100, Stake: 5})
	}
	return g.State(), keys, g.Hash()
}

// encodeSlot is how versions before the slashing protection record stored the last signed slot in chain.db
// (metaLastSigned), for the tests of the move.
func encodeSlot(s chain.Slot) []byte { return binary.BigEndian.AppendUint64(nil, uint64(s)) }

// submitOwn is SubmitOwn as a patient user calls it: while the node says it has not caught up since a start
// without its chain (ErrNotSynced), it asks again, for up to 20 s.
func submitOwn(n *Node, kind chain.TxKind, to chain.Address, value uint64) (chain.Hash, error) {
	deadline := time.Now().Add(20 * time.Second)
	for {
		id, err := n.SubmitOwn(context.Background(), kind, to, value)
		if !errors.Is(err, ErrNotSynced) || time.Now().After(deadline) {
			return id, err
		}
		time.Sleep(50 * time.Millisecond)
	}
}
