// Package httpapi is the node's HTTP surface: the JSON API under /api/, the explorer pages (/, /block/, /tx/,
// /account/, /search) and the Prometheus metrics. It talks to
// the node through Backend, which *node.Node implements. Routes that change state (sign or submit a
// transaction) need the node's bearer token and a request that is neither cross-site nor DNS-rebound, except
// POST /api/txs, which takes a transaction its sender signed from anyone, within a per-client rate limit; the
// read-only routes are open.
package httpapi

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/posnode/posnode/chain"
	"github.com/posnode/posnode/node/view"
)

// Backend is what the API asks of the node.
type Backend interface {
	Status(ctx context.Context) (view.Status, error)
	// Blocks returns the canonical blocks from..to, inclusive; 0 is the genesis.
	Blocks(ctx context.Context, from, to uint64) ([]view.Block, error)
	Block(ctx context.Context, height uint64) (view.Block, error)
	Account(ctx context.Context, addr chain.Address) (view.Account, error)
	Validators(ctx context.Context) (epoch uint64, vals []view.Validator, err error)
	// BlocksPage is Blocks that stops before the block that would take the answer past maxTxs transactions,
	// though it holds the first block; next is the height to ask for next when it stopped so, else 0.
	BlocksPage(ctx context.Context, from, to uint64, maxTxs int) (bs []view.Block, next uint64, err error)
	// Records returns an account's BPM records, newest first, from the blocks below height before (0: the head
	// and below), at most limit of them, looking at a bounded number of blocks (see view.Records).
	Records(ctx context.Context, addr chain.Address, before uint64, limit int) (view.Records, error)
	// StakeTables returns the stake tables in force for the epochs of slots, one per epoch, oldest first.
	StakeTables(ctx context.Context, slots []uint64) ([]view.EpochTable, error)
	// FindBlock returns a stored block, canonical or not (canonical says which), by its hash or a unique prefix
	// of it of at least 8 hex digits; the genesis hash gives block 0.
	FindBlock(ctx context.Context, prefix string) (b view.Block, canonical bool, err error)
	// Slots describes the slots of epochs from..to: proposed, orphaned, missed or upcoming, and by whom.
	Slots(ctx context.Context, from, to uint64) ([]view.Slot, error)
	// Mempool reports the mempool's size and the transaction that has waited longest in it.
	Mempool(ctx context.Context) (view.Mempool, error)
	// FindTx finds a transaction by its ID or a unique prefix of it.
	FindTx(ctx context.Context, prefix string) (view.TxStatus, error)
	Peers() []view.Peer
	// Finality reports the head's justified and finalized checkpoints (PROTOCOL.md §8a).
	Finality(ctx context.Context) (view.Finality, error)
	// Evidence lists pending and included evidence (PROTOCOL.md §8b).
	Evidence(ctx context.Context) ([]view.Evidence, error)
	// Submit admits a transaction signed elsewhere.
	Submit(ctx context.Context, tx chain.Tx) (chain.Hash, error)
	// SubmitBatch admits up to chain.MaxTxBatch transactions signed elsewhere, with an error per transaction.
	SubmitBatch(ctx context.Context, txs []chain.Tx) ([]error, error)
	// SubmitOwn signs a transaction of the node's account and submits it.
	SubmitOwn(ctx context.Context, kind chain.TxKind, to chain.Address, value uint64) (chain.Hash, error)
}

// Config is what Listen needs.
type Config struct {
	Addr    string // host:port to listen on
	Token   string // bearer token of the state-changing routes (LoadOrCreateToken)
	Backend Backend
	Metrics http.Handler // served at GET /metrics; nil: none
	Logger  *zap.Logger  // nil: no logs
	// Limits of POST /api/txs without the token, per client address (ratelimit.go); zero: the defaults.
	TxRate     float64 // transactions a second, sustained (DefaultTxRate)
	TxBurst    int     // transactions at once (DefaultTxBurst)
	MaxClients int     // client budgets remembered (DefaultMaxClients)
	// MaxInFlight, MaxQueued and QueueWait bound the requests served at once (limit.go); 0 takes
	// DefaultMaxInFlight, DefaultMaxQueued, DefaultQueueWait. /api/events, /metrics and /static/ are not counted.
	MaxInFlight, MaxQueued int
	QueueWait              time.Duration
	// MaxHeavy bounds the heavy reads served at once (heavyRoutes, limit.go); 0 takes DefaultMaxHeavy.
	MaxHeavy int
}

// shutdownTimeout bounds how long Serve waits for open requests once its context is done.
const shutdownTimeout = 3 * time.Second

// Server is the API bound to its address.
type Server struct {
	cfg    Config
	ln     net.Listener
	log    *zap.Logger
	hub    hub
	window window        // the explorer's recent blocks
	limits *clientLimits // budgets of the clients that send transactions without the token
	lim    *limiter      // the bound on concurrent requests, made by Handler
	heavy  *limiter      // the tighter bound on heavy reads (heavyRoutes), made by Handler
}

