package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"reflect"
	"strconv"
	"strings"

	jsonv2 "github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"

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

// domains says, for a body's members, what values each takes in a client's words ("a whole number from 1 to
// 300"), keyed by JSON pointer ("/bpm"); "*" stands for any array index ("/txs/*"). A member of the wrong type
// is described with its domain, never with the range of the Go type that holds it.
type domains map[string]string

// decodeBody reads exactly one JSON value with no unknown and no repeated member into v; it returns the status
// to answer with when it fails (400, or 413 over MaxBody). want gives the members' domains for the error.
func decodeBody(w http.ResponseWriter, r *http.Request, v any, want domains) (int, error) {
	return decodeBodyMax(w, r, v, MaxBody, want)
}

// decodeBodyMax is decodeBody with a limit of max bytes. Member names match exactly (RFC 8259 names are
// case-sensitive), a member given twice is refused rather than the last one kept, and the error says in words
// which member was wrong, what it takes (want, else its JSON type) and what it was.
func decodeBodyMax(w http.ResponseWriter, r *http.Request, v any, max int64, want domains) (int, error) {
	data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, max))
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(err, &tooLarge):
		return http.StatusRequestEntityTooLarge, fmt.Errorf("%w: at most %d bytes", ErrBodyTooLarge, max)
	case err != nil:
		return http.StatusBadRequest, fmt.Errorf("%w: reading it: %w", ErrBadBody, err)
	}
	if err := jsonv2.Unmarshal(data, v, jsonv2.RejectUnknownMembers(true)); err != nil {
		return http.StatusBadRequest, fmt.Errorf("%w: %s", ErrBadBody, describe(err, want))
	}
	return 0, nil
}

// describe says what is wrong with a body in a client's words: which member, what it should be (from want,
// else its JSON type) and what it was; never a Go type.
func describe(err error, want domains) string {
	var syn *jsontext.SyntacticError
	var sem *jsonv2.SemanticError
	switch {
	case errors.As(err, &syn) && errors.Is(syn.Err, jsontext.ErrDuplicateName):
		return fmt.Sprintf("member %q is given more than once", syn.JSONPointer.LastToken())
	case errors.As(err, &syn) && errors.Is(syn.Err, io.ErrUnexpectedEOF):
		return "the JSON value ends early"
	case errors.As(err, &syn):
		return fmt.Sprintf("not one JSON value: %v (at byte %d)", syn.Err, syn.ByteOffset)
	case errors.As(err, &sem) && errors.Is(sem.Err, jsonv2.ErrUnknownName):
		return fmt.Sprintf("unknown member %q", sem.JSONPointer.LastToken())
	case errors.As(err, &sem) && sem.GoType != nil:
		got := kindWords[sem.JSONKind]
		if sem.JSONKind == '0' && len(sem.JSONValue) > 0 {
			got = string(sem.JSONValue)
		}
		where := "the body"
		if sem.JSONPointer != "" {
			where = fmt.Sprintf("member %q", strings.TrimPrefix(string(sem.JSONPointer), "/"))
		}
		return fmt.Sprintf("%s: want %s, got %s", where, want.of(sem.JSONPointer, sem.GoType), got)
	}
	return err.Error()
}

// of is the domain of the member at p: want's words for it, else what its Go type t takes as JSON.
func (want domains) of(p jsontext.Pointer, t reflect.Type) string {
	var key strings.Builder
	for tok := range p.Tokens() {
		if _, err := strconv.ParseUint(tok, 10, 64); err == nil {
			tok = "*"
		}
		key.WriteString("/" + tok)
	}
	if d, ok := want[key.String()]; ok {
		return d
	}
	return typeWords(t)
}

// kindWords names the kinds of JSON values.
var kindWords = map[jsontext.Kind]string{'n': "null", 'f': "false", 't': "true", '"': "a string", '0': "a number",
	'{': "an object", '[': "an array"}

// typeWords says what JSON value a Go type takes.
func typeWords(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Struct, reflect.Map:
		return "an object"
	case reflect.Slice, reflect.Array:
		return "an array"
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return fmt.Sprintf("a whole number from 0 to %d", uint64(math.MaxUint64)>>(64-t.Bits()))
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return "a whole number"
	case reflect.Float32, reflect.Float64:
		return "a number"
	}
	return "another kind of value"
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

// writeJSON writes v as indented JSON. Text goes out as it is ("<token>", not "\u003ctoken\u003e"): the answer
// is never HTML, and nosniff tells browsers so.
func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
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
