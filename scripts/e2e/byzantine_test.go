package main

import "testing"

func TestParseCounts(t *testing.T) {
	out := "adversary ran 1m0s: sync liar answered 3 status …\n" +
		"adversary-counts status=3 ranges=2 flood=119000 single=5 old-parent=300 equivocate=0\n"
	m := parseCounts(out)
	want := map[string]int64{"status": 3, "ranges": 2, "flood": 119000, "single": 5, "old-parent": 300, "equivocate": 0}
	if len(m) != len(want) {
		t.Fatalf("parseCounts = %v, want %v", m, want)
	}
	for k, v := range want {
		if m[k] != v {
			t.Errorf("%s = %d, want %d", k, m[k], v)
		}
	}
	if m := parseCounts("adversary ran 1m0s\n"); m != nil {
		t.Errorf("no counts line: got %v, want nil", m)
	}
	if m := parseCounts("adversary-counts flood=x\n"); m != nil {
		t.Errorf("bad count: got %v, want nil", m)
	}
}
