package node

import (
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/posnode/posnode/chain"
)

// apiCall calls the node's API and decodes the JSON answer into v (if not nil), returning the status code.
func apiCall(t *testing.T, n *Node, method, path, body string, v any) int {
	t.Helper()
	req, err := http.NewRequest(method, "http://"+n.HTTPAddr()+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if v != nil {
		if err := json.Unmarshal(data, v); err != nil {
			t.Fatalf("%s %s: %v in %s", method, path, err, data)
		}
	}
	return resp.StatusCode
}

func TestHTTPAPI(t *testing.T) {
	c := newCluster(t, []uint64{10}, 200*time.Millisecond, 0)
	n := c.start(0)

	var posted struct{ ID chain.Hash }
	if code := apiCall(t, n, "POST", "/api/bpm", `{"bpm": 72}`, &posted); code != 200 || posted.ID.IsZero() {
		t.Fatalf("POST /api/bpm: got %d, id %s; want 200 and an id", code, posted.ID)
	}
	var tx TxStatus
	waitFor(t, 20*time.Second, "the record to be committed", func() bool {
		return apiCall(t, n, "GET", "/api/txs/"+posted.ID.String(), "", &tx) == 200 && tx.Status == "committed"
	})
	var blk BlockView
	if code := apiCall(t, n, "GET", "/api/blocks/"+itoa(tx.Height), "", &blk); code != 200 || len(blk.Txs) != 1 || blk.Txs[0].Value != 72 {
		t.Fatalf("GET block %d: got %d %+v; want the bpm 72 record", tx.Height, code, blk)
	}
	var st Status
	if code := apiCall(t, n, "GET", "/api/status", "", &st); code != 200 || st.PeerID != n.Address().String() || st.Height < tx.Height {
		t.Errorf("GET /api/status: got %d %+v", code, st)
	}
	var blocks []BlockView
	if code := apiCall(t, n, "GET", "/api/blocks?from=1&to="+itoa(tx.Height), "", &blocks); code != 200 || len(blocks) != int(tx.Height) {
		t.Errorf("GET /api/blocks: got %d, %d blocks; want %d", code, len(blocks), tx.Height)
	}
	var acct AccountView
	if code := apiCall(t, n, "GET", "/api/accounts/"+n.Address().String(), "", &acct); code != 200 || acct.Nonce != 1 || acct.Stake != 10 {
		t.Errorf("GET account: got %d %+v; want nonce 1, stake 10", code, acct)
	}
	var vals struct{ Validators []ValidatorView }
	if code := apiCall(t, n, "GET", "/api/validators", "", &vals); code != 200 || len(vals.Validators) != 1 {
		t.Errorf("GET /api/validators: got %d %+v", code, vals)
	}
	foreign := chain.Tx{Kind: chain.TxBPM, From: n.Address(), Nonce: 1, Value: 90, Fee: 1}
	foreign.Sign(n.ChainID(), c.keys[0])
	var sent struct{ ID chain.Hash }
	if code := apiCall(t, n, "POST", "/api/txs", `{"tx":"`+hex.EncodeToString(foreign.Encode())+`"}`, &sent); code != 200 || sent.ID != foreign.ID() {
		t.Errorf("POST /api/txs: got %d id %s, want 200 id %s", code, sent.ID.Short(), foreign.ID().Short())
	}

	errorsWanted := []struct {
		method, path, body string
		code               int
	}{
		{"POST", "/api/bpm", `{"bpm": 999}`, 422},
		{"POST", "/api/bpm", `{"beats": 70}`, 400},
		{"POST", "/api/bpm", `not json`, 400},
		{"POST", "/api/txs", `{"tx": "zz"}`, 400},
		{"POST", "/api/txs", `{"tx": "00"}`, 400},
		{"GET", "/api/blocks/abc", "", 400},
		{"GET", "/api/blocks/999999", "", 404},
		{"GET", "/api/blocks?from=5", "", 400},
		{"GET", "/api/blocks?from=1&to=1000", "", 400},
		{"GET", "/api/accounts/nobody", "", 400},
		{"GET", "/api/txs/1234", "", 400},
		{"GET", "/api/txs/" + strings.Repeat("ab", 32), "", 404},
		{"GET", "/api/nothing", "", 404},
	}
	for _, tt := range errorsWanted {
		var e struct{ Error string }
		if code := apiCall(t, n, tt.method, tt.path, tt.body, &e); code != tt.code || e.Error == "" {
			t.Errorf("%s %s %s: got %d %q, want %d with an error", tt.method, tt.path, tt.body, code, e.Error, tt.code)
		}
	}
	resp, err := http.Get("http://" + n.HTTPAddr() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, name := range []string{"posnode_height", "posnode_peers", "posnode_slots_won_total", "posnode_reorgs_total", "posnode_mempool_txs"} {
		if !strings.Contains(string(metrics), name) {
			t.Errorf("/metrics lacks %s", name)
		}
	}
}

func itoa(v uint64) string { return strconv.FormatUint(v, 10) }
