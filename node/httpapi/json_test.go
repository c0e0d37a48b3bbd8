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

// A member of the wrong type is described with its own domain, not the range of the Go type that holds it
// (issue 22, defect F: {"bpm":"abc"} said "a whole number from 0 to 18446744073709551615"), in every body the
// API takes.
func TestBodyMemberDomains(t *testing.T) {
	tests := []struct {
		name, body string
		v          any
		want       domains
		wantErr    string
	}{
		{"bpm a string", `{"bpm":"abc"}`, &struct {
			BPM *uint64 `json:"bpm"`
		}{}, bpmDomains, `bad json body: member "bpm": want a whole number from 1 to 300, got a string`},
		{"bpm negative", `{"bpm":-5}`, &struct {
			BPM *uint64 `json:"bpm"`
		}{}, bpmDomains, `bad json body: member "bpm": want a whole number from 1 to 300, got -5`},
		{"bpm a fraction", `{"bpm":72.5}`, &struct {
			BPM *uint64 `json:"bpm"`
		}{}, bpmDomains, `bad json body: member "bpm": want a whole number from 1 to 300, got 72.5`},
		{"bpm true", `{"bpm":true}`, &struct {
			BPM *uint64 `json:"bpm"`
		}{}, bpmDomains, `bad json body: member "bpm": want a whole number from 1 to 300, got true`},
		{"tx a number", `{"tx":5}`, &struct {
			Tx *string `json:"tx"`
		}{}, txDomains, `bad json body: member "tx": want a string of hex digits, a transaction's 153-byte encoding, got a number`},
		{"txs a string", `{"txs":"ab"}`, &struct {
			Txs []string `json:"txs"`
		}{}, txDomains, `bad json body: member "txs": want an array of 1 to ` + fmt.Sprint(chain.MaxTxBatch) +
			` strings of hex digits, each a transaction's 153-byte encoding, got a string`},
		{"txs element a number", `{"txs":["ab",7]}`, &struct {
			Txs []string `json:"txs"`
		}{}, txDomains, `bad json body: member "txs/1": want a string of hex digits, a transaction's 153-byte encoding, got a number`},
		{"no domain given", `{"n":"x"}`, &struct {
			N uint8 `json:"n"`
		}{}, nil, `bad json body: member "n": want a whole number from 0 to 255, got a string`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest("POST", "/", strings.NewReader(tt.body))
			code, err := decodeBody(httptest.NewRecorder(), req, tt.v, tt.want)
			if code != 400 || err == nil || err.Error() != tt.wantErr {
				t.Errorf("got %d %v, want 400 %s", code, err, tt.wantErr)
			}
		})
	}
}
