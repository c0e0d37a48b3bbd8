package httpapi

import (
	"fmt"
	"html"
	"html/template"
	"strings"

	"github.com/posnode/posnode/node/view"
)

// The account page's plot of its BPM records (GET /api/accounts/{addr}/records, newest page), drawn on the server
// as the slot grid is: x is the record's height on the page's range, y its BPM; final records are filled dots,
// committed ones open dots, with the page's min, average and max.

// The plot's size in SVG pixels.
const (
	plotW, plotH = 520, 180
	plotLeft     = 40 // room for the BPM axis's labels
	plotTop      = 10
	plotBottom   = 24 // room for the height axis's labels
	plotRight    = 10
)

// recordStats are a page's min, average and max BPM.
type recordStats struct {
	Min, Max uint64
	Avg      float64
	Count    int
}

func statsOf(recs []view.Record) recordStats {
	if len(recs) == 0 {
		return recordStats{}
	}
	s := recordStats{Min: recs[0].BPM, Max: recs[0].BPM, Count: len(recs)}
	var sum uint64
	for _, r := range recs {
		s.Min, s.Max, sum = min(s.Min, r.BPM), max(s.Max, r.BPM), sum+r.BPM
	}
	s.Avg = float64(sum) / float64(len(recs))
	return s
}

// drawRecords draws the page's records as an SVG plot; "" for a page without records. Every text is escaped.
func drawRecords(p view.Records) template.HTML {
	if len(p.Records) == 0 {
		return ""
	}
	st := statsOf(p.Records)
	lo, hi := float64(st.Min)-5, float64(st.Max)+5
	x0, x1 := float64(p.From), float64(max(p.To, p.From+1))
	x := func(h uint64) float64 {
		return plotLeft + (float64(h)-x0)/(x1-x0)*(plotW-plotLeft-plotRight)
	}
	y := func(v float64) float64 { return plotTop + (hi-v)/(hi-lo)*(plotH-plotTop-plotBottom) }
	var b strings.Builder
	fmt.Fprintf(&b, `<svg id="records" class="chart" width="%d" height="%d" viewBox="0 0 %d %d" role="img" `+
		`aria-label="BPM records over height">`+"\n", plotW, plotH, plotW, plotH)
	for _, v := range []struct {
		name string
		bpm  float64
	}{{"min", float64(st.Min)}, {"avg", st.Avg}, {"max", float64(st.Max)}} {
		fmt.Fprintf(&b, `<line class="tick %s" x1="%d" x2="%d" y1="%.1f" y2="%.1f"/><text class="axis" x="2" y="%.1f">%s %.0f</text>`+"\n",
			v.name, plotLeft, plotW-plotRight, y(v.bpm), y(v.bpm), y(v.bpm)+4, v.name, v.bpm)
	}
	var pts []string
	for i := len(p.Records) - 1; i >= 0; i-- { // oldest first
		r := p.Records[i]
		pts = append(pts, fmt.Sprintf("%.1f,%.1f", x(r.Height), y(float64(r.BPM))))
	}
	b.WriteString(`<polyline class="records" points="` + strings.Join(pts, " ") + `"/>` + "\n")
	for _, r := range p.Records {
		fmt.Fprintf(&b, `<circle class="record %s" cx="%.1f" cy="%.1f" r="3"><title>%d bpm at height %d, %s</title></circle>`+"\n",
			html.EscapeString(r.Finality), x(r.Height), y(float64(r.BPM)), r.BPM, r.Height, html.EscapeString(r.Finality))
	}
	fmt.Fprintf(&b, `<text class="axis" x="%d" y="%d">height %d</text><text class="axis end" x="%d" y="%d">%d</text>`+"\n",
		plotLeft, plotH-6, p.From, plotW-plotRight, plotH-6, p.To)
	b.WriteString("</svg>")
	return template.HTML(b.String())
}
