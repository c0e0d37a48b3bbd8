package node

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/posnode/posnode/chain"
)

const maxBodyBytes = 64 << 10

// startHTTP serves the JSON API and /metrics on cfg.HTTP; the returned func shuts the server down and may be
// called more than once.
func (n *Node) startHTTP(ctx context.Context, wg *sync.WaitGroup) (func(), error) {
	if n.cfg.HTTP == "" {
		return func() {}, nil
	}
	ln, err := net.Listen("tcp", n.cfg.HTTP)
	if err != nil {
		return nil, fmt.Errorf("http listen: %w", err)
	}
	n.httpAddr = ln.Addr().String()
	srv := &http.Server{Handler: n.routes(), ReadHeaderTimeout: 5 * time.Second,
		BaseContext: func(net.Listener) context.Context { return ctx }}
	wg.Go(func() {
		if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			n.log.Error("http server stopped", zap.Error(err))
		}
	})
	n.log.Info("http api listening", zap.String("addr", n.httpAddr))
	var once sync.Once
	return func() {
		once.Do(func() {
			sctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
			defer cancel()
			srv.Shutdown(sctx)
		})
	}, nil
}

func (n *Node) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/status", func(w http.ResponseWriter, r *http.Request) {
		st, err := n.Status(r.Context())
		reply(w, st, err)
	})
	mux.HandleFunc("GET /api/blocks/{height}", n.apiBlock)
	mux.HandleFunc("GET /api/blocks", n.apiBlocks)
	mux.HandleFunc("GET /api/validators", func(w http.ResponseWriter, r *http.Request) {
		epoch, vals, err := n.Validators(r.Context())
		reply(w, map[string]any{"epoch": epoch, "validators": vals}, err)
	})
	mux.HandleFunc("GET /api/accounts/{addr}", func(w http.ResponseWriter, r *http.Request) {
		addr, err := chain.ParseAddress(r.PathValue("addr"))
		if err != nil {
			fail(w, http.StatusBadRequest, err)
			return
		}
		acct, err := n.Account(r.Context(), addr)
		reply(w, acct, err)
	})
	mux.HandleFunc("GET /api/peers", func(w http.ResponseWriter, r *http.Request) { reply(w, n.Peers(), nil) })
	mux.HandleFunc("POST /api/bpm", n.apiBPM)
	mux.HandleFunc("POST /api/txs", n.apiTx)
	mux.HandleFunc("GET /api/txs/{id}", func(w http.ResponseWriter, r *http.Request) {
		id, err := chain.ParseHash(r.PathValue("id"))
		if err != nil {
			fail(w, http.StatusBadRequest, err)
			return
		}
		st, err := n.Tx(r.Context(), id)
		reply(w, st, err)
	})
	mux.Handle("GET /metrics", n.metrics.handler())
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		fail(w, http.StatusNotFound, fmt.Errorf("no route %s %s", r.Method, r.URL.Path))
	})
	return mux
}

func (n *Node) apiBlock(w http.ResponseWriter, r *http.Request) {
	h, err := strconv.ParseUint(r.PathValue("height"), 10, 64)
	if err != nil {
		fail(w, http.StatusBadRequest, fmt.Errorf("height must be a number: %q", r.PathValue("height")))
		return
	}
	b, err := n.Block(r.Context(), h)
	reply(w, b, err)
}

func (n *Node) apiBlocks(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	from, err1 := strconv.ParseUint(q.Get("from"), 10, 64)
	to, err2 := strconv.ParseUint(q.Get("to"), 10, 64)
	if err1 != nil || err2 != nil {
		fail(w, http.StatusBadRequest, errors.New("from and to must be heights, e.g. ?from=1&to=10"))
		return
	}
	bs, err := n.Blocks(r.Context(), from, to)
	if err != nil && !errors.Is(err, ErrStopped) {
		fail(w, http.StatusBadRequest, err)
		return
	}
	if bs == nil {
		bs = []BlockView{}
	}
	reply(w, bs, err)
}

func (n *Node) apiBPM(w http.ResponseWriter, r *http.Request) {
	var body struct {
		BPM *uint64 `json:"bpm"`
	}
	if err := decodeBody(r, &body); err != nil || body.BPM == nil {
		fail(w, http.StatusBadRequest, errors.New(`want {"bpm": <1..300>}`))
		return
	}
	id, err := n.SubmitOwn(r.Context(), chain.TxBPM, chain.Address{}, *body.BPM)
	reply(w, map[string]chain.Hash{"id": id}, err)
}

// apiTx takes a transaction signed elsewhere: {"tx": "<hex of its 153-byte encoding>"} (PROTOCOL.md §3).
func (n *Node) apiTx(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Tx string `json:"tx"`
	}
	if err := decodeBody(r, &body); err != nil {
		fail(w, http.StatusBadRequest, err)
		return
	}
	raw, err := hex.DecodeString(body.Tx)
	if err != nil {
		fail(w, http.StatusBadRequest, errors.New(`want {"tx": "<hex encoding>"}`))
		return
	}
	tx, err := chain.DecodeTx(raw)
	if err != nil {
		fail(w, http.StatusBadRequest, err)
		return
	}
	id, err := n.Submit(r.Context(), tx)
	reply(w, map[string]chain.Hash{"id": id}, err)
}

func decodeBody(r *http.Request, v any) error {
	dec := json.NewDecoder(http.MaxBytesReader(nil, r.Body, maxBodyBytes))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("bad json body: %w", err)
	}
	return nil
}

// reply writes v as JSON, or the error with a status that fits it.
func reply(w http.ResponseWriter, v any, err error) {
	switch {
	case err == nil:
		writeJSON(w, http.StatusOK, v)
	case errors.Is(err, ErrPoolFull):
		fail(w, http.StatusServiceUnavailable, err)
	case errors.Is(err, ErrNotFound):
		fail(w, http.StatusNotFound, err)
	case errors.Is(err, ErrInvalidTx):
		fail(w, http.StatusUnprocessableEntity, err)
	case errors.Is(err, ErrStopped), errors.Is(err, context.Canceled):
		fail(w, http.StatusServiceUnavailable, err)
	case errors.Is(err, ErrStorage), errors.Is(err, chain.ErrStoreFailed):
		fail(w, http.StatusServiceUnavailable, fmt.Errorf("the node cannot write to its disk now, try again later: %w", err))
	default:
		fail(w, http.StatusInternalServerError, err)
	}
}

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
