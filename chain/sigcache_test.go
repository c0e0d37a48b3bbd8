package chain

import (
	"errors"
	"testing"
)

// badSig returns tx with one bit of its signature flipped, so that it no longer verifies.
func badSig(tx Tx) Tx {
	tx.Sig[0] ^= 1
	return tx
}

func TestSigCacheVerify(t *testing.T) {
	chainID := testGenesis().Hash()
	c := NewSigCache(chainID, 10)
	good := signedTx(chainID, 0, TxBPM, 0, Address{}, 70, 1)
	for i := range 2 {
		if err := c.Verify(&good); err != nil {
			t.Fatalf("call %d: got %v for a good signature, want nil", i, err)
		}
	}
	if !c.has(good.ID()) {
		t.Error("got a verified transaction not remembered, want it remembered")
	}
	bad := badSig(good)
	other := signedTx(Hash{1}, 0, TxBPM, 0, Address{}, 70, 1) // signed for another chain
	for _, tx := range []Tx{bad, bad, other} {
		if err := c.Verify(&tx); !errors.Is(err, ErrBadSignature) {
			t.Errorf("got %v, want ErrBadSignature", err)
		}
		if c.has(tx.ID()) {
			t.Errorf("got transaction %s remembered after a failed check, want it forgotten", tx.ID().Short())
		}
	}
}

func TestSigCacheForgetsOldest(t *testing.T) {
	chainID := testGenesis().Hash()
	c := NewSigCache(chainID, 2)
	var txs []Tx
	for nonce := range Nonce(3) {
		tx := signedTx(chainID, 0, TxBPM, nonce, Address{}, 70, 1)
		if err := c.Verify(&tx); err != nil {
			t.Fatal(err)
		}
		txs = append(txs, tx)
	}
	for i, want := range []bool{false, true, true} {
		if got := c.has(txs[i].ID()); got != want {
			t.Errorf("tx %d: got remembered %v, want %v", i, got, want)
		}
	}
	if len(c.ids) != 2 {
		t.Errorf("got %d IDs held, want 2", len(c.ids))
	}
}

// A tree with a signature cache does not check again a transaction the cache has seen verify, and checks every
// other one. The test plants the ID of a badly signed transaction in the cache to see which path the tree takes;
// a real cache only ever holds IDs whose signatures verified.
func TestTreeUsesSigCache(t *testing.T) {
	g := richGenesis()
	chainID := g.Hash()
	tx := badSig(signedTx(chainID, 0, TxBPM, 0, Address{}, 70, 1))
	block := func(tr *Tree) *Block {
		head := tr.Head()
		return buildBlock(t, chainID, head, tr.HeadState(), 1, leaderAt(t, tr, head.Hash, 1), []Tx{tx})
	}

	plain := openTestTree(t, g, NewMemStore())
	if _, err := plain.Insert(block(plain), 1); !errors.Is(err, ErrBadSignature) {
		t.Fatalf("without a cache: got %v, want ErrBadSignature", err)
	}
	sigs := NewSigCache(chainID, 10)
	cached, err := OpenTree(TreeConfig{Genesis: g, Store: NewMemStore(), Elect: treeElect, Better: treeBetter, Finality: testFinality, Sigs: sigs})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cached.Insert(block(cached), 1); !errors.Is(err, ErrBadSignature) {
		t.Fatalf("with the transaction not in the cache: got %v, want ErrBadSignature", err)
	}
	sigs.add(tx.ID())
	if _, err := cached.Insert(block(cached), 1); err != nil {
		t.Fatalf("with the transaction in the cache: got %v, want it inserted unchecked", err)
	}
}

func TestTreeRefusesSigCacheOfAnotherChain(t *testing.T) {
	g := testGenesis()
	_, err := OpenTree(TreeConfig{Genesis: g, Store: NewMemStore(), Elect: treeElect, Better: treeBetter, Finality: testFinality,
		Sigs: NewSigCache(Hash{1}, 10)})
	if !errors.Is(err, errTreeConfig) {
		t.Errorf("got %v, want errTreeConfig", err)
	}
}

