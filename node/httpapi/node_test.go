package httpapi_test

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"

	"github.com/posnode/posnode/chain"
	"github.com/posnode/posnode/node"
	"github.com/posnode/posnode/node/httpapi"
)

// apiNode is one running validator, alone on its network, with its API on a loopback port.
type apiNode struct {
	*node.Node
	gen   *chain.Genesis
	key   ed25519.PrivateKey
	home  string
	token string
}

// startNode runs a node that holds all the stake of a fresh genesis, with 200 ms slots.
func startNode(t testing.TB) *apiNode {
	t.Helper()
	seed := sha256.Sum256([]byte(t.Name()))
	key := ed25519.NewKeyFromSeed(seed[:])
	g := &chain.Genesis{ChainID: "posnode-api-test", Time: time.Now().Truncate(time.Millisecond),
		SlotDuration: chain.Duration(200 * time.Millisecond), EpochLength: 8, BlockReward: 10, MinStake: 1, TxFee: 1,
		Allocations: []chain.Allocation{{Address: chain.AddressOf(key.Public().(ed25519.PublicKey)), Balance: 1_000_000, Stake: 10}}}
	return runNode(t, g, key, nil)
}

// startNetwork runs one validator per stake on a fresh genesis that starts in a second, each bootstrapped to the
// first, and waits until every node has a peer.
func startNetwork(t testing.TB, stakes []uint64, slot time.Duration) []*apiNode {
	t.Helper()
	g := &chain.Genesis{ChainID: "posnode-api-test", Time: time.Now().Add(time.Second).Truncate(time.Millisecond),
		SlotDuration: chain.Duration(slot), EpochLength: 8, BlockReward: 10, MinStake: 1, TxFee: 1}
	keys := make([]ed25519.PrivateKey, len(stakes))
	for i, s := range stakes {
		seed := sha256.Sum256([]byte(t.Name() + "-" + strconv.Itoa(i)))
		keys[i] = ed25519.NewKeyFromSeed(seed[:])
		g.Allocations = append(g.Allocations, chain.Allocation{
			Address: chain.AddressOf(keys[i].Public().(ed25519.PublicKey)), Balance: 1_000_000, Stake: chain.Amount(s)})
	}
	var nodes []*apiNode
	for i, key := range keys {
		var boot []string
		if i > 0 {
			boot = nodes[0].Addrs()[:1]
		}
		nodes = append(nodes, runNode(t, g, key, boot))
	}
	waitFor(t, 20*time.Second, "every node to have a peer", func() bool {
		for _, n := range nodes {
			if len(n.Peers()) == 0 {
				return false
			}
		}
		return true
	})
	return nodes
}

// runNode runs a node of genesis g with key on loopback until the test ends.
func runNode(t testing.TB, g *chain.Genesis, key ed25519.PrivateKey, bootstrap []string) *apiNode {
	t.Helper()
	return runNodeWith(t, g, key, bootstrap, nil)
}

// runNodeWith is runNode with edit, if not nil, applied to the node's config.
func runNodeWith(t testing.TB, g *chain.Genesis, key ed25519.PrivateKey, bootstrap []string, edit func(*node.Config)) *apiNode {
	t.Helper()
	home := t.TempDir()
	if err := node.SaveKey(filepath.Join(home, node.KeyFile), key); err != nil {
		t.Fatal(err)
	}
	cfg := node.Config{Home: home, Data: filepath.Join(home, "new", "data"), Genesis: g,
		Listen: []string{"/ip4/127.0.0.1/tcp/0"}, Bootstrap: bootstrap, HTTP: "127.0.0.1:0",
		Logger: zaptest.NewLogger(t, zaptest.Level(zap.InfoLevel))}
	if edit != nil {
		edit(&cfg)
	}
	n, err := node.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- n.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("run: %v", err)
		}
	})
	select {
	case <-n.Started():
	case err := <-done:
		t.Fatalf("node stopped at start: %v", err)
	}
	token, err := os.ReadFile(filepath.Join(home, httpapi.TokenFile))
	if err != nil {
		t.Fatalf("api token: %v", err)
	}
	return &apiNode{Node: n, gen: g, key: key, home: home, token: strings.TrimSpace(string(token))}
}

// request is one HTTP request to the node's API.
type request struct {
	method, path, body string
	header             map[string]string
	host               string // "" keeps the address dialled
	auth               bool   // send the node's bearer token
}

// do sends rq and decodes a JSON answer into v (if not nil); it returns the response.
func (n *apiNode) do(t testing.TB, rq request, v any) *http.Response {
	t.Helper()
	req, err := http.NewRequest(rq.method, "http://"+n.HTTPAddr()+rq.path, strings.NewReader(rq.body))
	if err != nil {
		t.Fatal(err)
	}
	for k, val := range rq.header {
		req.Header.Set(k, val)
	}
	if rq.host != "" {
		req.Host = rq.host
	}
	if rq.auth {
		req.Header.Set("Authorization", "Bearer "+n.token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", rq.method, rq.path, err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if v != nil && rq.method != "HEAD" {
		if err := json.Unmarshal(data, v); err != nil {
			t.Fatalf("%s %s: %v in %s", rq.method, rq.path, err, data)
		}
	}
	return resp
}

func (n *apiNode) get(t testing.TB, path string, v any) int {
	t.Helper()
	return n.do(t, request{method: "GET", path: path}, v).StatusCode
}

func (n *apiNode) post(t *testing.T, path, body string, v any) int {
	t.Helper()
	return n.do(t, request{method: "POST", path: path, body: body, auth: true}, v).StatusCode
}

// waitFor polls cond until it holds, failing the test with msg after timeout.
func waitFor(t testing.TB, timeout time.Duration, msg string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, msg)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func itoa(v uint64) string { return strconv.FormatUint(v, 10) }
