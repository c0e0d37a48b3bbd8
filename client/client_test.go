package client

import (
	"crypto/ed25519"
	"crypto/sha256"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/posnode/posnode/chain"
	"github.com/posnode/posnode/keyfile"
)

func testKey(name string) ed25519.PrivateKey {
	seed := sha256.Sum256([]byte(name))
	return ed25519.NewKeyFromSeed(seed[:])
}

// testGenesis funds the wallet's account (balance 1,000, no stake) beside one validator.
func testGenesis(w chain.Address) *chain.Genesis {
	val := chain.AddressOf(testKey("validator").Public().(ed25519.PublicKey))
	return &chain.Genesis{ChainID: "client-test", Time: time.Unix(1_800_000_000, 0), SlotDuration: chain.Duration(time.Second),
		EpochLength: 8, BlockReward: 10, MinStake: 1, TxFee: 1,
		Allocations: []chain.Allocation{{Address: w, Balance: 1_000}, {Address: val, Balance: 1, Stake: 10}}}
}

// TestWalletTransactions: each kind the wallet signs verifies on its network and no other, and the ledger
// applies them one after another with nonces 0 to 3.
func TestWalletTransactions(t *testing.T) {
	key := testKey("user")
	addr := chain.AddressOf(key.Public().(ed25519.PublicKey))
	g := testGenesis(addr)
	w := New(key, g.Hash(), 1)
	if w.Address() != addr {
		t.Fatalf("address: got %s, want %s", w.Address(), addr)
	}
	other := chain.AddressOf(testKey("friend").Public().(ed25519.PublicKey))
	build := []func() (chain.Tx, error){
		func() (chain.Tx, error) { return w.BPM(0, 72) },
		func() (chain.Tx, error) { return w.Send(1, other, 100) },
		func() (chain.Tx, error) { return w.Stake(2, 50) },
		func() (chain.Tx, error) { return w.Unstake(3, 20) },
	}
	st := g.State()
	for i, b := range build {
		tx, err := b()
		if err != nil {
			t.Fatalf("tx %d: %v", i, err)
		}
		if err := tx.Verify(g.Hash()); err != nil {
			t.Errorf("tx %d (%s): %v", i, tx.Kind, err)
		}
		if err := tx.Verify(chain.Hash{1}); !errors.Is(err, chain.ErrBadSignature) {
			t.Errorf("tx %d on another network: got %v, want ErrBadSignature", i, err)
		}
		if err := st.ApplyTx(&tx); err != nil {
			t.Errorf("tx %d (%s) does not apply: %v", i, tx.Kind, err)
		}
	}
	if acc := st.Account(addr); acc.Balance != 1_000-4-100-50 || acc.Stake != 30 || acc.Unbonding != 20 || acc.Nonce != 4 {
		t.Errorf("account after the four: %+v", acc)
	}
}

// TestWalletRefusesInvalid: what breaks a stateless rule is an error, not a signed transaction.
func TestWalletRefusesInvalid(t *testing.T) {
	key := testKey("user")
	w := New(key, chain.Hash{7}, 1)
	bad := map[string]func() (chain.Tx, error){
		"bpm 0":        func() (chain.Tx, error) { return w.BPM(0, 0) },
		"bpm 301":      func() (chain.Tx, error) { return w.BPM(0, 301) },
		"send to self": func() (chain.Tx, error) { return w.Send(0, w.Address(), 5) },
		"send nothing": func() (chain.Tx, error) { return w.Send(0, chain.Address{9}, 0) },
		"stake 0":      func() (chain.Tx, error) { return w.Stake(0, 0) },
		"unstake 0":    func() (chain.Tx, error) { return w.Unstake(0, 0) },
	}
	for name, b := range bad {
		if _, err := b(); !errors.Is(err, chain.ErrInvalidTx) {
			t.Errorf("%s: got %v, want ErrInvalidTx", name, err)
		}
	}
}

// TestOpen: a wallet opened from a key file signs as that key.
func TestOpen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "client.key")
	key, err := keyfile.Generate(path)
	if err != nil {
		t.Fatal(err)
	}
	w, err := Open(path, chain.Hash{3}, 1)
	if err != nil {
		t.Fatal(err)
	}
	if want := chain.AddressOf(key.Public().(ed25519.PublicKey)); w.Address() != want {
		t.Errorf("address: got %s, want %s", w.Address(), want)
	}
	if _, err := Open(filepath.Join(t.TempDir(), "none"), chain.Hash{}, 1); err == nil {
		t.Error("opened a missing key file")
	}
}
