package p2p

import (
	"crypto/ed25519"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/posnode/posnode/chain"
	"go.uber.org/zap"
)

func TestPeersFileReconnects(t *testing.T) {
	path := filepath.Join(t.TempDir(), "peers.json")
	key := newKey(t)
	b := newHost(t, Config{})

	a1, err := New(testCtx(t), Config{Key: key, Namespace: testNS, Listen: []string{"/ip4/127.0.0.1/tcp/0"}, PeersFile: path})
	if err != nil {
		t.Fatal(err)
	}
	connect(t, a1, b)
	if err := a1.Close(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "b to see a1 leave", func() bool { return !connected(b, a1) })

	book := newPeerBook(path, zap.NewNop())
	if !slices.ContainsFunc(book.peers, func(kp knownPeer) bool { return kp.ID == b.ID() }) {
		t.Fatalf("peers file %+v: want an entry for %s", book.peers, b.ID())
	}

	a2 := newHost(t, Config{Key: key, PeersFile: path}) // no bootstrap
	waitFor(t, "a2 to redial b from the peers file", func() bool { return connected(a2, b) && connected(b, a2) })
}

func TestPeersFileCorruptIgnored(t *testing.T) {
	path := filepath.Join(t.TempDir(), "peers.json")
	if err := os.WriteFile(path, []byte("{not json"), 0o600); err != nil {
		t.Fatal(err)
	}
	a := newHost(t, Config{PeersFile: path})
	b := newHost(t, Config{})
	connect(t, a, b)
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var f peersFile
	if err := json.Unmarshal(data, &f); err != nil {
		t.Fatalf("peers file after Close is not JSON: %v", err)
	}
	if len(f.Peers) != 1 || f.Peers[0].ID != b.ID() {
		t.Errorf("peers file: got %+v, want one entry for %s", f.Peers, b.ID())
	}
}

func TestPeerBookSeen(t *testing.T) {
	var ids []string
	for range 3 {
		ids = append(ids, chain.AddressOf(newKey(t).Public().(ed25519.PublicKey)).String())
	}
	book := &peerBook{log: zap.NewNop()}
	for _, id := range ids {
		p, _ := parsePeer(id)
		book.seen(p, parseAddrs(t, "/ip4/10.0.0.1/tcp/4001", "/ip4/0.0.0.0/tcp/4001"))
	}
	p0, _ := parsePeer(ids[0])
	book.seen(p0, parseAddrs(t, "/ip4/10.0.0.2/tcp/4001"))

	var got []string
	for _, kp := range book.peers {
		got = append(got, kp.ID)
	}
	if want := []string{ids[0], ids[2], ids[1]}; !slices.Equal(got, want) {
		t.Errorf("order: got %v, want most recent first %v", got, want)
	}
	if want := []string{"/ip4/10.0.0.2/tcp/4001", "/ip4/10.0.0.1/tcp/4001"}; !slices.Equal(book.peers[0].Addrs, want) {
		t.Errorf("addrs: got %v, want %v (newest first, no wildcard)", book.peers[0].Addrs, want)
	}
	book.forget(p0)
	if len(book.peers) != 2 || !book.dirty {
		t.Errorf("after forget: got %d peers (dirty %v), want 2 (dirty)", len(book.peers), book.dirty)
	}
}
