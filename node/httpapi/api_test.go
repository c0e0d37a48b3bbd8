package httpapi_test

import (
	"encoding/hex"
	"io"
	"net/http"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/posnode/posnode/chain"
	"github.com/posnode/posnode/node/view"
)

func TestHTTPAPI(t *testing.T) {
	n := startNode(t)

	var posted struct{ ID chain.Hash }
	if code := n.post(t, "/api/bpm", `{"bpm": 72}`, &posted); code != 200 || posted.ID.IsZero() {
		t.Fatalf("POST /api/bpm: got %d, id %s; want 200 and an id", code, posted.ID)
	}
	var tx view.TxStatus
	waitFor(t, 20*time.Second, "the record to be committed", func() bool {
		return n.get(t, "/api/txs/"+posted.ID.String(), &tx) == 200 && (tx.Status == "committed" || tx.Status == "finalized")
	})
	var blk view.Block
	if code := n.get(t, "/api/blocks/"+itoa(tx.Height), &blk); code != 200 || len(blk.Txs) != 1 || blk.Txs[0].Value != 72 {
		t.Fatalf("GET block %d: got %d %+v; want the bpm 72 record", tx.Height, code, blk)
	}
	var st view.Status
	if code := n.get(t, "/api/status", &st); code != 200 || st.PeerID != n.Address().String() || st.Height < tx.Height {
		t.Errorf("GET /api/status: got %d %+v", code, st)
	}
	var blocks []view.Block
	if code := n.get(t, "/api/blocks?from=1&to="+itoa(tx.Height), &blocks); code != 200 || len(blocks) != int(tx.Height) {
		t.Errorf("GET /api/blocks: got %d, %d blocks; want %d", code, len(blocks), tx.Height)
	}
	var acct view.Account
	if code := n.get(t, "/api/accounts/"+n.Address().String(), &acct); code != 200 || acct.Nonce != 1 || acct.Stake != 10 {
		t.Errorf("GET account: got %d %+v; want nonce 1, stake 10", code, acct)
	}
	var vals struct{ Validators []view.Validator }
	if code := n.get(t, "/api/validators", &vals); code != 200 || len(vals.Validators) != 1 || vals.Validators[0].Share != 1 {
		t.Errorf("GET /api/validators: got %d %+v; want one validator with share 1 (a number: all the stake)", code, vals)
	}
	foreign := chain.Tx{Kind: chain.TxBPM, From: n.Address(), Nonce: 1, Value: 90, Fee: 1}
	foreign.Sign(n.ChainID(), n.key)
	var sent struct{ ID chain.Hash }
	if code := n.post(t, "/api/txs", `{"tx":"`+hex.EncodeToString(foreign.Encode())+`"}`, &sent); code != 200 || sent.ID != foreign.ID() {
		t.Errorf("POST /api/txs: got %d id %s, want 200 id %s", code, sent.ID.Short(), foreign.ID().Short())
	}
	var batch [3]chain.Tx // nonce 2 and 3 are fine; the third repeats nonce 3
	for i, nonce := range []chain.Nonce{2, 3, 3} {
		batch[i] = chain.Tx{Kind: chain.TxBPM, From: n.Address(), Nonce: nonce, Value: uint64(80 + i), Fee: 1}
		batch[i].Sign(n.ChainID(), n.key)
	}
	body := `{"txs": ["` + hex.EncodeToString(batch[0].Encode()) + `", "` + hex.EncodeToString(batch[1].Encode()) +
		`", "` + hex.EncodeToString(batch[2].Encode()) + `"]}`
	var answer struct {
		Accepted int
		Results  []struct {
			ID    chain.Hash
			Error string
		}
	}
	code := n.post(t, "/api/txbatch", body, &answer)
	if code != 200 || answer.Accepted != 2 || len(answer.Results) != 3 {
		t.Fatalf("POST /api/txbatch: got %d %+v; want 200, 2 of 3 accepted", code, answer)
	}
	for i, r := range answer.Results {
		if r.ID != batch[i].ID() || (r.Error == "") != (i < 2) {
			t.Errorf("POST /api/txbatch result %d: got %+v; want id %s, an error only for the repeated nonce", i, r, batch[i].ID().Short())
		}
	}
}

