package client

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/posnode/posnode/chain"
	"github.com/posnode/posnode/light"
)

// server answers one protocol; a test server is a map of them.
type server map[string]func(req []byte) ([]byte, error)

// fakeNet routes requests to in-process servers by peer ID.
type fakeNet map[string]server

func (f fakeNet) Request(_ context.Context, peer, proto string, req []byte) ([]byte, error) {
	h, ok := f[peer][proto]
	if !ok {
		return nil, fmt.Errorf("request %s from %s: no full node left to ask: remote: %s", proto, peer,
			"no newer justified checkpoint")
	}
	return h(req)
}

// network is four validators and a funded user at genesis, with the honest answers about them.
type network struct {
	g     *chain.Genesis
	st    *chain.State
	keys  []ed25519.PrivateKey
	user  ed25519.PrivateKey
	block *chain.Block // the checkpoint block of epoch 1, holding the user's first record
}

func newNetwork(t *testing.T, name string) *network {
	n := &network{user: testKey("user")}
	n.g = &chain.Genesis{ChainID: "liar-test", Time: time.Unix(1_800_000_000, 0), SlotDuration: chain.Duration(time.Second),
		EpochLength: 8, BlockReward: 10, MinStake: 1, TxFee: 1,
		Allocations: []chain.Allocation{{Address: chain.AddressOf(n.user.Public().(ed25519.PublicKey)), Balance: 1_000}}}
	for i := range 4 {
		k := testKey(fmt.Sprintf("%s %d", name, i))
		n.keys = append(n.keys, k)
		n.g.Allocations = append(n.g.Allocations, chain.Allocation{Address: chain.AddressOf(k.Public().(ed25519.PublicKey)), Stake: 10})
	}
	n.st = n.g.State()
	n.block = &chain.Block{Header: chain.Header{Height: 3, Slot: 7, StateRoot: n.st.Root()}}
	return n
}

// update is the link genesis → the checkpoint of epoch 1 with the table of st, signed by the first voters.
func (n *network) update(t *testing.T, source chain.Checkpoint, voters int, chainID chain.Hash) light.Update {
	table, proof, err := n.st.StakeTableProof(1)
	if err != nil {
		t.Fatal(err)
	}
	u := light.Update{Source: source, Target: chain.Checkpoint{Epoch: 1, Hash: n.block.Hash()}, Header: n.block.Header,
		Table: table, Proof: proof}
	byAddr := map[chain.Address]ed25519.PrivateKey{}
	for _, k := range n.keys {
		byAddr[chain.AddressOf(k.Public().(ed25519.PublicKey))] = k
	}
	for i := range voters {
		v := chain.Vote{Validator: table[i].Addr, Source: u.Source, Target: u.Target}
		v.Sign(chainID, byAddr[v.Validator])
		u.Votes = append(u.Votes, light.Signature{Index: uint16(i), Sig: v.Sig})
	}
	return u
}

// honest answers updates from genesis, the user's account at genesis, submissions, and the inclusion of txs.
func (n *network) honest(t *testing.T, txs *[]chain.Tx) server {
	genesis := chain.Checkpoint{Hash: n.g.Hash()}
	u := n.update(t, genesis, 3, n.g.Hash())
	return server{
		light.ProtoUpdate: func(req []byte) ([]byte, error) {
			if c, _ := light.DecodeCheckpoint(req); c == genesis {
				return u.Encode(), nil
			}
			return nil, errors.New("remote: no newer justified checkpoint")
		},
		light.ProtoAccount: func(req []byte) ([]byte, error) {
			r, _ := light.DecodeAccountRequest(req)
			p, err := n.st.AccountProof(r.Address)
			a := light.AccountAnswer{Account: n.st.Account(r.Address), Proof: p}
			return a.Encode(), err
		},
		light.ProtoSubmit: func(req []byte) ([]byte, error) {
			tx, err := chain.DecodeTx(req)
			*txs = append(*txs, tx)
			id := tx.ID()
			return id[:], err
		},
		light.ProtoTx: func(req []byte) ([]byte, error) {
			for i := range *txs {
				if id := (*txs)[i].ID(); string(id[:]) == string(req) {
					p, _ := chain.TxProof(*txs, i)
					inc := light.Inclusion{Header: chain.Header{Height: 2, TxRoot: chain.TxRoot(*txs)}, Proof: p}
					return inc.Encode(), nil
				}
			}
			return nil, errors.New("remote: in no canonical block")
		},
	}
}

// lie returns the honest server with one answer replaced.
func lie(honest server, proto string, answer []byte) server {
	s := server{}
	for p, h := range honest {
		s[p] = h
	}
	s[proto] = func([]byte) ([]byte, error) { return answer, nil }
	return s
}

