package httpapi_test

import (
	"crypto/ed25519"
	"crypto/sha256"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/posnode/posnode/chain"
	"github.com/posnode/posnode/node"
	"github.com/posnode/posnode/node/view"
	"github.com/posnode/posnode/p2p"
)

// TestAPIReachability runs a relay and a node declared private: the private node takes a reservation with the
// relay, and each reports its reachability in /api/status and /metrics.
func TestAPIReachability(t *testing.T) {
	g := &chain.Genesis{ChainID: "posnode-api-test", Time: time.Now().Truncate(time.Millisecond),
		SlotDuration: chain.Duration(200 * time.Millisecond), EpochLength: 8, BlockReward: 10, MinStake: 1, TxFee: 1}
	var keys []ed25519.PrivateKey
	for _, name := range []string{"relay", "private"} {
		seed := sha256.Sum256([]byte(t.Name() + "-" + name))
		key := ed25519.NewKeyFromSeed(seed[:])
		keys = append(keys, key)
		g.Allocations = append(g.Allocations, chain.Allocation{
			Address: chain.AddressOf(key.Public().(ed25519.PublicKey)), Balance: 1_000_000, Stake: 10})
	}
	relay := runNodeWith(t, g, keys[0], nil, func(c *node.Config) { c.RelayService = true })
	private := runNodeWith(t, g, keys[1], relay.Addrs()[:1], func(c *node.Config) { c.Reachability = p2p.ReachabilityPrivate })

	var st view.Status
	waitFor(t, 20*time.Second, "the private node's reservation", func() bool {
		return private.get(t, "/api/status", &st) == 200 && st.RelayReservations == 1
	})
	if st.Reachability != "private" || st.RelayService {
		t.Errorf("private node: reachability %q, relay service %v; want private, false", st.Reachability, st.RelayService)
	}
	if code := relay.get(t, "/api/status", &st); code != 200 || st.Reachability != "public" || !st.RelayService ||
		st.RelayReservations != 0 {
		t.Errorf("relay: %d, reachability %q, relay service %v, reservations %d; want 200, public, true, 0",
			code, st.Reachability, st.RelayService, st.RelayReservations)
	}
	for _, c := range []struct {
		n    *apiNode
		want string
	}{{relay, "posnode_reachability 1"}, {private, "posnode_reachability 2"}} {
		if got := scrape(t, c.n); !strings.Contains(got, c.want+"\n") {
			t.Errorf("/metrics lacks %q", c.want)
		}
	}
}

// scrape returns n's /metrics page.
func scrape(t *testing.T, n *apiNode) string {
	t.Helper()
	resp, err := http.Get("http://" + n.HTTPAddr() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
