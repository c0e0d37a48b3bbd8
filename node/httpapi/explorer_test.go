package httpapi_test

import (
	"bufio"
	"context"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/posnode/posnode/chain"
	"github.com/posnode/posnode/node/httpapi"
	"github.com/posnode/posnode/node/view"
)

// GET /api/events streams each new head as a server-sent event, in order of height.
func TestAPIEvents(t *testing.T) {
	n := startNode(t)
	resp, err := http.Get("http://" + n.HTTPAddr() + "/api/events")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); resp.StatusCode != 200 || ct != "text/event-stream" {
		t.Fatalf("GET /api/events: %d %q", resp.StatusCode, ct)
	}
	events := make(chan httpapi.Event)
	go func() {
		defer close(events)
		sc := bufio.NewScanner(resp.Body)
		kind := ""
		for sc.Scan() {
			line := sc.Text()
			if k, ok := strings.CutPrefix(line, "event: "); ok {
				kind = k
			}
			if d, ok := strings.CutPrefix(line, "data: "); ok {
				var ev httpapi.Event
				if json.Unmarshal([]byte(d), &ev) == nil && kind == "head" {
					events <- ev
				}
			}
		}
	}()
	var last uint64
	for range 3 {
		select {
		case ev, ok := <-events:
			if !ok {
				t.Fatal("stream ended")
			}
			if ev.Height <= last || ev.Hash.IsZero() || ev.Proposer != n.Address().String() {
				t.Fatalf("head event %+v after height %d; want a higher head proposed by the node", ev, last)
			}
			last = ev.Height
		case <-time.After(20 * time.Second):
			t.Fatalf("no head event after height %d", last)
		}
	}
}

// The explorer page at / shows the head, the validator against its stake, recent blocks with their records, and
// carries no reference to anything outside the node.
func TestExplorerPage(t *testing.T) {
	n := startNode(t)
	if code := n.post(t, "/api/bpm", `{"bpm": 88}`, nil); code != 200 {
		t.Fatalf("POST /api/bpm: %d", code)
	}
	waitFor(t, 20*time.Second, "the record on the chain", func() bool {
		return strings.Contains(get(t, n.HTTPAddr(), "/?part=main"), "<td>88</td>")
	})
	body := get(t, n.HTTPAddr(), "/")
	for _, want := range []string{"<title>explorer · posnode posnode-api-test</title>", `id="height"`, n.Address().String(),
		`<svg id="fairness"`, `class="validator-row"`, `<svg id="slots"`, `class="slot proposed`, `src="/static/explorer.js"`,
		`data-live="/?part=main"`, `id="mempool-size"`, "no peers"} {
		if !strings.Contains(body, want) {
			t.Errorf("explorer page lacks %q", want)
		}
	}
	if !regexp.MustCompile(`<code id="ws-checkpoint" class="mono">[0-9]+:[0-9a-f]{64}</code>`).MatchString(body) {
		t.Error("explorer page lacks the finalized checkpoint as EPOCH:HASH")
	}
	if !strings.Contains(body, "every block (archive); oldest block held: 1") { // the test node keeps every block
		t.Error("explorer page lacks the retention window and the oldest block held")
	}
	var fin view.Finality
	if n.get(t, "/api/finality", &fin); fin.RetainEpochs != 0 || fin.OldestHeight != 1 {
		t.Errorf("GET /api/finality: retain_epochs %d oldest_height %d, want 0 and 1", fin.RetainEpochs, fin.OldestHeight)
	}
	for _, never := range []string{"http://", "https://", "//cdn"} {
		if strings.Contains(body, never) {
			t.Errorf("explorer page refers to %q outside the node", never)
		}
	}
	if part := get(t, n.HTTPAddr(), "/?part=main"); strings.Contains(part, "<html") || !strings.Contains(part, `id="height"`) {
		t.Errorf("?part=main: want the main part only, got %d bytes", len(part))
	}
}

func get(t *testing.T, addr, path string) string {
	t.Helper()
	resp, err := http.Get("http://" + addr + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s: %d %s", path, resp.StatusCode, b)
	}
	return string(b)
}

