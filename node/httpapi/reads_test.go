package httpapi

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/posnode/posnode/chain"
	"github.com/posnode/posnode/node/view"
)

// readBackend answers the paged read routes as a node does and remembers what it was asked; Status waits for
// hold, when set, so that requests pile up.
type readBackend struct {
	Backend
	asked chan string
	hold  chan struct{}
}

func (b readBackend) BlocksPage(_ context.Context, from, to uint64, maxTxs int) ([]view.Block, uint64, error) {
	if b.hold != nil {
		<-b.hold
	}
	b.asked <- fmt.Sprintf("blocks %d..%d max %d", from, to, maxTxs)
	if from == 7 { // a page cut before to
		return []view.Block{{Height: 7}}, 8, nil
	}
	return []view.Block{{Height: from}}, 0, nil
}

func (b readBackend) Records(_ context.Context, a chain.Address, before uint64, limit int) (view.Records, error) {
	b.asked <- fmt.Sprintf("records before %d limit %d", before, limit)
	if limit > 500 {
		return view.Records{}, view.Classed(view.ErrBadInput, fmt.Errorf("limit %d: want 1 to 500", limit))
	}
	return view.Records{Address: a, Records: []view.Record{{BPM: 72, Height: 3}}, From: 1, To: 3}, nil
}

func (b readBackend) Status(context.Context) (view.Status, error) {
	if b.hold != nil {
		<-b.hold
	}
	return view.Status{Height: 3}, nil
}

// The paged read routes: what each request asks of the node, its status, and the Link to the next page.
func TestPagedReadRoutes(t *testing.T) {
	addr := chain.Address{1}.String()
	tests := []struct {
		name, path string
		code       int
		asked      string // "" when the request never reaches the node
		link       string
	}{
		{"a whole range", "/api/blocks?from=1&to=3", 200, "blocks 1..3 max 4096", ""},
		{"a range cut by records", "/api/blocks?from=7&to=9", 200, "blocks 7..9 max 4096",
			`</api/blocks?from=8&to=9>; rel="next"`},
		{"records, defaults", "/api/accounts/" + addr + "/records", 200, "records before 0 limit 100", ""},
		{"records, a page", "/api/accounts/" + addr + "/records?before=40&limit=5", 200, "records before 40 limit 5", ""},
		{"records, limit too big", "/api/accounts/" + addr + "/records?limit=501", 400, "records before 0 limit 501", ""},
		{"records, limit huge", "/api/accounts/" + addr + "/records?limit=99999999999", 400,
			"records before 0 limit 1048576", ""},
		{"records, limit not a number", "/api/accounts/" + addr + "/records?limit=ten", 400, "", ""},
		{"records, before negative", "/api/accounts/" + addr + "/records?before=-1", 400, "", ""},
		{"records, bad address", "/api/accounts/nobody/records", 400, "", ""},
		{"records, wrong method", "/api/accounts/" + addr + "/records?limit=1", 405, "", ""},
	}
	for _, tt := range tests {
		be := readBackend{asked: make(chan string, 1)}
		s := &Server{cfg: Config{Token: "t", Backend: be}}
		method := "GET"
		if tt.code == 405 {
			method = "POST"
		}
		rec := httptest.NewRecorder()
		s.Handler().ServeHTTP(rec, httptest.NewRequest(method, tt.path, nil))
		var asked string
		select {
		case asked = <-be.asked:
		default:
		}
		if rec.Code != tt.code || asked != tt.asked || rec.Header().Get("Link") != tt.link {
			t.Errorf("%s: got %d, asked %q, Link %q; want %d, %q, %q (%s)", tt.name, rec.Code, asked,
				rec.Header().Get("Link"), tt.code, tt.asked, tt.link, rec.Body)
		}
		if tt.code != 200 && !strings.Contains(rec.Body.String(), `"error"`) {
			t.Errorf("%s: body %s, want an error", tt.name, rec.Body)
		}
	}
}

// With one place and one waiting room, a third concurrent request is answered 503 with Retry-After at once,
// the second once its wait ends, and the first, which held the place, is served; /metrics is not counted.
func TestConcurrentRequestsAreBounded(t *testing.T) {
	be := readBackend{hold: make(chan struct{})}
	s := &Server{cfg: Config{Token: "t", Backend: be, MaxInFlight: 1, MaxQueued: 1, QueueWait: 100 * time.Millisecond,
		Metrics: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(204) })}}
	h := s.Handler()
	first := make(chan *httptest.ResponseRecorder)
	go func() {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", "/api/status", nil))
		first <- rec
	}()
	waitUntil(t, func() bool { return len(s.lim.places) == 1 })
	second := make(chan *httptest.ResponseRecorder)
	go func() {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", "/api/status", nil))
		second <- rec
	}()
	waitUntil(t, func() bool { return s.lim.queued.Load() == 1 })
	third := httptest.NewRecorder()
	h.ServeHTTP(third, httptest.NewRequest("GET", "/api/status", nil))
	metrics := httptest.NewRecorder()
	h.ServeHTTP(metrics, httptest.NewRequest("GET", "/metrics", nil))
	r2 := <-second
	close(be.hold)
	r1 := <-first
	var e struct{ Error string }
	for _, r := range []struct {
		name string
		rec  *httptest.ResponseRecorder
		code int
	}{{"first", r1, 200}, {"second", r2, 503}, {"third", third, 503}, {"metrics", metrics, 204}} {
		if r.rec.Code != r.code {
			t.Errorf("%s request: got %d %s, want %d", r.name, r.rec.Code, r.rec.Body, r.code)
		}
		if r.code == 503 && (r.rec.Header().Get("Retry-After") != "1" || json.Unmarshal(r.rec.Body.Bytes(), &e) != nil || e.Error == "") {
			t.Errorf("%s request: Retry-After %q, body %s; want 1 and a JSON error", r.name,
				r.rec.Header().Get("Retry-After"), r.rec.Body)
		}
	}
}

// With one heavy place, a second block range waits for it without taking a general place (which stays free for
// light requests such as /api/status); then both are served.
func TestHeavyReadsAreBounded(t *testing.T) {
	be := readBackend{hold: make(chan struct{}), asked: make(chan string, 2)}
	s := &Server{cfg: Config{Token: "t", Backend: be, MaxInFlight: 2, MaxHeavy: 1, QueueWait: 10 * time.Second}}
	h := s.Handler()
	done := make(chan int, 2)
	for range 2 {
		go func() {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest("GET", "/api/blocks?from=0&to=1", nil))
			done <- rec.Code
		}()
	}
	waitUntil(t, func() bool { return len(s.heavy.places) == 1 && s.heavy.queued.Load() == 1 })
	if n := len(s.lim.places); n != 1 {
		t.Fatalf("general places taken with one heavy read in and one waiting: %d, want 1", n)
	}
	if n := len(s.heavy.places); n != 1 {
		t.Fatalf("heavy places taken: %d, want 1", n)
	}
	close(be.hold)
	status := httptest.NewRecorder()
	h.ServeHTTP(status, httptest.NewRequest("GET", "/api/status", nil))
	if a, b := <-done, <-done; a != 200 || b != 200 || status.Code != 200 {
		t.Fatalf("block ranges answered %d and %d, status %d; want 200 each", a, b, status.Code)
	}
}

// waitUntil polls cond for up to 10 s.
func waitUntil(t *testing.T, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 10 s")
		}
	}
}
