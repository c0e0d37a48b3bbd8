package httpapi_test

import (
	"context"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/posnode/posnode/chain"
)

// The explorer in a real browser: a headless Chromium, driven over the DevTools protocol, opens the front page of
// one node of a running 4-node network. The page loads without a console error, its head advances without a
// reload and so does its finalized checkpoint, its stake-against-wins panel lists the four validators, its mempool
// shows the waiting transaction, and its search box finds a block by height and a transaction by the 8-digit
// prefix the prompt prints. The screenshot goes to build/explorer.png.
func TestExplorerInChromium(t *testing.T) {
	bin := chromiumPath()
	if bin == "" && os.Getenv("CI") == "true" {
		t.Fatal("CI=true but no chromium on PATH: .ci/run installs it (apt-get install chromium)")
	}
	if bin == "" {
		t.Skip("no chromium on PATH (Debian: apt-get install chromium; .ci/run installs it); set CHROMIUM to a binary")
	}
	nodes := startNetwork(t, []uint64{10, 20, 30, 40}, 500*time.Millisecond)
	n := nodes[0]
	id := n.submitRecord(t, 72)
	waitFor(t, 30*time.Second, "the record committed", func() bool {
		var st struct{ Status string }
		return n.get(t, "/api/txs/"+id.String(), &st) == 200 && st.Status == "committed"
	})

	// A transaction four nonces ahead of its account waits in the mempool for good.
	gap := chain.Tx{Kind: chain.TxBPM, From: n.Address(), Nonce: 5, Value: 90, Fee: 1}
	gap.Sign(n.ChainID(), n.key)
	if code := n.post(t, "/api/txs", `{"tx":"`+hex.EncodeToString(gap.Encode())+`"}`, nil); code != 200 {
		t.Fatalf("POST /api/txs: %d", code)
	}

	ctx := newBrowser(t, bin)
	console := watchConsole(ctx)
	base := "http://" + n.HTTPAddr()
	if err := chromedp.Do(ctx, chromedp.Navigate(base+"/"), chromedp.WaitVisible(chromedp.ID("height"))); err != nil {
		t.Fatalf("open the explorer: %v", err)
	}
	first := pageHeight(t, ctx)
	// A reload would drop this mark; the head must move while it stays.
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[int](`window.explorerMark = 1`)); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](
		`Number(document.getElementById("height").textContent) >= `+strconv.FormatUint(first+2, 10),
		chromedp.WithPollingTimeout(30*time.Second))); err != nil {
		t.Fatalf("the head on the page stayed at %d: %v", first, err)
	}
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](
		`/^epoch [1-9]/.test(document.getElementById("finalized").textContent)`,
		chromedp.WithPollingTimeout(60*time.Second))); err != nil {
		t.Fatalf("no finalized checkpoint after genesis on the page: %v", err)
	}
	if mark, err := chromedp.Run(ctx, chromedp.Evaluate[int](`window.explorerMark || 0`)); err != nil || mark != 1 {
		t.Fatalf("the page reloaded (mark %d, %v); want the head and the checkpoints to move in place", mark, err)
	}
	checkValidators(t, ctx, nodes)
	pool, err := chromedp.Run(ctx, chromedp.Evaluate[string](
		`document.getElementById("mempool-size").textContent + " " + document.querySelector("#mempool-section a[href^='/tx/']").title`))
	if want := "1 " + gap.ID().String(); err != nil || pool != want {
		t.Errorf("mempool on the page: %q (%v), want %q: its size and its oldest transaction", pool, err, want)
	}
	saveScreenshot(t, ctx)

	search(t, ctx, "3", chromedp.ID("block-height"), "3")
	search(t, ctx, id.String()[:8], chromedp.ID("tx-id"), id.String())

	for _, m := range console.messages() {
		if m.Type == chromedp.ConsoleError || m.IsException() {
			t.Errorf("console %s (%s:%d)", m, m.URL, m.Line)
		}
	}
}

