package httpapi

import (
	"bytes"
	"context"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/posnode/posnode/chain"
	"github.com/posnode/posnode/node/view"
)

// The explorer: pages drawn on the server (html/template, SVG) from files embedded in the binary, with no script,
// style or font from elsewhere. The front page's script follows GET /api/events and swaps in the page's main part
// (/?part=main) when the head moves; the block, transaction and account pages are static. Each page has a search
// box (GET /search).

//go:embed explorer
var explorerFiles embed.FS

// Explorer windows.
const (
	recentBlocks   = 20  // blocks listed on the front page
	fairnessWindow = 256 // slots whose leaders the stake panel counts against the stakes; blocks an account page searches
	gridEpochs     = 2   // epochs in the slot grid: the current one and the one before
)

// contentSecurity allows the page's own files only: no inline script or style, nothing from another origin.
const contentSecurity = "default-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

// The stake-against-wins chart, in SVG pixels: a column of labels, then the share axis (0..1).
const (
	chartLabelW = 90
	chartAxisW  = 400
	chartRowH   = 28
)

// funcs are the templates' helpers.
var funcs = template.FuncMap{
	"short":     func(h chain.Hash) string { return h.Short() },
	"px":        func(f float64) string { return fmt.Sprintf("%.1f", chartLabelW+f*chartAxisW) },
	"pw":        func(f float64) string { return fmt.Sprintf("%.1f", f*chartAxisW) },
	"ticks":     func() []float64 { return []float64{0, 0.25, 0.5, 0.75, 1} },
	"pct":       func(f float64) string { return fmt.Sprintf("%.1f%%", 100*f) },
	"bpm":       bpmList,
	"rowY":      func(i int) int { return 6 + chartRowH*i },
	"svgW":      func() int { return chartLabelW + chartAxisW + 20 },
	"svgH":      func(n int) int { return 24 + chartRowH*n },
	"subf":      func(a, b float64) float64 { return a - b },
	"add":       func(a, b int) int { return a + b },
	"add64":     func(a, b uint64) uint64 { return a + b },
	"sub64":     func(a, b uint64) uint64 { return a - b },
	"unixMilli": func(t time.Time) int64 { return t.UnixMilli() },
	"ago":       ago,
	"addr":      addrLink,
	"hashLink":  hashLink,
	"txLink":    txLink,
	"group":     view.GroupDigits,
	"tokens":    view.Tokens,
}

// ago is how long before now t was, as the page's script writes it too.
func ago(t, now time.Time) string {
	d := max(now.Sub(t), 0)
	switch {
	case d < 2*time.Minute:
		return fmt.Sprintf("%d s", int(d.Seconds()))
	case d < 2*time.Hour:
		return fmt.Sprintf("%d min", int(d.Minutes()))
	default:
		return fmt.Sprintf("%d h", int(d.Hours()))
	}
}

// pages holds one template set per page, each the base layout with the page's own templates.
var pages = map[string]*template.Template{}

func init() {
	for _, name := range []string{"index", "block", "tx", "account", "error"} {
		pages[name] = template.Must(template.New(name).Funcs(funcs).ParseFS(explorerFiles,
			"explorer/base.html", "explorer/parts.html", "explorer/"+name+".html"))
	}
}

// frame is what every page's layout shows: the network and the search box.
type frame struct {
	ChainID     string
	GenesisHash chain.Hash
	Query       string // the search box's text
	Live        bool   // the page follows /api/events
	Stall       string // "" unless finality lags by more than stallEpochs: what the banner says
	Wait        string // "" unless this validator waits for its doppelganger check: what the banner says
}

// stallEpochs is how many epochs the finalized checkpoint may lag the current epoch before the explorer says that
// finality has stalled (view.StallEpochs; the prompt says it too).
const stallEpochs = view.StallEpochs

// overview is the front page.
type overview struct {
	frame
	Status     view.Status
	HeadTime   time.Time     // when the head's slot began
	Finality   view.Finality // the head's justified and finalized checkpoints (PROTOCOL.md §8a)
	Grid       grid
	Fairness   fairness
	Blocks     []view.Block // newest first
	Mempool    view.Mempool
	Evidence   []view.Evidence // pending, then included (PROTOCOL.md §8b)
	Peers      []view.Peer
	Epoch      uint64
	Window     int // blocks in the fairness window
	Generated  time.Time
	Validators int
}

// getExplorer draws the front page; ?part=main draws only its main part, which the page's script swaps in.
func (s *Server) getExplorer(w http.ResponseWriter, r *http.Request) {
	pg, err := s.gather(r.Context())
	if err != nil {
		s.failPage(w, r, err)
		return
	}
	name := "base"
	if r.URL.Query().Get("part") == "main" {
		name = "main"
	}
	s.render(w, http.StatusOK, "index", name, pg)
}

