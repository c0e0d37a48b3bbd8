package p2p

import (
	"context"
	"crypto/ed25519"
	"errors"
	"maps"
	mrand "math/rand/v2"
	"net"
	"slices"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/record"
)

// signedRecord returns key's peer record for addrs, signed by signer (key itself for an honest record).
func signedRecord(t testing.TB, key, signer ed25519.PrivateKey, addrs ...string) []byte {
	t.Helper()
	id := peerID(t, key)
	sk, err := crypto.UnmarshalEd25519PrivateKey(signer)
	if err != nil {
		t.Fatal(err)
	}
	env, err := record.Seal(peer.PeerRecordFromAddrInfo(peer.AddrInfo{ID: id, Addrs: parseAddrs(t, addrs...)}), sk)
	if err != nil {
		t.Fatal(err)
	}
	data, err := env.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func peerID(t testing.TB, key ed25519.PrivateKey) peer.ID {
	t.Helper()
	sk, err := crypto.UnmarshalEd25519PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	id, err := peer.IDFromPrivateKey(sk)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func TestDecodePeerRecords(t *testing.T) {
	k1, k2 := newKey(t), newKey(t)
	good := signedRecord(t, k1, k1, "/ip4/127.0.0.1/tcp/4001")
	other := signedRecord(t, k2, k2, "/ip4/127.0.0.1/tcp/4002", "/ip4/10.0.0.2/udp/4002/quic-v1")
	forged := signedRecord(t, k1, k2, "/ip4/127.0.0.1/tcp/4666") // k1's ID, k2's signature
	tampered := append([]byte(nil), good...)
	tampered[len(tampered)-70] ^= 1
	tests := []struct {
		name  string
		data  []byte
		peers int
	}{
		{"none", encodePeerRecords(nil), 0},
		{"two", encodePeerRecords([][]byte{good, other}), 2},
		{"empty", nil, -1},
		{"forged", encodePeerRecords([][]byte{good, forged}), -1},
		{"tampered", encodePeerRecords([][]byte{tampered}), -1},
		{"junk record", encodePeerRecords([][]byte{[]byte("not a record")}), -1},
		{"too many", append([]byte{maxExchangeRecords + 1}, encodePeerRecords(nil)[1:]...), -1},
		{"cut short", encodePeerRecords([][]byte{good})[:len(good)], -1},
		{"trailing bytes", append(encodePeerRecords([][]byte{good}), 0), -1},
		{"count without records", []byte{2}, -1},
	}
	for _, tt := range tests {
		infos, err := decodePeerRecords(tt.data)
		switch {
		case tt.peers < 0 && !errors.Is(err, ErrBadPeerRecords):
			t.Errorf("%s: got %v, want %v", tt.name, err, ErrBadPeerRecords)
		case tt.peers >= 0 && (err != nil || len(infos) != tt.peers):
			t.Errorf("%s: got %d peers, %v; want %d", tt.name, len(infos), err, tt.peers)
		}
	}
	infos, _ := decodePeerRecords(encodePeerRecords([][]byte{other}))
	if infos[0].ID != peerID(t, k2) || len(infos[0].Addrs) != 2 {
		t.Errorf("decoded %v, want k2's peer with its two addresses", infos[0])
	}
}

func FuzzDecodePeerRecords(f *testing.F) {
	k := newKey(f)
	f.Add(encodePeerRecords([][]byte{signedRecord(f, k, k, "/ip4/127.0.0.1/tcp/4001")}))
	f.Add(encodePeerRecords(nil))
	f.Add([]byte{3, 0, 1, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		infos, err := decodePeerRecords(data)
		if err == nil && len(infos) > maxExchangeRecords {
			t.Fatalf("%d records accepted, limit %d", len(infos), maxExchangeRecords)
		}
		if err != nil && !errors.Is(err, ErrBadPeerRecords) {
			t.Fatalf("error %v is not %v", err, ErrBadPeerRecords)
		}
	})
}

// A host connected to one host of a star learns the others through it and connects to them.
func TestPeerExchangeFindsPeersBeyondBootstrap(t *testing.T) {
	hub := newHost(t, Config{})
	var spokes []*Host
	for range 3 {
		s := newHost(t, Config{Bootstrap: hub.Addrs()[:1]})
		spokes = append(spokes, s)
	}
	joiner := newHost(t, Config{Bootstrap: spokes[0].Addrs()[:1]})
	waitFor(t, "the joiner connected to the hub and every spoke", func() bool {
		return connected(joiner, hub) && connected(joiner, spokes[1]) && connected(joiner, spokes[2])
	})
}

// An adversary answers peer exchange with lies: junk, too many records, a record signed by another key than the
// peer's. The host dials none of what it names and stays connected to it. Then it answers with valid records of
// maxExchangeRecords fake peers whose address is a socket that only counts connections: the host dials at most as
// many as it lacks to reach exchangeTarget peers.
func TestPeerExchangeAgainstALiar(t *testing.T) {
	trap, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer trap.Close()
	var dials atomic.Int32
	go func() {
		for {
			c, err := trap.Accept()
			if err != nil {
				return
			}
			dials.Add(1)
			c.Close()
		}
	}()
	trapAddr := "/ip4/127.0.0.1/tcp/" + strconv.Itoa(trap.Addr().(*net.TCPAddr).Port)
	k1, k2 := newKey(t), newKey(t)
	lies := [][]byte{
		[]byte("junk"),
		append([]byte{200}, make([]byte, 400)...),
		encodePeerRecords([][]byte{signedRecord(t, k1, k2, trapAddr)}),
	}
	var fakes [][]byte
	for range maxExchangeRecords {
		k := newKey(t)
		fakes = append(fakes, signedRecord(t, k, k, trapAddr))
	}
	for i, answer := range append(lies, encodePeerRecords(fakes)) {
		liar := newHost(t, Config{})
		asked := make(chan struct{}, 1)
		if err := liar.Handle(protoPeers, func(context.Context, string, []byte) ([]byte, error) {
			asked <- struct{}{}
			return answer, nil
		}); err != nil {
			t.Fatal(err)
		}
		victim := newHost(t, Config{}) // asks the liar once it has identified it
		connect(t, victim, liar)
		select {
		case <-asked:
		case <-time.After(waitTimeout):
			t.Fatalf("answer %d: the host never asked", i)
		}
		settled(&dials)
		switch n := dials.Load(); {
		case i < len(lies) && n != 0:
			t.Errorf("lie %d: the host dialled %d addresses it named", i, n)
		case i == len(lies) && (n == 0 || n > exchangeTarget-1):
			t.Errorf("valid records of %d fake peers: %d dials, want 1 to %d", len(fakes), n, exchangeTarget-1)
		}
		if !connected(victim, liar) {
			t.Errorf("answer %d: the host dropped the connection", i)
		}
	}
	t.Logf("%d dials for %d valid records of fake peers", dials.Load(), len(fakes))
}

// settled waits until n has not changed for half a second (at most waitTimeout).
func settled(n *atomic.Int32) {
	deadline := time.Now().Add(waitTimeout)
	for last := n.Load(); time.Now().Before(deadline); {
		time.Sleep(500 * time.Millisecond)
		now := n.Load()
		if now == last {
			return
		}
		last = now
	}
}

// In a network past gossipsub's mesh bound (12), each node keeps about the peers it dialled by the exchange and
// those that dialled it: gossipsub's own peer exchange on PRUNE is off (PROTOCOL.md §10). With it on, every
// pruned node dialled up to 16 more and 48 hosts ended nearly fully connected (median 43 peers of 47).
func TestPeersStayNearTheExchangeTarget(t *testing.T) {
	const hosts = 48
	rng := mrand.New(mrand.NewPCG(1, hosts))
	var all []*Host
	for i := range hosts {
		boot := map[string]bool{}
		if i > 0 {
			boot[all[0].Addrs()[0]] = true
			for range 2 {
				boot[all[rng.IntN(i)].Addrs()[0]] = true
			}
		}
		h := newHost(t, Config{Bootstrap: slices.Collect(maps.Keys(boot))})
		if _, err := h.Join("blocks", nil); err != nil {
			t.Fatal(err)
		}
		all = append(all, h)
	}
	counts := func() []int {
		var c []int
		for _, h := range all {
			c = append(c, len(h.Peers()))
		}
		slices.Sort(c)
		return c
	}
	waitFor(t, "every host to reach the exchange target", func() bool { return counts()[0] >= exchangeTarget })
	time.Sleep(5 * time.Second) // several heartbeats of gossipsub, which prunes meshes past 12 peers
	c := counts()
	t.Logf("peers per host: min %d, median %d, max %d", c[0], c[hosts/2], c[hosts-1])
	if median := c[hosts/2]; median > 2*exchangeTarget {
		t.Fatalf("median host has %d peers of %d, want at most %d: something besides the exchange dials peers", median, hosts-1, 2*exchangeTarget)
	}
}