// Every request of this table is wrong in one way, and the answer says so with the status that fits.
func TestAPIRefusesBadRequests(t *testing.T) {
	n := startNode(t)
	huge := `{"bpm": 72, "pad": "` + strings.Repeat("x", 70<<10) + `"}`
	tests := []struct {
		name               string
		method, path, body string
		code               int
		allow              string
	}{
		{"bpm out of range", "POST", "/api/bpm", `{"bpm": 999}`, 422, ""},
		{"unknown field", "POST", "/api/bpm", `{"beats": 70}`, 400, ""},
		{"known and unknown field", "POST", "/api/bpm", `{"bpm": 70, "extra": 1}`, 400, ""},
		{"two values", "POST", "/api/bpm", `{"bpm":72}{"bpm":73}`, 400, ""},
		{"value and junk", "POST", "/api/bpm", `{"bpm":72} x`, 400, ""},
		{"no value", "POST", "/api/bpm", `{}`, 400, ""},
		{"negative", "POST", "/api/bpm", `{"bpm": -5}`, 400, ""},
		{"fraction", "POST", "/api/bpm", `{"bpm": 72.5}`, 400, ""},
		{"not json", "POST", "/api/bpm", `not json`, 400, ""},
		{"body over the limit", "POST", "/api/bpm", huge, 413, ""},
		{"tx not hex", "POST", "/api/txs", `{"tx": "zz"}`, 400, ""},
		{"tx too short", "POST", "/api/txs", `{"tx": "00"}`, 400, ""},
		{"tx missing", "POST", "/api/txs", `{}`, 400, ""},
		{"batch empty", "POST", "/api/txbatch", `{"txs": []}`, 400, ""},
		{"batch with a tx not hex", "POST", "/api/txbatch", `{"txs": ["zz"]}`, 400, ""},
		{"batch over the limit", "POST", "/api/txbatch", `{"txs": [` + strings.Repeat(`"00",`, chain.MaxTxBatch) + `"00"]}`, 400, ""},
		{"wrong method on a GET route", "POST", "/api/status", "", 405, "GET, HEAD"},
		{"wrong method on a POST route", "GET", "/api/bpm", "", 405, "POST"},
		{"delete a transaction", "DELETE", "/api/txs/" + strings.Repeat("ab", 32), "", 405, "GET, HEAD"},
		{"height not a number", "GET", "/api/blocks/abc", "", 400, ""},
		{"negative height", "GET", "/api/blocks/-1", "", 400, ""},
		{"height past the head", "GET", "/api/blocks/999999", "", 404, ""},
		{"range without to", "GET", "/api/blocks?from=5", "", 400, ""},
		{"range too long", "GET", "/api/blocks?from=0&to=1000", "", 400, ""},
		{"range backwards", "GET", "/api/blocks?from=5&to=1", "", 400, ""},
		{"bad address", "GET", "/api/accounts/nobody", "", 400, ""},
		{"records of a bad address", "GET", "/api/accounts/nobody/records", "", 400, ""},
		{"records, limit 0", "GET", "/api/accounts/" + n.Address().String() + "/records?limit=0", "", 400, ""},
		{"records, limit over the most", "GET", "/api/accounts/" + n.Address().String() + "/records?limit=501", "", 400, ""},
		{"records, before not a height", "GET", "/api/accounts/" + n.Address().String() + "/records?before=x", "", 400, ""},
		{"tx prefix too short", "GET", "/api/txs/83d4cf7", "", 400, ""},
		{"tx prefix not hex", "GET", "/api/txs/83d4cf7z", "", 400, ""},
		{"tx prefix of nothing", "GET", "/api/txs/00000000", "", 404, ""},
		{"unknown tx", "GET", "/api/txs/" + strings.Repeat("ab", 32), "", 404, ""},
		{"unknown route", "GET", "/api/nothing", "", 404, ""},
	}
	for _, tt := range tests {
		var e struct{ Error string }
		resp := n.do(t, request{method: tt.method, path: tt.path, body: tt.body, auth: true}, &e)
		if resp.StatusCode != tt.code || e.Error == "" {
			t.Errorf("%s: %s %s: got %d %q, want %d with an error", tt.name, tt.method, tt.path, resp.StatusCode, e.Error, tt.code)
		}
		if got := resp.Header.Get("Allow"); got != tt.allow {
			t.Errorf("%s: Allow: got %q, want %q", tt.name, got, tt.allow)
		}
	}
	var acct view.Account
	if n.get(t, "/api/accounts/"+n.Address().String(), &acct); acct.Nonce != 0 || acct.Pending != 0 {
		t.Errorf("after refused requests: account %+v, want nothing signed", acct)
	}
}

