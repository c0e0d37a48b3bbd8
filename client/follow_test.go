package client

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/posnode/posnode/chain"
	"github.com/posnode/posnode/light"
)

// TestClientFollowsFromEarlierSource: a client whose justified checkpoint the chain justified nothing from (a
// fork's, or one an older source's link overtook) sends its earlier justified checkpoints too, and follows the
// link from the one the node has.
func TestClientFollowsFromEarlierSource(t *testing.T) {
	n := newNetwork(t, "validator")
	genesis := light.GenesisTrust(n.g)
	stuck := genesis
	stuck.Justified.Checkpoint = chain.Checkpoint{Epoch: 0, Hash: chain.Hash{9}} // justified on a fork
	path := filepath.Join(t.TempDir(), "state.json")
	b, _ := json.Marshal(saved{Genesis: n.g.Hash(), Trust: stuck, Earlier: []light.Trust{genesis}})
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	u := n.update(t, genesis.Justified.Checkpoint, 3, n.g.Hash())
	var asked [][]chain.Checkpoint
	node := server{light.ProtoUpdate: func(req []byte) ([]byte, error) {
		srcs, err := light.DecodeSources(req)
		asked = append(asked, srcs)
		if err == nil && slices.Contains(srcs, genesis.Justified.Checkpoint) && srcs[0].Epoch < 1 {
			return u.Encode(), nil
		}
		return nil, errors.New("remote: no newer justified checkpoint")
	}}
	c, err := Load(Config{Genesis: n.g, Wallet: New(n.user, n.g.Hash(), 1), Net: fakeNet{"node": node},
		Peers: []string{"node"}, StatePath: path})
	if err != nil {
		t.Fatal(err)
	}
	if got, err := c.Sync(context.Background()); err != nil || got != 1 {
		t.Fatalf("sync: applied %d, %v; want 1", got, err)
	}
	tr := c.Trust()
	if tr.Justified.Checkpoint != u.Target || tr.Finalized.Checkpoint != genesis.Finalized.Checkpoint {
		t.Errorf("trust: justified %s finalized %s, want %s and genesis", tr.Justified.Checkpoint, tr.Finalized.Checkpoint, u.Target)
	}
	if len(asked) == 0 || len(asked[0]) != 2 || asked[0][0] != stuck.Justified.Checkpoint {
		t.Errorf("first request: got %v, want the stuck checkpoint then genesis", asked)
	}
	if len(c.Liars()) != 0 {
		t.Errorf("liars: %v", c.Liars())
	}
}

// TestSavedPeers: the peers set are kept in the state file for a client started without any.
func TestSavedPeers(t *testing.T) {
	n := newNetwork(t, "validator")
	path := filepath.Join(t.TempDir(), "state.json")
	cfg := Config{Genesis: n.g, Wallet: New(n.user, n.g.Hash(), 1), Net: fakeNet{}, StatePath: path}
	c, err := Load(cfg)
	if err != nil {
		t.Fatal(err)
	}
	addrs := []string{"/ip4/127.0.0.1/tcp/4001/p2p/a"}
	if err := c.SetPeers([]string{"a"}, addrs); err != nil {
		t.Fatal(err)
	}
	again, err := Load(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if got := again.SavedPeers(); !slices.Equal(got, addrs) {
		t.Errorf("saved peers: got %v, want %v", got, addrs)
	}
}

// TestTrackQuietUntilCommitted: a record no block holds yet is not news; the client logs nothing about it.
func TestTrackQuietUntilCommitted(t *testing.T) {
	n := newNetwork(t, "validator")
	var txs []chain.Tx
	honest := n.honest(t, &txs)
	honest[light.ProtoTx] = func([]byte) ([]byte, error) { return nil, errors.New("remote: in no canonical block") }
	var logged []string
	c, err := Load(Config{Genesis: n.g, Wallet: New(n.user, n.g.Hash(), 1), Net: fakeNet{"node": honest},
		Peers: []string{"node"}, Log: func(f string, a ...any) { logged = append(logged, f) }})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Submit(context.Background(), chain.TxBPM, chain.Address{}, 72); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Track(context.Background()); err != nil {
		t.Fatal(err)
	}
	if pending, _ := c.Records(); len(pending) != 1 || len(logged) != 0 {
		t.Errorf("pending %d, logged %q; want 1 record and nothing logged", len(pending), logged)
	}
}
