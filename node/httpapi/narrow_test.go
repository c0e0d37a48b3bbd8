package httpapi_test

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// narrowWidth is the width, in CSS pixels, of the narrow screen the explorer must fit: a small phone held upright.
const narrowWidth = 420

// The explorer on a narrow screen: in a headless Chromium 420 px wide, the front page, a block, a transaction, an
// account and an error page each fit the width (no horizontal scroll of the page; wide tables and charts scroll
// inside themselves), their search box and its button lie whole on the screen, and the box finds a transaction.
// Screenshots go to build/explorer-420-<page>.png.
func TestExplorerNarrowInChromium(t *testing.T) {
	bin := chromiumPath()
	if bin == "" && os.Getenv("CI") == "true" {
		t.Fatal("CI=true but no chromium on PATH: .ci/run installs it (apt-get install chromium)")
	}
	if bin == "" {
		t.Skip("no chromium on PATH (Debian: apt-get install chromium); set CHROMIUM to a binary")
	}
	n := startNode(t)
	id := n.submitRecord(t, 72)
	var st struct {
		Status string
		Height uint64
	}
	waitFor(t, 30*time.Second, "the record committed", func() bool {
		return n.get(t, "/api/txs/"+id.String(), &st) == 200 && st.Status != "pending"
	})
	ctx := newBrowser(t, bin)
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(narrowWidth, 900)); err != nil {
		t.Fatal(err)
	}
	base := "http://" + n.HTTPAddr()
	pages := []struct{ name, path, sel string }{
		{"front", "/", "#height"},
		{"block", "/block/" + strconv.FormatUint(st.Height, 10), "#block-height"},
		{"tx", "/tx/" + id.String(), "#tx-id"},
		{"account", "/account/" + n.Address().String(), "main"},
		{"notfound", "/nope", "main"},
	}
	for _, p := range pages {
		if err := chromedp.Do(ctx, chromedp.Navigate(base+p.path), chromedp.WaitVisible(chromedp.CSS(p.sel))); err != nil {
			t.Fatalf("open %s: %v", p.path, err)
		}
		checkFits(t, ctx, p.path)
		saveShot(t, ctx, "explorer-"+strconv.Itoa(narrowWidth)+"-"+p.name+".png")
	}
	search(t, ctx, id.String()[:8], chromedp.ID("tx-id"), id.String())
}

// fitJS measures the page against the window: the page's own scroll width, the search box's and its button's
// edges, and the widest elements that stick out past the right edge outside a box that scrolls them.
const fitJS = `(() => {
  const w = window.innerWidth, r = e => e.getBoundingClientRect();
  const q = r(document.getElementById("q")), go = r(document.getElementById("search-go"));
  const scrolls = e => { for (let a = e.parentElement; a; a = a.parentElement) {
    const o = getComputedStyle(a).overflowX; if (o === "auto" || o === "scroll" || o === "hidden") return true; }
    return false; };
  const out = Array.from(document.querySelectorAll("body *")).filter(e => r(e).right > w + 0.5 && !scrolls(e))
    .slice(0, 5).map(e => e.tagName.toLowerCase() + (e.id ? "#" + e.id : "") + (e.className ? "." + e.className : "") +
      " right " + Math.round(r(e).right));
  return {inner: w, scroll: document.scrollingElement.scrollWidth, qLeft: q.left, qRight: q.right, qWidth: q.width,
    goLeft: go.left, goRight: go.right, out: out};
})()`

type fit struct {
	Inner, Scroll         float64
	QLeft, QRight, QWidth float64
	GoLeft, GoRight       float64
	Out                   []string
}

// checkFits fails the test if the page at path scrolls sideways or its search box is not whole and usable.
func checkFits(t *testing.T, ctx context.Context, path string) {
	t.Helper()
	f, err := chromedp.Run(ctx, chromedp.Evaluate[fit](fitJS))
	if err != nil {
		t.Fatalf("%s: measure: %v", path, err)
	}
	if f.Inner != narrowWidth {
		t.Fatalf("%s: window %v px wide, want %d: the test measures nothing", path, f.Inner, narrowWidth)
	}
	if f.Scroll > f.Inner {
		t.Errorf("%s: the page is %v px wide in a %v px window (sticking out: %v)", path, f.Scroll, f.Inner, f.Out)
	}
	if f.QLeft < 0 || f.GoRight > f.Inner || f.GoLeft < f.QRight || f.QWidth < 150 {
		t.Errorf("%s: search box %v..%v (%v px wide), button %v..%v in a %v px window; want both whole, the box 150+ px",
			path, f.QLeft, f.QRight, f.QWidth, f.GoLeft, f.GoRight, f.Inner)
	}
}

// saveShot writes a screenshot of the whole page to build/<name> at the repository's root.
func saveShot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	dir := filepath.Join("..", "..", "build")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name), png, 0o644); err != nil {
		t.Fatal(err)
	}
}