// Listen binds cfg.Addr; Serve serves it.
func Listen(cfg Config) (*Server, error) {
	if cfg.Logger == nil {
		cfg.Logger = zap.NewNop()
	}
	if cfg.Token == "" {
		return nil, errors.New("http api: no token")
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("http api: %w", err)
	}
	return &Server{cfg: cfg, ln: ln, log: cfg.Logger, limits: newClientLimits(cfg.TxRate, cfg.TxBurst, cfg.MaxClients)}, nil
}

// Addr is the address the server listens on (with the port chosen when cfg.Addr asked for port 0).
func (s *Server) Addr() string { return s.ln.Addr().String() }

// Close releases the address of a server that will not Serve.
func (s *Server) Close() error { return s.ln.Close() }

// Serve answers requests until ctx is done, then waits up to shutdownTimeout for open requests.
func (s *Server) Serve(ctx context.Context) {
	srv := &http.Server{Handler: s.Handler(), ReadHeaderTimeout: 5 * time.Second,
		BaseContext: func(net.Listener) context.Context { return ctx }}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := srv.Serve(s.ln); !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("http server stopped", zap.Error(err))
		}
	}()
	s.log.Info("http api listening", zap.String("addr", s.Addr()))
	<-ctx.Done()
	sctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	srv.Shutdown(sctx)
	<-done
}

type route struct {
	method, path string
	h            http.HandlerFunc
}

// Handler routes requests: a known path with a wrong method answers 405 with Allow in JSON, an unknown path 404
// (see notFound).
func (s *Server) Handler() http.Handler {
	routes := []route{
		{"GET", "/api/status", s.getStatus},
		{"GET", "/api/blocks/{id}", s.getBlock},
		{"GET", "/api/blocks", s.getBlocks},
		{"GET", "/api/validators", s.getValidators},
		{"GET", "/api/accounts/{addr}", s.getAccount},
		{"GET", "/api/accounts/{addr}/records", s.getRecords},
		{"GET", "/api/peers", s.getPeers},
		{"GET", "/api/txs/{id}", s.getTx},
		{"GET", "/api/finality", s.getFinality},
		{"GET", "/api/evidence", s.getEvidence},
		{"GET", "/api/events", s.getEvents},
		{"GET", "/api/slots", s.getSlots},
		{"GET", "/api/mempool", s.getMempool},
		{"GET", "/{$}", s.getExplorer},
		{"GET", "/block/{id}", s.getBlockPage},
		{"GET", "/tx/{id}", s.getTxPage},
		{"GET", "/account/{addr}", s.getAccountPage},
		{"GET", "/search", s.getSearch},
		{"GET", "/static/", staticFiles().ServeHTTP},
		{"POST", "/api/bpm", s.guard(s.postBPM)},
		{"POST", "/api/txs", s.signed(s.postTx)},
		{"POST", "/api/txbatch", s.guard(s.postTxBatch)},
	}
	if s.cfg.Metrics != nil {
		routes = append(routes, route{"GET", "/metrics", s.cfg.Metrics.ServeHTTP})
	}
	s.lim = newLimiter(s.cfg)
	s.heavy = newLimiter(Config{MaxInFlight: cmp.Or(s.cfg.MaxHeavy, DefaultMaxHeavy()), MaxQueued: s.cfg.MaxQueued,
		QueueWait: s.cfg.QueueWait})
	mux := http.NewServeMux()
	allow := map[string][]string{}
	var paths []string
	for _, rt := range routes {
		h := rt.h
		if rt.path != "/api/events" && rt.path != "/metrics" && rt.path != "/static/" {
			h = s.lim.wrap(h)
		}
		if heavyRoutes[rt.path] {
			h = s.heavy.wrap(h) // a heavy read waits for its place before it takes one of the general ones
		}
		mux.HandleFunc(rt.method+" "+rt.path, h)
		if allow[rt.path] == nil {
			paths = append(paths, rt.path)
		}
		allow[rt.path] = append(allow[rt.path], rt.method)
		if rt.method == "GET" {
			allow[rt.path] = append(allow[rt.path], "HEAD")
		}
	}
	for _, p := range paths {
		mux.HandleFunc(p, notAllowed(allow[p]))
	}
	mux.HandleFunc("/", s.notFound)
	return mux
}

// notFound answers a path no route takes: JSON under /api/ (and for /metrics), the explorer's page that says so
// for anything else, which is what a browser asks for.
func (s *Server) notFound(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, "/api/") || r.URL.Path == "/api" || r.URL.Path == "/metrics" {
		fail(w, http.StatusNotFound, fmt.Errorf("no route %s %s", r.Method, r.URL.Path))
		return
	}
	s.failPage(w, r, fmt.Errorf("%w: no page %s", view.ErrNotFound, r.URL.Path))
}