// The genesis is block 0, ranges start at 0, and the status names the network as genesis.json does.
func TestAPIGenesisAndNames(t *testing.T) {
	n := startNode(t)
	var st view.Status
	if code := n.get(t, "/api/status", &st); code != 200 {
		t.Fatalf("status: %d", code)
	}
	if st.ChainID != n.gen.ChainID || st.GenesisHash != n.gen.Hash() {
		t.Errorf("status names: chain_id %q genesis_hash %s; want %q and %s", st.ChainID, st.GenesisHash.Short(),
			n.gen.ChainID, n.gen.Hash().Short())
	}
	if st.Peers != 0 || st.Synced {
		t.Errorf("a node without peers: peers %d synced %v; want 0 and false", st.Peers, st.Synced)
	}
	var raw map[string]any
	n.get(t, "/api/blocks/0", &raw)
	if _, ok := raw["proposer"]; ok {
		t.Errorf("genesis block has a proposer: %v", raw)
	}
	var g view.Block
	if code := n.get(t, "/api/blocks/0", &g); code != 200 || g.Height != 0 || g.Hash != n.gen.Hash() || len(g.Txs) != 0 {
		t.Errorf("GET /api/blocks/0: got %d %+v; want the genesis %s", code, g, n.gen.Hash().Short())
	}
	waitFor(t, 20*time.Second, "height 3", func() bool { return n.get(t, "/api/status", &st) == 200 && st.Height >= 3 })
	var bs []view.Block
	if code := n.get(t, "/api/blocks?from=0&to=3", &bs); code != 200 || len(bs) != 4 {
		t.Fatalf("GET /api/blocks?from=0&to=3: got %d, %d blocks; want 4", code, len(bs))
	}
	for i, b := range bs {
		if b.Height != uint64(i) || (i > 0 && b.Parent != bs[i-1].Hash) {
			t.Errorf("block %d of the range: height %d parent %s; want height %d on %s", i, b.Height,
				b.Parent.Short(), i, bs[max(i, 1)-1].Hash.Short())
		}
	}
}

// The 8-digit IDs the prompt prints, and any longer prefix, find their transaction.
func TestAPITxPrefix(t *testing.T) {
	n := startNode(t)
	var posted struct{ ID chain.Hash }
	if code := n.post(t, "/api/bpm", `{"bpm": 61}`, &posted); code != 200 {
		t.Fatalf("POST /api/bpm: %d", code)
	}
	for _, prefix := range []string{posted.ID.Short(), strings.ToUpper(posted.ID.Short()), posted.ID.String()[:13]} {
		var st view.TxStatus
		if code := n.get(t, "/api/txs/"+prefix, &st); code != 200 || st.ID != posted.ID {
			t.Errorf("GET /api/txs/%s: got %d %+v; want the record %s", prefix, code, st, posted.ID)
		}
	}
	waitFor(t, 20*time.Second, "the record to be committed", func() bool {
		var st view.TxStatus
		return n.get(t, "/api/txs/"+posted.ID.Short(), &st) == 200 && (st.Status == "committed" || st.Status == "finalized")
	})
}

func TestAPIMetrics(t *testing.T) {
	n := startNode(t)
	resp, err := http.Get("http://" + n.HTTPAddr() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	names := []string{"posnode_height", "posnode_peers", "posnode_slots_won_total", "posnode_reorgs_total", "posnode_mempool_txs",
		"go_goroutines", "go_gc_duration_seconds", "go_memstats_heap_alloc_bytes"} // and the Go runtime's
	if runtime.GOOS == "linux" {
		names = append(names, "process_cpu_seconds_total", "process_resident_memory_bytes", "process_open_fds")
	}
	for _, name := range names {
		if !strings.Contains(string(metrics), name) {
			t.Errorf("/metrics lacks %s", name)
		}
	}
}

// An account's records come newest first, a page at a time: limit=1 holds the newer record and names the page of
// the older one.
func TestAPIRecords(t *testing.T) {
	n := startNode(t)
	var heights []uint64
	for _, bpm := range []string{"72", "74"} { // the second is sent once the first is committed: another block
		var posted struct{ ID chain.Hash }
		if code := n.post(t, "/api/bpm", `{"bpm": `+bpm+`}`, &posted); code != 200 {
			t.Fatalf("POST /api/bpm: got %d", code)
		}
		var tx view.TxStatus
		waitFor(t, 20*time.Second, "the record to be committed", func() bool {
			return n.get(t, "/api/txs/"+posted.ID.String(), &tx) == 200 && tx.Height > 0
		})
		heights = append(heights, tx.Height)
	}
	path := "/api/accounts/" + n.Address().String() + "/records"
	var all, first, second view.Records
	if code := n.get(t, path, &all); code != 200 || len(all.Records) != 2 || all.Records[0].BPM != 74 ||
		all.Records[1].BPM != 72 || all.Records[1].Height != heights[0] || all.Next != 0 {
		t.Fatalf("GET %s: got %d %+v; want 74 then 72 (height %d), no next page", path, code, all, heights[0])
	}
	if code := n.get(t, path+"?limit=1", &first); code != 200 || len(first.Records) != 1 || first.Records[0].BPM != 74 ||
		first.Next != heights[1] {
		t.Fatalf("GET %s?limit=1: got %d %+v; want 74, next %d", path, code, first, heights[1])
	}
	if code := n.get(t, path+"?limit=1&before="+itoa(first.Next), &second); code != 200 || len(second.Records) != 1 ||
		second.Records[0].BPM != 72 || second.Records[0].Finality == "" {
		t.Errorf("GET the next page: got %d %+v; want 72 with its finality", code, second)
	}
}