// The block, transaction and account pages, linked from each other, and the search box's answers to each kind of
// text it takes, and to text that names nothing.
func TestExplorerPagesAndSearch(t *testing.T) {
	n := startNode(t)
	var sent struct{ ID chain.Hash }
	if code := n.post(t, "/api/bpm", `{"bpm": 77}`, &sent); code != 200 {
		t.Fatalf("POST /api/bpm: %d", code)
	}
	var tx view.TxStatus
	waitFor(t, 20*time.Second, "the record committed", func() bool {
		return n.get(t, "/api/txs/"+sent.ID.String(), &tx) == 200 && tx.Status == "committed"
	})
	if tx.Tx == nil || tx.Tx.Value != 77 || tx.Tx.From != n.Address() {
		t.Fatalf("GET /api/txs: got %+v, want the record itself", tx.Tx)
	}
	addr, id, block := n.Address().String(), sent.ID.String(), tx.Block.String()
	pages := []struct {
		path  string
		code  int
		wants []string
	}{
		{"/block/0", 200, []string{`id="block-height">0<`, "(genesis)", n.ChainID().String()}},
		{"/block/" + itoa(tx.Height), 200, []string{`href="/tx/` + id + `"`, `href="/account/` + addr + `"`, ">77<"}},
		{"/block/" + block, 200, []string{`id="block-hash">` + block + "<", `href="/block/` + itoa(tx.Height-1) + `"`}},
		{"/block/" + strings.ToUpper(block), 200, []string{`id="block-hash">` + block + "<"}},
		{"/block/" + block[:8], 200, []string{`id="block-hash">` + block + "<"}}, // as the tables print it
		{"/block/" + block[:13], 200, []string{`id="block-hash">` + block + "<"}},
		{"/block/" + n.ChainID().String()[:8], 200, []string{`id="block-height">0<`}},
		{"/block/nope", 400, []string{"neither a height nor a block hash"}},
		{"/block/99999", 404, []string{"no block at height 99999"}},
		{"/tx/" + id[:8], 200, []string{`id="tx-id">` + id + "<", "committed", `href="/block/` + block + `"`, `href="/account/` + addr + `"`}},
		{"/tx/abc", 400, []string{"8 to 64 hex digits"}},
		{"/tx/00000000", 404, []string{"no transaction"}},
		{"/account/" + addr, 200, []string{`id="account-address">` + addr + "<", `href="/tx/` + id + `"`, "under each slot's table give 100.0%"}},
		{"/account/nope", 400, []string{"not an ed25519 peer ID"}},
	}
	for _, p := range pages {
		code, body := getPage(t, n.HTTPAddr(), p.path)
		if code != p.code {
			t.Errorf("GET %s: %d, want %d", p.path, code, p.code)
		}
		for _, w := range p.wants {
			if !strings.Contains(body, w) {
				t.Errorf("GET %s lacks %q", p.path, w)
			}
		}
	}
	searches := []struct{ q, location string }{
		{"", "/"},
		{itoa(tx.Height), "/block/" + itoa(tx.Height)},
		{" " + id[:8] + " ", "/tx/" + id},
		{strings.ToUpper(id[:10]), "/tx/" + id},
		{id, "/tx/" + id},
		{block, "/block/" + block},
		{block[:8], "/block/" + block}, // as the prompt, the tables and the announcements print it
		{strings.ToUpper(block[:9]), "/block/" + block},
		{n.ChainID().String(), "/block/" + n.ChainID().String()},
		{addr, "/account/" + addr},
	}
	for _, s := range searches {
		code, loc := searchFor(t, n.HTTPAddr(), s.q)
		if code != http.StatusSeeOther || loc != s.location {
			t.Errorf("search %q: %d to %q, want 303 to %q", s.q, code, loc, s.location)
		}
	}
	for q, want := range map[string]int{"hello": 400, "99999": 404, "00000000": 404, "0000000000000000000000000000000000000000000000000000000000000000": 404} {
		if code, _ := searchFor(t, n.HTTPAddr(), q); code != want {
			t.Errorf("search %q: %d, want %d", q, code, want)
		}
	}
	if code, body := getPage(t, n.HTTPAddr(), "/search?q=00000000"); code != 404 || !strings.Contains(body, "no block or transaction 00000000") {
		t.Errorf("search 00000000: %d, want 404 that says no block or transaction has it", code)
	}
	for _, id := range []string{block, block[:8], strings.ToUpper(block[:20]), itoa(tx.Height)} {
		var b view.Block
		if code := n.get(t, "/api/blocks/"+id, &b); code != 200 || b.Hash.String() != block || b.Height != tx.Height {
			t.Errorf("GET /api/blocks/%s: %d %s #%d, want 200 %s #%d", id, code, b.Hash.Short(), b.Height, block[:8], tx.Height)
		}
	}
}