func TestSigCacheVerifyVote(t *testing.T) {
	chainID := testGenesis().Hash()
	c := NewSigCache(chainID, 10)
	good := sampleVote(chainID, 1, 0, 1)
	for i := range 2 {
		if err := c.VerifyVote(&good); err != nil {
			t.Fatalf("call %d: got %v for a good signature, want nil", i, err)
		}
	}
	if !c.has(voteKey(&good)) {
		t.Error("got a verified vote not remembered, want it remembered")
	}
	bad := good
	bad.Sig[0] ^= 1
	other := sampleVote(Hash{1}, 1, 0, 1) // signed for another chain
	for _, v := range []Vote{bad, bad, other} {
		if err := c.VerifyVote(&v); !errors.Is(err, ErrBadSignature) {
			t.Errorf("got %v, want ErrBadSignature", err)
		}
		if c.has(voteKey(&v)) {
			t.Errorf("got vote of %s remembered after a failed check, want it forgotten", v.Validator.Short())
		}
	}
	tx := signedTx(chainID, 0, TxBPM, 0, Address{}, 70, 1)
	if voteKey(&good) == tx.ID() || voteKey(&good) == HashBytes(good.Encode()) {
		t.Error("a vote's key equals a plain hash of an encoding; want it tagged apart from transaction IDs")
	}
}

// A tree with a signature cache does not check again a vote the cache has seen verify (a gossiped vote, then the
// block that holds it), and checks every other one; as above, the test plants the key of a badly signed vote.
func TestTreeUsesSigCacheForVotes(t *testing.T) {
	g := richGenesis()
	sigs := NewSigCache(g.Hash(), 10)
	tr, err := OpenTree(TreeConfig{Genesis: g, Store: NewMemStore(), Elect: treeElect, Better: treeBetter, Finality: testFinality, Sigs: sigs})
	if err != nil {
		t.Fatal(err)
	}
	for s := Slot(1); s <= 12; s++ {
		grow(t, tr, tr.Head().Hash, s, nil)
	}
	bad := vote(t, tr, 0, Checkpoint{Epoch: 0, Hash: tr.ChainID()}, 1)
	bad.Sig[0] ^= 1
	if _, err := growVotes(t, tr, 13, bad); !errors.Is(err, ErrBadSignature) {
		t.Fatalf("with the vote not in the cache: got %v, want ErrBadSignature", err)
	}
	sigs.add(voteKey(&bad))
	if _, err := growVotes(t, tr, 14, bad); err != nil {
		t.Fatalf("with the vote in the cache: got %v, want it inserted unchecked", err)
	}
}

// TestSigCacheSharedRemembersNothing: while a VerifyMemo is installed the cache keeps no IDs of its own (the memo
// remembers every outcome for the whole process), and still refuses what does not verify.
func TestSigCacheSharedRemembersNothing(t *testing.T) {
	defer ShareVerification()()
	chainID := testGenesis().Hash()
	c := NewSigCache(chainID, 10)
	good := signedTx(chainID, 0, TxBPM, 0, Address{}, 70, 1)
	bad := badSig(good)
	v := Vote{Validator: good.From, Source: Checkpoint{Epoch: 1}, Target: Checkpoint{Epoch: 2}}
	tests := []struct {
		name string
		err  error
		want error
	}{
		{"good tx", c.Verify(&good), nil},
		{"good tx again", c.Verify(&good), nil},
		{"bad tx", c.Verify(&bad), ErrBadSignature},
		{"batch with a bad tx", c.VerifyAll([]Tx{good, bad}), ErrBadSignature},
		{"good batch", c.VerifyAll([]Tx{good, good}), nil},
		{"unsigned vote", c.VerifyVote(&v), ErrBadSignature},
	}
	for _, tt := range tests {
		if !errors.Is(tt.err, tt.want) {
			t.Errorf("%s: got %v, want %v", tt.name, tt.err, tt.want)
		}
	}
	if n := len(c.ids); n != 0 {
		t.Errorf("got %d IDs remembered by the cache, want 0", n)
	}
}
