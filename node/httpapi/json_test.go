package httpapi

import (
	"context"
	"errors"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/posnode/posnode/chain"
	"github.com/posnode/posnode/node/view"
)

// stubBackend answers FindTx and SubmitOwn with fixed errors; any other call panics (nil interface).
type stubBackend struct {
	Backend
	findErr, submitErr error
}

func (s stubBackend) FindTx(context.Context, string) (view.TxStatus, error) {
	return view.TxStatus{}, s.findErr
}

func (s stubBackend) SubmitOwn(context.Context, chain.TxKind, chain.Address, uint64) (chain.Hash, error) {
	return chain.Hash{}, s.submitErr
}

// Each kind of backend error gets its status; the message is the backend's own.
func TestErrorStatuses(t *testing.T) {
	tests := []struct {
		name         string
		find, submit error
		method, path string
		code         int
	}{
		{"ambiguous prefix", fmt.Errorf("%w: 2 transactions start with 83d4cf7f", view.ErrAmbiguous), nil, "GET", "/api/txs/83d4cf7f", 409},
		{"bad prefix", view.Classed(view.ErrBadInput, errors.New("want 8 to 64 hex digits")), nil, "GET", "/api/txs/x", 400},
		{"mempool full", nil, view.Classed(view.ErrBusy, errors.New("mempool full")), "POST", "/api/bpm", 503},
		{"stopped", nil, view.ErrStopped, "POST", "/api/bpm", 503},
		{"invalid", nil, view.Classed(view.ErrInvalidTx, errors.New("insufficient balance")), "POST", "/api/bpm", 422},
		{"storage", nil, errors.New("disk on fire"), "POST", "/api/bpm", 500},
	}
	for _, tt := range tests {
		s := &Server{cfg: Config{Addr: "127.0.0.1:0", Token: "t", Backend: stubBackend{findErr: tt.find, submitErr: tt.submit}}}
		req := httptest.NewRequest(tt.method, tt.path, nil)
		if tt.method == "POST" {
			req = httptest.NewRequest(tt.method, tt.path, strings.NewReader(`{"bpm": 70}`))
			req.Header.Set("Authorization", "Bearer t")
			req.Host = "127.0.0.1:8080"
		}
		rec := httptest.NewRecorder()
		s.Handler().ServeHTTP(rec, req)
		if rec.Code != tt.code {
			t.Errorf("%s: got %d %s, want %d", tt.name, rec.Code, rec.Body, tt.code)
		}
	}
}