// The slot grid and the mempool as JSON, for scripts.
func TestAPISlotsAndMempool(t *testing.T) {
	n := startNode(t)
	waitFor(t, 20*time.Second, "height 2", func() bool {
		var st view.Status
		return n.get(t, "/api/status", &st) == 200 && st.Height >= 2
	})
	var b1 view.Block
	if code := n.get(t, "/api/blocks/1", &b1); code != 200 {
		t.Fatalf("GET /api/blocks/1: %d", code)
	}
	epoch := b1.Slot / n.gen.EpochLength
	var slots []view.Slot
	if code := n.get(t, "/api/slots?from=0&to="+itoa(epoch), &slots); code != 200 || len(slots) != int((epoch+1)*n.gen.EpochLength) {
		t.Fatalf("GET /api/slots?from=0&to=%d: %d, %d slots; want the %d of epochs 0..%d", epoch, code, len(slots), (epoch+1)*n.gen.EpochLength, epoch)
	}
	// The node, alone, waits a while before it proposes: the slots before block 1 are missed, by the node.
	for _, s := range slots[1:b1.Slot] {
		if s.State != view.SlotMissed || s.Leader != n.Address() || s.Block != nil {
			t.Errorf("slot %d before block 1: %+v, want missed by the node", s.Slot, s)
		}
	}
	if s := slots[b1.Slot]; s.State != view.SlotProposed || s.Height != 1 || s.Leader != n.Address() || *s.Block != b1.Hash {
		t.Errorf("slot %d: %+v, want block 1 proposed by the node", b1.Slot, s)
	}
	if code := n.get(t, "/api/slots", &slots); code != 200 || len(slots) == 0 {
		t.Errorf("GET /api/slots: %d, %d slots", code, len(slots))
	}
	var e struct{ Error string }
	for _, bad := range []string{"/api/slots?from=1", "/api/slots?from=2&to=1", "/api/slots?from=-1&to=2"} {
		if code := n.get(t, bad, &e); code != 400 || e.Error == "" {
			t.Errorf("GET %s: %d %q, want 400 with a message", bad, code, e.Error)
		}
	}
	// The range: 101 epochs of 8 slots are more than one answer holds; refused, not cut to the last 512.
	if code := n.get(t, "/api/slots?from=0&to=100", &e); code != 400 || !strings.Contains(e.Error, "at most 512 slots per request") ||
		!strings.Contains(e.Error, "?from=0&to=63") {
		t.Errorf("GET /api/slots?from=0&to=100: %d %q, want 400 that says how many epochs fit", code, e.Error)
	}
	slots = nil
	if code := n.get(t, "/api/slots?from=0&to=63", &slots); code != 200 || len(slots) != 512 {
		t.Fatalf("GET /api/slots?from=0&to=63: %d, %d slots; want the 512", code, len(slots))
	}
	for _, s := range slots[1 : 2*n.gen.EpochLength] { // epochs 0 and 1 draw from the genesis: final
		if s.Leader != n.Address() || s.LeaderStatus != view.LeaderFinal {
			t.Errorf("slot %d: leader %s %q, want the node, final", s.Slot, s.Leader.Short(), s.LeaderStatus)
		}
	}
	// Leaders: final where the lottery's inputs are finalized, projected where they are on the chain, none where
	// the seed (the mix of epoch e-1's checkpoint) does not exist yet.
	var before, after view.Status
	var finBefore view.Finality
	n.get(t, "/api/status", &before)
	n.get(t, "/api/finality", &finBefore)
	ahead := before.Epoch + 4
	slots = nil // a fresh slice: decoding into the old one would keep its leaders where the answer has none
	if code := n.get(t, "/api/slots?from="+itoa(before.Epoch)+"&to="+itoa(ahead), &slots); code != 200 {
		t.Fatalf("GET /api/slots ahead: %d", code)
	}
	n.get(t, "/api/status", &after)
	headBefore, headAfter := before.HeadSlot/n.gen.EpochLength, after.HeadSlot/n.gen.EpochLength
	counts := map[string]int{}
	for _, s := range slots {
		switch {
		case s.Epoch <= headBefore+1 && (s.Leader != n.Address() || s.LeaderStatus == ""):
			t.Errorf("slot %d of epoch %d (head in epoch %d): leader %s %q, want the node, final or projected",
				s.Slot, s.Epoch, headBefore, s.Leader.Short(), s.LeaderStatus)
		case s.Epoch > headAfter+1 && (!s.Leader.IsZero() || s.LeaderStatus != ""):
			t.Errorf("slot %d of epoch %d (head in epoch %d): leader %s %q, want none: its seed does not exist",
				s.Slot, s.Epoch, headAfter, s.Leader.Short(), s.LeaderStatus)
		case s.LeaderStatus == view.LeaderFinal && s.Epoch > uint64(after.Finalized.Epoch)+1:
			t.Errorf("slot %d of epoch %d: final, but epoch %d is not finalized", s.Slot, s.Epoch, s.Epoch-1)
		case s.LeaderStatus == view.LeaderProjected && s.Epoch <= uint64(finBefore.Finalized.Epoch)+1:
			t.Errorf("slot %d of epoch %d: projected, but epoch %d is finalized", s.Slot, s.Epoch, finBefore.Finalized.Epoch)
		}
		counts[s.LeaderStatus]++
	}
	t.Logf("epochs %d..%d with the head in epoch %d: leaders %d final, %d projected, %d none", before.Epoch, ahead,
		headBefore, counts[view.LeaderFinal], counts[view.LeaderProjected], counts[""])
	if counts[""] < int(2*n.gen.EpochLength) {
		t.Errorf("%d slots without a leader, want the %d of the two epochs after the head's next at least", counts[""], 2*n.gen.EpochLength)
	}
	gap := chain.Tx{Kind: chain.TxBPM, From: n.Address(), Nonce: 9, Value: 60, Fee: 1}
	gap.Sign(n.ChainID(), n.key)
	if code := n.post(t, "/api/txs", `{"tx":"`+hex.EncodeToString(gap.Encode())+`"}`, nil); code != 200 {
		t.Fatalf("POST /api/txs: %d", code)
	}
	var pool view.Mempool
	if code := n.get(t, "/api/mempool", &pool); code != 200 || pool.Size != 1 || pool.Oldest == nil || pool.Oldest.Tx.ID != gap.ID() {
		t.Errorf("GET /api/mempool: %d %+v; want the one waiting transaction", code, pool)
	}
}

