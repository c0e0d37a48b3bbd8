package promtext

import (
	"errors"
	"strings"
	"testing"
)

const sample = `# HELP posnode_height Height of the head.
# TYPE posnode_height gauge
posnode_height 42
# TYPE posnode_reorgs_total counter
posnode_reorgs_total 3
# TYPE posnode_gossip_total counter
posnode_gossip_total{topic="txs",verdict="accept"} 7
`

func TestValue(t *testing.T) {
	for _, tc := range []struct {
		name string
		want float64
	}{{"posnode_height", 42}, {"posnode_reorgs_total", 3}, {`posnode_gossip_total{topic="txs",verdict="accept"}`, 7},
		{`posnode_gossip_total{verdict="accept", topic="txs"}`, 7}} {
		if got, err := Value(strings.NewReader(sample), tc.name); err != nil || got != tc.want {
			t.Errorf("%s: got %v, %v; want %v", tc.name, got, err, tc.want)
		}
	}
	for _, name := range []string{"posnode_gossip_total", "posnode_missing", `posnode_gossip_total{topic="txs"}`,
		`posnode_height{topic="txs"}`} {
		if _, err := Value(strings.NewReader(sample), name); !errors.Is(err, ErrNoSeries) {
			t.Errorf("%s: got %v, want ErrNoSeries", name, err)
		}
	}
	if _, err := Value(strings.NewReader(sample), `posnode_gossip_total{topic=txs}`); err == nil || errors.Is(err, ErrNoSeries) {
		t.Errorf("unquoted label: got %v, want a malformed-series error", err)
	}
	if _, err := Value(strings.NewReader("not { metrics"), "x"); err == nil || errors.Is(err, ErrNoSeries) {
		t.Errorf("garbage: got %v, want a parse error", err)
	}
}
