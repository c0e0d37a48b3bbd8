package httpapi_test

import (
	"bufio"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/posnode/posnode/node/httpapi"
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
	for _, want := range []string{"<title>posnode posnode-api-test</title>", `id="height"`, n.Address().String(),
		`<svg id="fairness"`, `class="validator-row"`, "EventSource(\"/api/events\")", "no peers"} {
		if !strings.Contains(body, want) {
			t.Errorf("explorer page lacks %q", want)
		}
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
