package light

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/binary"
	"slices"
	"testing"
	"time"

	"github.com/posnode/posnode/chain"
)

const testEpochLength = 8

// fixture is a network of n validators of equal stake at genesis, and the means to sign updates for it.
type fixture struct {
	g       *chain.Genesis
	chainID chain.Hash // what the votes sign: the genesis hash, unless a test says otherwise
	keys    map[chain.Address]ed25519.PrivateKey
	st      *chain.State // genesis state
}

func newFixture(t testing.TB, n int) *fixture { return newFixtureOf(t, "light validator", n) }

// newFixtureOf is newFixture with keys named by name.
func newFixtureOf(t testing.TB, name string, n int) *fixture {
	t.Helper()
	f := &fixture{keys: map[chain.Address]ed25519.PrivateKey{}}
	g := &chain.Genesis{ChainID: "light-test", Time: time.Unix(1_800_000_000, 0), SlotDuration: chain.Duration(time.Second),
		EpochLength: testEpochLength, BlockReward: 10, MinStake: 1, TxFee: 1}
	for i := range n {
		seed := sha256.Sum256(binary.BigEndian.AppendUint32([]byte(name), uint32(i)))
		k := ed25519.NewKeyFromSeed(seed[:])
		a := chain.AddressOf(k.Public().(ed25519.PublicKey))
		f.keys[a] = k
		g.Allocations = append(g.Allocations, chain.Allocation{Address: a, Balance: 100, Stake: 10})
	}
	if err := g.Validate(); err != nil {
		t.Fatal(err)
	}
	f.g, f.st, f.chainID = g, g.State(), g.Hash()
	return f
}

// header returns a checkpoint header for epoch e: the last slot of e − 1, a state root of its own.
func (f *fixture) header(e chain.Epoch, root chain.Hash) chain.Header {
	return chain.Header{Height: chain.Height(e) * 5, Slot: chain.Slot(uint64(e)*testEpochLength - 1), StateRoot: root,
		Parent: chain.Hash{byte(e)}}
}

// update returns the link source → the checkpoint of epoch e, its table of epoch e proven by the genesis state
// and signed by the first voters of that table.
func (f *fixture) update(t testing.TB, source chain.Checkpoint, e chain.Epoch, voters int) Update {
	t.Helper()
	h := f.header(e, f.st.Root())
	table, proof, err := f.st.StakeTableProof(e)
	if err != nil {
		t.Fatal(err)
	}
	u := Update{Source: source, Target: chain.Checkpoint{Epoch: e, Hash: h.Hash()}, Header: h, Table: table, Proof: proof}
	for i := range voters {
		v := chain.Vote{Validator: table[i].Addr, Source: u.Source, Target: u.Target}
		v.Sign(f.chainID, f.keys[v.Validator])
		u.Votes = append(u.Votes, Signature{Index: uint16(i), Sig: v.Sig})
	}
	return u
}

// genesisCheckpoint is epoch 0's checkpoint.
func (f *fixture) genesisCheckpoint() chain.Checkpoint { return chain.Checkpoint{Hash: f.g.Hash()} }

// twoThirds is the fewest of n equal voters that make a supermajority.
func twoThirds(n int) int { return (2*n + 2) / 3 }

func cloneUpdate(u Update) Update {
	u.Table, u.Votes = slices.Clone(u.Table), slices.Clone(u.Votes)
	return u
}
