package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/posnode/posnode/node/view"
)

// MaxBody is the largest request body the API reads, in bytes; a larger one is answered 413.
const MaxBody = 64 << 10

// MaxBatchBody is the largest body of POST /api/txbatch, in bytes: chain.MaxTxBatch transactions in hex
// (306 characters each, with quotes and commas 309) fit with room to spare.
const MaxBatchBody = 512 << 10

// Errors of request bodies.
var (
	// ErrBadBody: a body that is not exactly one JSON value of the expected shape.
	ErrBadBody = errors.New("bad json body")
	// ErrBodyTooLarge: a body over MaxBody bytes.
	ErrBodyTooLarge = errors.New("body too large")
)

// decodeBody reads exactly one JSON value with no unknown fields into v; it returns the status to answer with
// when it fails (400, or 413 over MaxBody).
func decodeBody(w http.ResponseWriter, r *http.Request, v any) (int, error) {
	return decodeBodyMax(w, r, v, MaxBody)
}

// decodeBodyMax is decodeBody with a limit of max bytes.
func decodeBodyMax(w http.ResponseWriter, r *http.Request, v any, max int64) (int, error) {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, max))
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	if err == nil {
		if _, next := dec.Token(); !errors.Is(next, io.EOF) {
			err = errors.New("more than one JSON value")
			if next != nil {
				err = next
			}
		}
	}
	var tooLarge *http.MaxBytesError
	switch {
	case err == nil:
		return 0, nil
	case errors.As(err, &tooLarge):
		return http.StatusRequestEntityTooLarge, fmt.Errorf("%w: at most %d bytes", ErrBodyTooLarge, max)
	default:
		return http.StatusBadRequest, fmt.Errorf("%w: %w", ErrBadBody, err)
	}
}

// statusOf maps the kind of a backend error to an HTTP status.
func statusOf(err error) int {
	switch {
	case errors.Is(err, view.ErrBadInput):
		return http.StatusBadRequest
	case errors.Is(err, view.ErrNotFound):
		return http.StatusNotFound
	case errors.Is(err, view.ErrAmbiguous):
		return http.StatusConflict
	case errors.Is(err, view.ErrBusy), errors.Is(err, view.ErrStopped), errors.Is(err, context.Canceled):
		return http.StatusServiceUnavailable
	case errors.Is(err, view.ErrInvalidTx):
		return http.StatusUnprocessableEntity
	default:
		return http.StatusInternalServerError
	}
}

// reply writes v as JSON, or the error with the status that fits it.
func reply(w http.ResponseWriter, v any, err error) {
	if err != nil {
		fail(w, statusOf(err), err)
		return
	}
	writeJSON(w, http.StatusOK, v)
}

// fail writes {"error": "..."} with the status code.
func fail(w http.ResponseWriter, code int, err error) {
	writeJSON(w, code, map[string]string{"error": err.Error()})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(v)
}

// notAllowed answers a known path asked with a method it does not take: 405 with Allow.
func notAllowed(methods []string) http.HandlerFunc {
	allow := strings.Join(methods, ", ")
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Allow", allow)
		fail(w, http.StatusMethodNotAllowed, fmt.Errorf("%s takes %s, not %s", r.URL.Path, allow, r.Method))
	}
}
