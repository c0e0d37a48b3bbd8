// Package promtext reads series from a node's /metrics answer (the Prometheus text format) for the project's
// test and benchmark programs, with the Prometheus library's own parser.
package promtext

import (
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// ErrNoSeries: the answer holds no gauge or counter of that name and labels.
var ErrNoSeries = errors.New("no such series")

// Value returns the value of one gauge or counter in the text-format exposition r. series is a name, for the
// series without labels, or a name with all of its labels as /metrics prints them:
// `posnode_gossip_validation_total{topic="txs",verdict="reject"}` (label values without commas or quotes).
func Value(r io.Reader, series string) (float64, error) {
	name, labels, err := splitSeries(series)
	if err != nil {
		return 0, err
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	families, err := p.TextToMetricFamilies(r)
	if err != nil {
		return 0, fmt.Errorf("parse /metrics: %w", err)
	}
	if f, ok := families[name]; ok {
		for _, m := range f.GetMetric() {
			if !sameLabels(m.GetLabel(), labels) {
				continue
			}
			switch {
			case m.Gauge != nil:
				return m.GetGauge().GetValue(), nil
			case m.Counter != nil:
				return m.GetCounter().GetValue(), nil
			}
		}
	}
	return 0, fmt.Errorf("%w: %s in /metrics", ErrNoSeries, series)
}

// splitSeries splits `name{k="v",…}` into the name and its labels.
func splitSeries(series string) (string, map[string]string, error) {
	name, rest, ok := strings.Cut(series, "{")
	labels := map[string]string{}
	if !ok {
		return name, labels, nil
	}
	body, ok := strings.CutSuffix(rest, "}")
	if !ok {
		return "", nil, fmt.Errorf("series %q: no closing brace", series)
	}
	for _, pair := range strings.Split(body, ",") {
		k, v, ok := strings.Cut(pair, "=")
		unquoted, err := strconv.Unquote(strings.TrimSpace(v))
		if !ok || err != nil {
			return "", nil, fmt.Errorf("series %q: label %q is not k=\"v\"", series, pair)
		}
		labels[strings.TrimSpace(k)] = unquoted
	}
	return name, labels, nil
}

// sameLabels reports whether got holds exactly the labels of want.
func sameLabels(got []*dto.LabelPair, want map[string]string) bool {
	if len(got) != len(want) {
		return false
	}
	for _, l := range got {
		if v, ok := want[l.GetName()]; !ok || v != l.GetValue() {
			return false
		}
	}
	return true
}
