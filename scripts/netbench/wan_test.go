package main

import (
	"strings"
	"testing"
	"time"
)

func TestScenarioList(t *testing.T) {
	o := wanOptions{nodes: 16, cut: 5, cutFor: 30 * time.Second, latency: 50 * time.Millisecond,
		jitter: 10 * time.Millisecond, lossPct: 0.5, rateMbit: 20}
	tests := []struct {
		in     string
		slot   time.Duration
		lossBP int
		cut    int
	}{
		{"default@1s", time.Second, 50, 0},
		{"loss2@2s", 2 * time.Second, 200, 0},
		{"partition", time.Second, 50, 5},
	}
	for _, tt := range tests {
		o.scenarios = tt.in
		scs, err := o.scenarioList()
		if err != nil || len(scs) != 1 {
			t.Fatalf("%s: got %v, %v; want one scenario", tt.in, scs, err)
		}
		sc := scs[0]
		if sc.slot != tt.slot || sc.link.lossBP != tt.lossBP || sc.cut != tt.cut || sc.link.latency != o.latency {
			t.Errorf("%s: got slot %s, loss %d bp, cut %d, latency %s; want %s, %d, %d, %s", tt.in, sc.slot,
				sc.link.lossBP, sc.cut, sc.link.latency, tt.slot, tt.lossBP, tt.cut, o.latency)
		}
	}
	for _, bad := range []string{"bogus@1s", "default@soon", "default@-1s"} {
		o.scenarios = bad
		if _, err := o.scenarioList(); err == nil {
			t.Errorf("%s: got no error", bad)
		}
	}
	o.scenarios, o.nodes = "partition@1s", 6
	if _, err := o.scenarioList(); err == nil {
		t.Errorf("partition of 5 of 6 nodes: got no error, want one (the majority would be node 1 alone)")
	}
}

func TestNodeRules(t *testing.T) {
	link := linkSpec{latency: 50 * time.Millisecond, jitter: 10 * time.Millisecond, lossBP: 50, rateMbit: 20}
	proxied := &topology{prefix: "t", nodes: 3, nat: 1, link: link}
	netem := &topology{prefix: "t", nodes: 3, nat: 1, link: link, netem: true}
	tests := []struct {
		name      string
		rules     string
		want, not []string
	}{
		{"proxied node", proxied.nodeRules(0),
			[]string{"numgen random mod 10000 < 50 drop", "redirect to :14001", "dnat to 10.77.0.10:4001", "set cut"}, nil},
		{"proxied NATed node", proxied.nodeRules(2),
			[]string{"numgen random mod 10000 < 50 drop", "set cut"}, []string{"redirect", "dnat"}},
		{"netem node", netem.nodeRules(1), []string{"set cut"}, []string{"numgen", "redirect", "dnat"}},
	}
	for _, tt := range tests {
		for _, w := range tt.want {
			if !strings.Contains(tt.rules, w) {
				t.Errorf("%s: rules lack %q:\n%s", tt.name, w, tt.rules)
			}
		}
		for _, n := range tt.not {
			if strings.Contains(tt.rules, n) {
				t.Errorf("%s: rules hold %q:\n%s", tt.name, n, tt.rules)
			}
		}
	}
}

func TestTopologyAddrsAndQueues(t *testing.T) {
	topo := &topology{prefix: "t", nodes: 4, nat: 1, link: linkSpec{latency: 50 * time.Millisecond,
		jitter: 10 * time.Millisecond, lossBP: 200, rateMbit: 20}}
	if got, want := topo.seenAs(3), "10.77.1.13"; got != want {
		t.Errorf("NATed node seen as %s, want its router's %s", got, want)
	}
	if got, want := topo.listenAddr(3), "192.168.100.2"; got != want {
		t.Errorf("NATed node listens on %s, want %s", got, want)
	}
	if got, want := topo.seenAs(2), "10.77.0.12"; got != want {
		t.Errorf("node 3 seen as %s, want %s", got, want)
	}
	if got := strings.Join(topo.qdisc("t-n1", "eth0", true), " "); !strings.HasSuffix(got, "tbf rate 20mbit burst 32kb latency 100ms") {
		t.Errorf("without netem: got %q, want a tbf at 20mbit", got)
	}
	topo.netem = true
	got := strings.Join(topo.qdisc("t-n1", "eth0", true), " ")
	if !strings.Contains(got, "netem delay 50ms 10ms distribution normal loss 2.00% rate 20mbit") {
		t.Errorf("with netem, own link: got %q", got)
	}
	if got := strings.Join(topo.qdisc("t-br", "n1", false), " "); !strings.Contains(got, " tbf rate 20mbit") {
		t.Errorf("with netem, towards the node: got %q, want a tbf", got)
	}
}

func TestViolations(t *testing.T) {
	tests := []struct {
		name string
		r    wanResult
		want int
	}{
		{"clean", wanResult{oneHead: true, committedOnce: 10}, 0},
		{"lost record", wanResult{oneHead: true, lost: 1}, 1},
		{"record twice", wanResult{oneHead: true, twice: 2}, 1},
		{"mempool left", wanResult{oneHead: true, mempoolLeft: 3}, 1},
		{"fork never resolved", wanResult{}, 1},
		{"everything", wanResult{lost: 1, twice: 1, mempoolLeft: 1}, 4},
	}
	for _, tt := range tests {
		if got := tt.r.violations(); len(got) != tt.want {
			t.Errorf("%s: got %d violations %q, want %d", tt.name, len(got), got, tt.want)
		}
	}
}

func TestCountRecords(t *testing.T) {
	recs := []record{{"a", 0}, {"b", 1}, {"c", 2}}
	var r wanResult
	r.countRecords(recs, map[string]int{"a": 1, "b": 2})
	if r.committedOnce != 1 || r.twice != 1 || r.lost != 1 {
		t.Errorf("got once %d, twice %d, lost %d; want 1, 1, 1", r.committedOnce, r.twice, r.lost)
	}
}