// The explorer's pages run only the node's own script and style: its policy forbids inline code, so the pages carry
// none, and its files are served from the binary.
func TestExplorerContentSecurity(t *testing.T) {
	n := startNode(t)
	resp, err := http.Get("http://" + n.HTTPAddr() + "/")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'self'") || strings.Contains(csp, "unsafe") {
		t.Errorf("Content-Security-Policy %q: want default-src 'self' and nothing unsafe", csp)
	}
	for _, never := range []string{"<script>", "style=", " on" + "click=", "<style"} {
		if strings.Contains(string(body), never) {
			t.Errorf("the page holds %q, which its policy blocks", never)
		}
	}
	for path, ctype := range map[string]string{"/static/explorer.js": "javascript", "/static/explorer.css": "text/css",
		"/static/favicon.svg": "image/svg+xml"} {
		resp, err := http.Get("http://" + n.HTTPAddr() + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.Contains(resp.Header.Get("Content-Type"), ctype) {
			t.Errorf("GET %s: %d %q, want 200 %s", path, resp.StatusCode, resp.Header.Get("Content-Type"), ctype)
		}
	}
	if code, _ := getPage(t, n.HTTPAddr(), "/static/nothing.js"); code != 404 {
		t.Errorf("GET /static/nothing.js: %d, want 404", code)
	}
}

func getPage(t *testing.T, addr, path string) (int, string) {
	t.Helper()
	resp, err := http.Get("http://" + addr + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// searchFor sends the search box's request and returns the status and the redirect's target.
func searchFor(t *testing.T, addr, q string) (int, string) {
	t.Helper()
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Get("http://" + addr + "/search?q=" + url.QueryEscape(q))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode, resp.Header.Get("Location")
}

// GET /api/events sends a finality event when the head's checkpoints move, with the checkpoints the node then
// reports at GET /api/finality.
func TestAPIFinalityEvents(t *testing.T) {
	n := startNode(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+n.HTTPAddr()+"/api/events", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	finality := make(chan httpapi.Event)
	go func() {
		sc, kind := bufio.NewScanner(resp.Body), ""
		for sc.Scan() {
			if k, ok := strings.CutPrefix(sc.Text(), "event: "); ok {
				kind = k
			}
			var ev httpapi.Event
			if d, ok := strings.CutPrefix(sc.Text(), "data: "); ok && kind == "finality" && json.Unmarshal([]byte(d), &ev) == nil {
				select {
				case finality <- ev:
				case <-ctx.Done():
					return
				}
			}
		}
	}()
	deadline := time.After(60 * time.Second)
	for {
		var ev httpapi.Event
		select {
		case ev = <-finality:
		case <-deadline:
			t.Fatal("no finality event with a finalized epoch after genesis")
		}
		if ev.Justified == nil || ev.Finalized == nil || ev.Justified.Epoch < ev.Finalized.Epoch {
			t.Fatalf("finality event %+v: want both checkpoints, justified no older than finalized", ev)
		}
		if ev.Finalized.Epoch == 0 {
			continue
		}
		var f view.Finality
		if code := n.get(t, "/api/finality", &f); code != 200 || f.Finalized.Epoch < ev.Finalized.Epoch ||
			f.Finalized.Epoch == ev.Finalized.Epoch && f.Finalized.Hash != ev.Finalized.Hash {
			t.Errorf("event finalized %+v, GET /api/finality %d %+v", *ev.Finalized, code, f.Finalized)
		}
		return
	}
}
