package httpapi

import (
	"bytes"
	"context"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"time"

	"github.com/posnode/posnode/chain"
	"github.com/posnode/posnode/node/view"
)

// The explorer: one page served at /, drawn on the server (html/template, SVG), no scripts from elsewhere; a few
// lines of script follow GET /api/events and redraw the page's main part when the head moves.

//go:embed explorer/index.html
var explorerFiles embed.FS

// Explorer windows.
const (
	recentBlocks   = 20  // blocks listed
	fairnessWindow = 256 // blocks whose proposers are counted against the stakes
	svgWidth       = 400 // pixels of the share axis (0..1)
)

var explorerPage = template.Must(template.New("index.html").Funcs(template.FuncMap{
	"px":    func(f float64) string { return fmt.Sprintf("%.1f", f*svgWidth) },
	"pct":   func(f float64) string { return fmt.Sprintf("%.1f%%", 100*f) },
	"bpm":   bpmList,
	"rowY":  func(i int) int { return 10 + 28*i },
	"svgH":  func(n int) int { return 20 + 28*n },
	"short": func(h chain.Hash) string { return h.Short() },
	"subf":  func(a, b float64) float64 { return a - b },
	"add":   func(a, b int) int { return a + b },
}).ParseFS(explorerFiles, "explorer/index.html"))

// page is what the explorer shows.
type page struct {
	Status     view.Status
	Blocks     []view.Block // newest first
	Fairness   fairness
	Peers      []view.Peer
	Epoch      uint64
	Generated  time.Time
	SVGWidth   int
	Validators int
}

// getExplorer draws the page; ?part=main draws only its main part, which the page's script swaps in.
func (s *Server) getExplorer(w http.ResponseWriter, r *http.Request) {
	pg, err := s.gather(r.Context())
	if err != nil {
		fail(w, statusOf(err), err)
		return
	}
	name := "index.html"
	if r.URL.Query().Get("part") == "main" {
		name = "main"
	}
	var buf bytes.Buffer
	if err := explorerPage.ExecuteTemplate(&buf, name, pg); err != nil {
		fail(w, http.StatusInternalServerError, err)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Security-Policy", "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'")
	w.Write(buf.Bytes())
}

func (s *Server) gather(ctx context.Context) (page, error) {
	b := s.cfg.Backend
	st, err := b.Status(ctx)
	if err != nil {
		return page{}, err
	}
	from := max(st.Height+1, fairnessWindow) - fairnessWindow
	blocks, err1 := b.Blocks(ctx, from, st.Height)
	epoch, vals, err2 := b.Validators(ctx)
	if err := errors.Join(err1, err2); err != nil {
		return page{}, err
	}
	pg := page{Status: st, Fairness: measureFairness(vals, blocks), Peers: b.Peers(), Epoch: epoch,
		Generated: time.Now().UTC(), SVGWidth: svgWidth, Validators: len(vals)}
	for i := len(blocks) - 1; i >= 0 && len(pg.Blocks) < recentBlocks; i-- {
		pg.Blocks = append(pg.Blocks, blocks[i])
	}
	return pg, nil
}