// TestClientTurnsFromLiars: a node that sends an update below two thirds, a vote bundle of a wrong table, or an
// update from a chain without the client's checkpoint is caught, named, and the client follows the honest node.
func TestClientTurnsFromLiars(t *testing.T) {
	n := newNetwork(t, "validator")
	var txs []chain.Tx
	honest := n.honest(t, &txs)
	strangers := newNetwork(t, "stranger")
	genesis := chain.Checkpoint{Hash: n.g.Hash()}
	lies := map[string]struct {
		answer []byte
		want   error
	}{
		"below two thirds": {func() []byte { u := n.update(t, genesis, 2, n.g.Hash()); return u.Encode() }(), light.ErrNoSupermajority},
		"wrong table": {func() []byte {
			u := strangers.update(t, genesis, 4, n.g.Hash())
			return u.Encode()
		}(), light.ErrWrongTable},
		"chain without the checkpoint": {func() []byte {
			u := n.update(t, chain.Checkpoint{Hash: chain.Hash{1}}, 4, n.g.Hash())
			return u.Encode()
		}(), light.ErrWrongSource},
	}
	for name, l := range lies {
		net := fakeNet{"liar": lie(honest, light.ProtoUpdate, l.answer), "honest": honest}
		c, err := Load(Config{Genesis: n.g, Wallet: New(n.user, n.g.Hash(), 1), Net: net, Peers: []string{"liar", "honest"}})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.Sync(context.Background()); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if got := c.Trust().Justified.Checkpoint.Epoch; got != 1 {
			t.Errorf("%s: justified epoch %d, want 1 from the honest node", name, got)
		}
		why, caught := c.Liars()["liar"]
		if !caught || !strings.Contains(why, l.want.Error()) {
			t.Errorf("%s: liar caught %v for %q, want %v", name, caught, why, l.want)
		}
		t.Logf("%s: %s", name, why)
	}
}

// TestClientCatchesFalseInclusion: a node that proves a record by the proof of another record in the block is
// caught, and the record is proven committed by the honest node.
func TestClientCatchesFalseInclusion(t *testing.T) {
	n := newNetwork(t, "validator")
	var txs []chain.Tx
	honest := n.honest(t, &txs)
	liar := server{}
	for p, h := range honest {
		liar[p] = h
	}
	liar[light.ProtoTx] = func(req []byte) ([]byte, error) {
		other := append([]chain.Tx{{Kind: chain.TxBPM, Value: 1}}, txs...)
		p, _ := chain.TxProof(other, 0) // the proof of a record that is not the client's
		inc := light.Inclusion{Header: chain.Header{Height: 2, TxRoot: chain.TxRoot(other)}, Proof: p}
		return inc.Encode(), nil
	}
	c, err := Load(Config{Genesis: n.g, Wallet: New(n.user, n.g.Hash(), 1), Net: fakeNet{"liar": liar, "honest": honest},
		Peers: []string{"liar", "honest"}})
	if err != nil {
		t.Fatal(err)
	}
	r, err := c.Submit(context.Background(), chain.TxBPM, chain.Address{}, 72)
	if err != nil {
		t.Fatal(err)
	}
	events, err := c.Track(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(events) != 1 || events[0].Kind != StatusCommitted || events[0].Record.ID != r.ID || events[0].Record.Height != 2 {
		t.Errorf("events %+v, want %s committed at height 2", events, r.ID.Short())
	}
	if why, ok := c.Liars()["liar"]; !ok {
		t.Error("the liar was not caught")
	} else {
		t.Logf("caught: %s", why)
	}
}

// records answers a history request with the user's records among txs, newest first, in a block of height 2.
func records(txs []chain.Tx, at chain.Header) light.RecordsAnswer {
	at.TxRoot = chain.TxRoot(txs)
	var a light.RecordsAnswer
	for i := len(txs) - 1; i >= 0; i-- {
		p, _ := chain.TxProof(txs, i)
		a.Records = append(a.Records, light.Record{Tx: txs[i], Header: at, Proof: p})
	}
	return a
}

// TestClientHistoryCatchesLiars: a history answer with a record not in its block, or a record of another
// account (signed by that account's key and proven in its block), is caught; the client lists the honest node's
// records, newest first.
func TestClientHistoryCatchesLiars(t *testing.T) {
	n := newNetwork(t, "validator")
	var txs []chain.Tx
	honest := n.honest(t, &txs)
	at := chain.Header{Height: 2, Slot: 5}
	honest[light.ProtoRecords] = func([]byte) ([]byte, error) { a := records(txs, at); return a.Encode(), nil }
	c, err := Load(Config{Genesis: n.g, Wallet: New(n.user, n.g.Hash(), 1), Net: fakeNet{"honest": honest},
		Peers: []string{"honest"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, bpm := range []uint64{71, 72} {
		if _, err := c.Submit(context.Background(), chain.TxBPM, chain.Address{}, bpm); err != nil {
			t.Fatal(err)
		}
	}
	stranger := New(testKey("stranger"), n.g.Hash(), 1)
	theirs, err := stranger.BPM(0, 99)
	if err != nil {
		t.Fatal(err)
	}
	lies := map[string]func() light.RecordsAnswer{
		"record not in the block": func() light.RecordsAnswer {
			a := records(txs, at)
			a.Records[0].Header.TxRoot = chain.TxRoot(txs[:1]) // the block holds the first record only
			return a
		},
		"record of another account": func() light.RecordsAnswer {
			return records(append([]chain.Tx{theirs}, txs...), at)
		},
	}
	for name, l := range lies {
		a := l()
		c, err := Load(Config{Genesis: n.g, Wallet: New(n.user, n.g.Hash(), 1),
			Net: fakeNet{"liar": lie(honest, light.ProtoRecords, a.Encode()), "honest": honest}, Peers: []string{"liar", "honest"}})
		if err != nil {
			t.Fatal(err)
		}
		recs, next, err := c.History(context.Background(), 0, 0, light.MaxRecords)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if len(recs) != 2 || recs[0].BPM != 72 || recs[1].BPM != 71 || recs[0].Height != 2 || next != 0 {
			t.Errorf("%s: history %+v next %d, want 72 then 71 at height 2", name, recs, next)
		}
		why, caught := c.Liars()["liar"]
		if !caught || !strings.Contains(why, ErrBadRecord.Error()) {
			t.Errorf("%s: liar caught %v for %q, want %v", name, caught, why, ErrBadRecord)
		}
		t.Logf("%s: %s", name, why)
	}
}