// chromiumPath finds the browser: $CHROMIUM, else chromium or chromium-browser on PATH.
func chromiumPath() string {
	if p := os.Getenv("CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// newBrowser starts a headless Chromium that lives until the test ends.
func newBrowser(t *testing.T, bin string) context.Context {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(bin), chromedp.NoSandbox,
		chromedp.WindowSize(1200, 900), chromedp.UserDataDir(t.TempDir()))
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(func() {
		cancel()
		cancelAlloc()
	})
	if err := chromedp.Do(ctx); err != nil { // starts the browser
		t.Fatalf("start %s: %v", bin, err)
	}
	return ctx
}

// consoleLog collects what the page writes to its console, from the moment it is made until the test ends.
type consoleLog struct {
	mu   sync.Mutex
	msgs []chromedp.ConsoleMessage
	done chan struct{}
}

func watchConsole(ctx context.Context) *consoleLog {
	c := &consoleLog{done: make(chan struct{})}
	msgs := chromedp.Console(ctx)
	go func() {
		defer close(c.done)
		for m, err := range msgs {
			if err != nil {
				return
			}
			c.mu.Lock()
			c.msgs = append(c.msgs, m)
			c.mu.Unlock()
		}
	}()
	return c
}

func (c *consoleLog) messages() []chromedp.ConsoleMessage {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]chromedp.ConsoleMessage(nil), c.msgs...)
}

func pageHeight(t *testing.T, ctx context.Context) uint64 {
	t.Helper()
	text, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.getElementById("height").textContent`))
	if err != nil {
		t.Fatal(err)
	}
	h, err := strconv.ParseUint(text, 10, 64)
	if err != nil {
		t.Fatalf("head height on the page: %v", err)
	}
	return h
}

// checkValidators checks that the stake-against-wins panel has one row and one chart line per validator.
func checkValidators(t *testing.T, ctx context.Context, nodes []*apiNode) {
	t.Helper()
	rows, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](
		`Array.from(document.querySelectorAll("#fairness-section tr.validator-row")).map(r => r.dataset.address)`))
	if err != nil {
		t.Fatal(err)
	}
	bars, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll("#fairness g.validator").length`))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{}
	for _, n := range nodes {
		want[n.Address().String()] = true
	}
	for _, a := range rows {
		delete(want, a)
	}
	if len(rows) != len(nodes) || len(want) > 0 || bars != len(nodes) {
		t.Errorf("stake-against-wins panel: rows %v and %d chart lines; want the %d validators (missing %v)", rows, bars, len(nodes), want)
	}
}

// search types q into the search box, submits it and waits for the page it leads to, whose element sel must read
// want.
func search(t *testing.T, ctx context.Context, q string, sel chromedp.ID, want string) {
	t.Helper()
	err := chromedp.Do(ctx, chromedp.SetValue(chromedp.ID("q"), q), chromedp.Submit(chromedp.ID("q")),
		chromedp.WaitVisible(sel))
	if err != nil {
		t.Fatalf("search %q: %v", q, err)
	}
	got, err := chromedp.Run(ctx, chromedp.Text(sel))
	if err != nil || got != want {
		loc, _ := chromedp.Run(ctx, chromedp.Location())
		t.Fatalf("search %q led to %s with %s = %q (%v), want %q", q, loc, sel, got, err, want)
	}
}

// saveScreenshot writes the page to build/explorer.png at the repository's root, for CI to keep.
func saveScreenshot(t *testing.T, ctx context.Context) {
	t.Helper()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	dir := filepath.Join("..", "..", "build")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "explorer.png")
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s (%d bytes)", path, len(png))
}

// submitRecord has node n sign and submit a heart-rate record, and returns its ID.
func (n *apiNode) submitRecord(t *testing.T, bpm int) chain.Hash {
	t.Helper()
	var resp struct{ ID chain.Hash }
	if code := n.post(t, "/api/bpm", `{"bpm": `+strconv.Itoa(bpm)+`}`, &resp); code != 200 {
		t.Fatalf("POST /api/bpm: %d", code)
	}
	return resp.ID
}
