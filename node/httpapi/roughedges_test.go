package httpapi

import (
	"context"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/posnode/posnode/chain"
	"github.com/posnode/posnode/node/view"
)

// bpmBackend records the heart rates it is asked to sign.
type bpmBackend struct {
	Backend
	mu  sync.Mutex
	bpm []uint64
}

func (b *bpmBackend) Status(context.Context) (view.Status, error) { return view.Status{Height: 1}, nil }

func (b *bpmBackend) SubmitOwn(_ context.Context, _ chain.TxKind, _ chain.Address, v uint64) (chain.Hash, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.bpm = append(b.bpm, v)
	return chain.Hash{1}, nil
}

// The rough edges of the API, each with the input that showed it: error bodies say "<token>" and name no Go
// type, a lower-case bearer scheme is taken, a member given twice is refused, and a path that is no page answers
// a page (JSON stays under /api/).
func TestAPIRoughEdges(t *testing.T) {
	be := &bpmBackend{}
	s := &Server{cfg: Config{Addr: "127.0.0.1:0", Token: "secret", Backend: be}}
	tests := []struct {
		name, method, path, auth, body string
		code                           int
		contentType                    string
		wants                          []string
	}{
		{"no token", "POST", "/api/bpm", "", `{"bpm": 72}`, 401, "application/json",
			[]string{`"Authorization: Bearer <token>\"`}},
		{"lower-case scheme", "POST", "/api/bpm", "bearer secret", `{"bpm": 72}`, 200, "application/json", nil},
		{"upper-case scheme", "POST", "/api/bpm", "BEARER  secret", `{"bpm": 73}`, 200, "application/json", nil},
		{"wrong token", "POST", "/api/bpm", "bearer guess", `{"bpm": 74}`, 401, "application/json", nil},
		{"array body", "POST", "/api/bpm", "Bearer secret", `[72]`, 400, "application/json",
			[]string{"bad json body: the body: want an object, got an array"}},
		{"array member", "POST", "/api/bpm", "Bearer secret", `{"bpm": [72]}`, 400, "application/json",
			[]string{`bad json body: member \"bpm\": want a whole number from 1 to 300, got an array`}},
		{"negative member", "POST", "/api/bpm", "Bearer secret", `{"bpm": -5}`, 400, "application/json",
			[]string{`member \"bpm\": want a whole number from 1 to 300, got -5`}},
		{"string member", "POST", "/api/bpm", "Bearer secret", `{"bpm": "72"}`, 400, "application/json",
			[]string{`got a string`}},
		{"member twice", "POST", "/api/bpm", "Bearer secret", `{"bpm":72,"bpm":74}`, 400, "application/json",
			[]string{`bad json body: member \"bpm\" is given more than once`}},
		{"unknown member", "POST", "/api/bpm", "Bearer secret", `{"beats": 70}`, 400, "application/json",
			[]string{`bad json body: unknown member \"beats\"`}},
		{"member in another case", "POST", "/api/bpm", "Bearer secret", `{"BPM": 70}`, 400, "application/json",
			[]string{`unknown member \"BPM\"`}},
		{"cut short", "POST", "/api/bpm", "Bearer secret", `{"bpm": 7`, 400, "application/json",
			[]string{"bad json body: the JSON value ends early"}},
		{"no page", "GET", "/nope", "", "", 404, "text/html", []string{"<h2>Not found</h2>", "no page /nope"}},
		{"no route under /api/", "GET", "/api/nope", "", "", 404, "application/json", []string{`"error": "no route GET /api/nope"`}},
	}
	for _, tt := range tests {
		req := httptest.NewRequest(tt.method, tt.path, strings.NewReader(tt.body))
		req.Host = "127.0.0.1:8080"
		if tt.auth != "" {
			req.Header.Set("Authorization", tt.auth)
		}
		rec := httptest.NewRecorder()
		s.Handler().ServeHTTP(rec, req)
		body := rec.Body.String()
		if rec.Code != tt.code || !strings.HasPrefix(rec.Header().Get("Content-Type"), tt.contentType) {
			t.Errorf("%s: %d %s, want %d %s:\n%s", tt.name, rec.Code, rec.Header().Get("Content-Type"), tt.code,
				tt.contentType, body)
		}
		for _, w := range tt.wants {
			if !strings.Contains(body, w) {
				t.Errorf("%s: the answer lacks %s:\n%s", tt.name, w, body)
			}
		}
		for _, never := range []string{`\u003c`, "Go value", "struct {", "*uint64", "json: "} {
			if strings.Contains(body, never) {
				t.Errorf("%s: the answer holds %q:\n%s", tt.name, never, body)
			}
		}
	}
	be.mu.Lock()
	defer be.mu.Unlock()
	if got := be.bpm; len(got) != 2 || got[0] != 72 || got[1] != 73 {
		t.Errorf("signed %v, want [72 73]: only the requests with the token and one bpm", got)
	}
}