// gather asks the backend for everything the front page shows.
func (s *Server) gather(ctx context.Context) (overview, error) {
	b := s.cfg.Backend
	st, err := b.Status(ctx)
	if err != nil {
		return overview{}, err
	}
	blocks, err1 := s.window.get(ctx, b, st, fairnessWindow)
	epoch, vals, err2 := b.Validators(ctx)
	slots, err3 := s.gridSlots(ctx, st)
	if errors.Is(err3, view.ErrBadInput) { // an epoch longer than one answer holds: no grid
		slots, err3 = nil, nil
	}
	pool, err4 := b.Mempool(ctx)
	fin, err5 := b.Finality(ctx)
	evs, err6 := b.Evidence(ctx)
	drawn, tables, err7 := fairnessSlots(ctx, b, st)
	if err := errors.Join(err1, err2, err3, err4, err5, err6, err7); err != nil {
		return overview{}, err
	}
	pg := overview{frame: frameOf(st, true), Status: st, Finality: fin, Grid: drawGrid(slots, vals, st.Slot),
		Fairness: measureFairness(tables, drawn), Mempool: pool, Evidence: evs, Peers: b.Peers(), Epoch: epoch,
		Window: len(blocks), Generated: time.Now().UTC(), Validators: len(vals)}
	pg.HeadTime = slotTime(slots, st.HeadSlot)
	for i := len(blocks) - 1; i >= 0 && len(pg.Blocks) < recentBlocks; i-- {
		pg.Blocks = append(pg.Blocks, blocks[i])
	}
	return pg, nil
}

// slotTime returns when slot s begins, from two slots of the grid (slots are of equal length, PROTOCOL.md §2).
func slotTime(grid []view.Slot, s uint64) time.Time {
	if len(grid) < 2 {
		return time.Time{}
	}
	d := grid[1].Start.Sub(grid[0].Start)
	return grid[0].Start.Add(time.Duration(int64(s)-int64(grid[0].Slot)) * d)
}

func frameOf(st view.Status, live bool) frame {
	return frame{ChainID: st.ChainID, GenesisHash: st.GenesisHash, Live: live, Stall: stallOf(st), Wait: waitOf(st)}
}

// stallOf is the finality-stall banner's text for st, or "" while finality keeps up.
func stallOf(st view.Status) string {
	fin := uint64(st.Finalized.Epoch)
	if st.Epoch <= fin+stallEpochs {
		return ""
	}
	return fmt.Sprintf("Finality has stalled: the newest finalized checkpoint is of epoch %s, %s epochs behind the "+
		"current epoch %s. Blocks since are committed, not final: a reorg can still undo them. Finality needs "+
		"validators with two thirds of the stake to vote (PROTOCOL.md §8a).", view.GroupDigits(fin), view.GroupDigits(st.Epoch-fin),
		view.GroupDigits(st.Epoch))
}

// waitOf is the doppelganger-wait banner's text for st, or "" unless the node is a validator that waits: after a
// down and an up every validator waits so, and the slots until then are missed with nothing else to say why.
func waitOf(st view.Status) string {
	if st.DoppelgangerWaitUntil == 0 || st.DoppelgangerWaitUntil <= st.Slot {
		return ""
	}
	return fmt.Sprintf("This validator is waiting for the doppelganger check until slot %s (%s slots from now): after "+
		"a start it watches for another process signing with its key before it signs a block or a vote "+
		"(PROTOCOL.md §10). Validators started at the same time wait alike, so their slots are missed until then.",
		view.GroupDigits(st.DoppelgangerWaitUntil), view.GroupDigits(st.DoppelgangerWaitUntil-st.Slot))
}

// render executes a page's template into a buffer first, so that a failing template sends a clean 500.
func (s *Server) render(w http.ResponseWriter, code int, page, name string, data any) {
	buf := pagePool.Get().(*bytes.Buffer)
	defer pagePool.Put(buf)
	buf.Reset()
	if err := pages[page].ExecuteTemplate(buf, name, data); err != nil {
		s.log.Error("explorer template failed", zap.String("page", page), zap.Error(err))
		http.Error(w, "explorer template failed: "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Security-Policy", contentSecurity)
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	w.Write(buf.Bytes())
}

// pagePool keeps the buffers pages are drawn into: an open front page is drawn again on every head.
var pagePool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// errorPage is a page that says what went wrong.
type errorPage struct {
	frame
	Code    int
	Message string
}

// failPage answers with an explorer page that shows err, with the status that fits it.
func (s *Server) failPage(w http.ResponseWriter, r *http.Request, err error) {
	code := statusOf(err)
	pg := errorPage{Code: code, Message: err.Error()}
	if st, serr := s.cfg.Backend.Status(r.Context()); serr == nil {
		pg.frame = frameOf(st, false)
	}
	pg.Query = r.URL.Query().Get("q")
	s.render(w, code, "error", "base", pg)
}

// staticFiles serves the explorer's style sheet, script and icon from the binary.
func staticFiles() http.Handler {
	sub, err := fs.Sub(explorerFiles, "explorer/static")
	if err != nil {
		panic(err) // the embedded tree is fixed at build time
	}
	files := http.StripPrefix("/static/", http.FileServerFS(sub))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=300")
		w.Header().Set("Content-Security-Policy", contentSecurity)
		files.ServeHTTP(w, r)
	})
}
