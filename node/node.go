package node

import (
	"context"
	"crypto/ed25519"
	cryptorand "crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"
	"golang.org/x/time/rate"

	"github.com/posnode/posnode/chain"
	"github.com/posnode/posnode/consensus"
	"github.com/posnode/posnode/node/anchorsync"
	"github.com/posnode/posnode/node/blocksync"
	"github.com/posnode/posnode/node/finality"
	"github.com/posnode/posnode/node/httpapi"
	"github.com/posnode/posnode/node/mempool"
	"github.com/posnode/posnode/node/pendinglog"
	"github.com/posnode/posnode/node/prompt"
	"github.com/posnode/posnode/node/signgate"
	"github.com/posnode/posnode/node/slashprot"
	"github.com/posnode/posnode/node/view"
	"github.com/posnode/posnode/p2p"
)

// ErrStopped: the node's event loop is not running.
var ErrStopped = view.ErrStopped

// Config is everything a node needs; cmd/posnode builds it from flags, environment and the home directory.
type Config struct {
	Home      string         // the key lives here
	Data      string         // chain database and known peers; default Home; created when missing
	Genesis   *chain.Genesis // the network
	Listen    []string       // libp2p multiaddrs
	Bootstrap []string       // peers to dial at start (full multiaddrs)
	MDNS      bool           // LAN discovery
	// Reachability fixes whether peers can dial this node directly; p2p.ReachabilityUnknown lets AutoNAT decide
	// (PROTOCOL.md §10).
	Reachability p2p.Reachability
	// RelayService runs the circuit relay v2 service for peers behind a NAT; for publicly reachable nodes.
	RelayService bool
	HTTP         string // API listen address; "" disables the API
	// APIToken is the bearer token of the API's state-changing routes; "" reads or creates
	// <Home>/api-token (httpapi.LoadOrCreateToken).
	APIToken string
	Logger   *zap.Logger // nil: no logs
	Now      func() time.Time
	Console  *prompt.Console // the interactive prompt's terminal or pipe; nil: no prompt
	// OnBlock, if set, is called on the event loop each time a block joins the tree: proposed here (local; it is
	// durable then, and not yet published) or imported from a peer (validated and accepted; it reaches chain.db
	// with the next flush, PROTOCOL.md §11). It must return quickly; benchmarks use it to time propagation.
	OnBlock func(b *chain.Block, local bool)
	// OnHead, if set, is called on the event loop each time the canonical chain changes, with the change (the blocks
	// that left it and joined it). It must return quickly; the simulator measures reorg depth with it.
	OnHead func(c chain.Change)
	// OnVote, if set, is called on the event loop with each checkpoint vote this node signs, after the slashing
	// protection record holds it and before it is pooled or published. It must return quickly; tests use it.
	OnVote func(v chain.Vote)
	// DoppelgangerSlots is how many slots after start the node watches for blocks signed with its key by another
	// process before it signs anything (PROTOCOL.md §10); 0 skips the wait (tests). Detection runs either way.
	DoppelgangerSlots uint64
	// Checkpoint, if set, is the operator's trusted checkpoint (PROTOCOL.md §12): the node refuses every chain
	// that does not contain it, and it renews the node's view of the chain for the weak-subjectivity rule.
	Checkpoint *chain.Checkpoint
	// IgnoreWSCheck lets a node follow a chain whose newest finalized or trusted checkpoint is older than the
	// weak-subjectivity period, with a WARN instead of refusing (PROTOCOL.md §12). It is for a network whose every
	// validator key its operator holds (a local testnet after a long stop), where no one else can have signed
	// another history; never for a public network.
	IgnoreWSCheck bool
	// Seed seeds the node's own random choices (which peers it polls); 0 draws one. A simulator sets it, so that a
	// run replays.
	Seed uint64
	// OpenStore, if set, opens the chain database at path instead of chain.OpenBolt (a simulator keeps each
	// process's store in memory across its crashes; sim/simnet).
	OpenStore func(path string) (chain.Store, error)
	// DiskFault, if set, is asked before each write, fsync and truncation of the pending-transaction log
	// (pendinglog.Log.SetFault) and each write and fsync of the evidence file (evidencefile.File.SetFault): a
	// simulator's full or failing disk. The slashing protection record is not asked.
	DiskFault func(op string) error
	// RetainEpochs is the retention window (chain.TreeConfig.RetainEpochs, PROTOCOL.md §13); 0 keeps every block.
	RetainEpochs uint64
	// wsEpochs, if set, replaces chain.WeakSubjectivityEpochs (tests: a long-range scenario in seconds).
	wsEpochs uint64
	// storeWrap, if set, wraps the chain database before the tree opens it (tests inject faults with it).
	storeWrap func(chain.Store) chain.Store
	// anchorLie, if set, rewrites every anchor the node serves (tests make a lying peer with it).
	anchorLie func([]byte) []byte
	// rangeLie, if set, rewrites the block encodings of every range the node serves from height from (tests make
	// a peer that serves a broken hash chain with it).
	rangeLie func(from chain.Height, blocks [][]byte) [][]byte
	// PendingSlack, if set, replaces pendingSlack: how many entries that may leave pending.txs wait for a rewrite
	// (tests and the simulator compact at every chance with 1).
	PendingSlack int
}

// Node is one posnode peer. Create it with New, then Run it.
type Node struct {
	cfg          Config
	log          *zap.Logger
	key          ed25519.PrivateKey
	self         chain.Address
	chainID      chain.Hash
	store        chain.Store
	pendingLog   *pendinglog.Log // pending.txs: users' and returned transactions until a final block holds them
	guard        *slashprot.DB   // slashing protection: every signature recorded before it leaves (PROTOCOL.md §11)
	sigs         *chain.SigCache // transactions whose signatures verified; shared by gossip, the API and the tree
	txOrder      *mempool.Order  // gossiped batches reach the mempool in arrival order per sender; its own lock
	metrics      *metrics
	ffgMetrics   *finalityMetrics
	flushMetrics *flushMetrics

	rangePace *rate.Limiter // sync's own pace of range requests (rangePace)
	events    chan string   // announcements for the prompt (nil without a prompt)
	newBlocks prompt.Blocks // the prompt's lines for blocks that join the chain (loop only)
	started   chan struct{} // closed once the network is up and the loop runs
	stopped   chan struct{} // closed when the loop has exited

	head atomic.Pointer[headView] // the head as of the loop's last change, for readers off the loop
	// The world the logic runs in (env.go), set by Start before started is closed.
	net        Network
	rt         Runtime
	host       *p2p.Host // production's host behind net; nil under a simulator
	blockTopic Topic
	txTopic    Topic
	voteTopic  Topic           // checkpoint votes (PROTOCOL.md §10)
	evTopic    Topic           // evidence
	http       *httpapi.Server // nil without an API
	genesis    BlockView       // the genesis as block 0
	// outOfTouch is "" while the node may follow the network; else why not (weaksubj.go, PROTOCOL.md §12). Set
	// by New, never changed: any goroutine may read it.
	outOfTouch string

	pendingSyncs sync.WaitGroup // commits of returned transactions to pendingLog (keepReturned)
	reads        readIndex      // the canonical chain for the read routes, off the loop (readindex.go)
	tables       tableCache     // old epochs' stake tables, rebuilt off the loop (readcache.go)

	loopState // owned by the event loop
}

// loopState is the mutable consensus state; only the event loop touches it.
type loopState struct {
	tree        *chain.Tree
	pool        *mempool.Pool
	held        held              // admitted transactions of this node's users that are not durable yet
	txOut       outbox            // durable transactions waiting to share a gossip message
	lastSigned  chain.Slot        // highest slot this key ever signed a block for, as guard records it
	building    bool              // a proposal is being built off the loop (propose.go)
	hashed      hashedTxs         // the record IDs of the block being inserted, hashed off the loop (propose.go)
	synced      bool              // caught up with the best peer seen; proposing allowed
	treeCfg     chain.TreeConfig  // how tree was opened; checkpoint sync opens it again (cpsync.go)
	cpWanted    bool              // the node syncs from its trusted checkpoint first (cpsync.go, PROTOCOL.md §13a)
	cpNotHeld   anchorsync.Absent // the peers that hold no anchor at the trusted checkpoint (cpsync.go)
	anchorCache struct {          // the anchor last served (cpsync.go)
		hash chain.Hash
		enc  []byte
	}
	syncing    bool
	syncActive time.Time // when the running sync started or last imported a block
	startedAt  time.Time
	orphans    orphanLog           // blocks off the canonical chain, for the explorer's slot grid
	told       [2]chain.Checkpoint // the justified and finalized checkpoints last sent to GET /api/events
	// Doppelganger protection (doppelganger.go).
	watchFrom    chain.Slot     // blocks of this key from this slot on that the store lacks are another process's
	signFrom     chain.Slot     // first slot the node may sign
	doppelganger string         // what showed another process signing with this key; "" while none did
	gate         *signgate.Gate // every reason the node will not sign now (signing.go)
	refused      refusal        // the slashing protection record's latest refusal
	ffg          *finality.Duty // the finality duty: votes, evidence, slashings (finality.go)
	notes        noticeState    // what the prompt is told of this node's account (notices.go)
	flushing     flushState     // the write-behind of accepted blocks (flush.go)
	pending      pendingState   // the pending-transaction log's bookkeeping (pending.go)
	evidence     evidenceState  // the evidence file's bookkeeping (evidence.go)
	regossip     regossipState  // publishing pending transactions again (regossip.go)
	clock        clockWatch     // what peers and blocks say of the local clock (clock.go)
	syncs        syncState      // the sync client (syncclient.go)
	fill         backfillState  // the blocks below a checkpoint sync's anchor (backfill.go)
	// ownNonceUnknown: the node started without its chain (chain.db lost) and has not synced with a peer since, so
	// it does not know its own account's next nonce (openPending, SubmitOwn). Proposing alone after syncGrace does
	// not clear it: only a peer's chain holds what the lost one did.
	ownNonceUnknown bool
	// ownNonceMarked: chain.db holds the mark of an unknown own nonce (metaOwnNonceUnknown), cleared once the node
	// has synced and stored its head (ownNonceStored).
	ownNonceMarked bool
	timers         loopTimers // the loop's periodic duties (loop.go)
	rand           *rand.Rand // the node's own random choices (which peers it polls); seeded by Config.Seed
}

// headView is the canonical head and its state, published by the event loop at every head change for the
// goroutines that must not wait for the loop: status requests and the first check of gossiped transactions. A
// head state is never modified once chain.Tree holds it (the tree clones before it applies), so reading it off
// the loop is safe.
type headView struct {
	tip   chain.Tip
	state *chain.State
}

// metaLastSigned is where versions before the slashing protection record kept the last signed slot, in
// chain.db; openSlashing moves it over.
const metaLastSigned = "last_signed_slot"

// sigCacheSize is how many verified transactions a node remembers: twice what its mempool holds, so that a
// transaction is still remembered when its block arrives.
const sigCacheSize = 2 * mempool.MaxTxs

// openStore opens the chain database at path: cfg.OpenStore's, else a bbolt file.
func openStore(cfg Config, path string) (chain.Store, error) {
	if cfg.OpenStore != nil {
		return cfg.OpenStore(path)
	}
	return chain.OpenBolt(path)
}

// New opens the node's key, store and chain; the network starts in Run.
func New(cfg Config) (*Node, error) {
	if cfg.Genesis == nil {
		return nil, errors.New("no genesis")
	}
	if cfg.Logger == nil {
		cfg.Logger = zap.NewNop()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Data == "" {
		cfg.Data = cfg.Home
	}
	if err := os.MkdirAll(cfg.Data, 0o700); err != nil {
		return nil, fmt.Errorf("create data directory: %w", err)
	}
	key, created, err := LoadOrCreateKey(filepath.Join(cfg.Home, KeyFile))
	if err != nil {
		return nil, err
	}
	dbPath := filepath.Join(cfg.Data, "chain.db")
	store, err := openStore(cfg, dbPath)
	if err != nil {
		return nil, damagedDB(dbPath, fmt.Errorf("open chain database: %w", err))
	}
	sigs := chain.NewSigCache(cfg.Genesis.Hash(), sigCacheSize)
	treeStore := store
	if cfg.storeWrap != nil {
		treeStore = cfg.storeWrap(store)
	}
	treeCfg := chain.TreeConfig{Genesis: cfg.Genesis, Store: treeStore, Elect: consensus.Leader,
		Better: consensus.Better, Finality: consensus.FFGRules(), Sigs: sigs, WriteBehind: true, Trusted: cfg.Checkpoint,
		RetainEpochs: cfg.RetainEpochs, AnchorEpochs: cfg.wsPeriod()}
	tree, err := chain.OpenTree(treeCfg)
	if err != nil {
		store.Close()
		return nil, damagedDB(dbPath, fmt.Errorf("open chain: %w", err))
	}
	if err := checkTrusted(cfg, tree, dbPath); err != nil {
		store.Close()
		return nil, err
	}
	n := &Node{
		cfg: cfg, log: cfg.Logger, key: key, self: chain.AddressOf(key.Public().(ed25519.PublicKey)),
		chainID: cfg.Genesis.Hash(), store: store, sigs: sigs, txOrder: mempool.NewOrder(), metrics: newMetrics(),
		rangePace: rate.NewLimiter(rangePace, rangePace),
		started:   make(chan struct{}), stopped: make(chan struct{}), genesis: genesisView(cfg.Genesis),
	}
	if cfg.Console != nil {
		n.events = make(chan string, 256)
	}
	n.tree, n.pool, n.held = tree, mempool.New(cfg.Genesis.TxFee, cfg.Now), held{}
	n.treeCfg, n.cpWanted = treeCfg, wantsAnchor(cfg, tree)
	n.syncs = syncState{last: map[string]time.Time{}, conflicting: map[string]time.Time{}}
	seed := cfg.Seed
	if seed == 0 {
		var b [8]byte
		cryptorand.Read(b[:])
		seed = binary.LittleEndian.Uint64(b[:])
	}
	n.rand = rand.New(rand.NewPCG(seed, seed))
	n.gate = signgate.New(n.log, n.metrics.reg, func(msg string) { n.announce("%s", msg) })
	n.publishHead()
	n.ffgMetrics = n.metrics.addFinality()
	n.flushMetrics = n.metrics.addFlush()
	n.clock.gauge, n.clock.offG = n.metrics.addClock()
	if err := n.restore(); err != nil {
		store.Close()
		return nil, err
	}
	n.checkInTouch()
	head := tree.Head()
	n.log.Info("chain opened", zap.Stringer("address", n.self), zap.Bool("new_key", created),
		zap.Stringer("genesis", n.chainID), zap.Uint64("height", uint64(head.Height)), zap.Stringer("head", head.Hash))
	return n, nil
}

// restore reads what the node recorded before it last stopped: what it signed, the evidence and the transactions
// that no finalized block holds yet, which go back into the duty's pool and the mempool (PROTOCOL.md §8b, §11).
func (n *Node) restore() error {
	if err := n.openSlashing(); err != nil {
		return err
	}
	if err := n.openFFG(); err != nil {
		n.guard.Close()
		return err
	}
	if err := n.openEvidence(); err != nil {
		n.guard.Close()
		return err
	}
	if err := n.openPending(); err != nil {
		n.guard.Close()
		return err
	}
	return nil
}

// damagedDB adds to err, when it reports a damaged chain database, what the operator should do.
func damagedDB(path string, err error) error {
	if !errors.Is(err, chain.ErrCorruptStore) {
		return err
	}
	return fmt.Errorf("%w; the chain database is damaged: move it aside (mv %s %s.damaged) and start again to fetch the chain from peers", err, path, path)
}

func loadLastSigned(store chain.Store) (chain.Slot, error) {
	v, err := store.Meta(metaLastSigned)
	if err != nil || v == nil {
		return 0, err
	}
	s, err := decodeSlot(v)
	if err != nil {
		return 0, fmt.Errorf("record of the last signed slot: %w", err)
	}
	return s, nil
}

// Address returns the node's account address (its peer ID).
func (n *Node) Address() chain.Address { return n.self }

// ChainID returns the genesis hash that names the node's network.
func (n *Node) ChainID() chain.Hash { return n.chainID }

// Started is closed when Run has brought the network up and the event loop runs.
func (n *Node) Started() <-chan struct{} { return n.started }

// Addrs returns the node's dialable multiaddrs; valid after Started; none under a simulator.
func (n *Node) Addrs() []string {
	if n.host == nil {
		return nil
	}
	return n.host.Addrs()
}

// HTTPAddr returns the address the API listens on; valid after Started; "" without an API.
func (n *Node) HTTPAddr() string {
	if n.http == nil {
		return ""
	}
	return n.http.Addr()
}

// Run brings the network up, runs the event loop until ctx is done, then stops every goroutine it started and
// closes the store. It is production's wiring of the node's logic: libp2p, the wall clock and goroutines (env.go).
func (n *Node) Run(ctx context.Context) error {
	defer n.closeStores()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if err := n.listenHTTP(); err != nil {
		return err
	}
	hn, err := n.startHost(ctx)
	if err != nil {
		if n.http != nil {
			n.http.Close()
		}
		return err
	}
	defer hn.Close()
	rt := newLoopRuntime(n.stopped)
	defer rt.work.Wait()
	if err := n.Start(Env{Net: hn, Runtime: rt}); err != nil {
		if n.http != nil {
			n.http.Close()
		}
		return err
	}
	var wg sync.WaitGroup
	if n.http != nil {
		wg.Go(func() { n.http.Serve(ctx) })
	}
	if n.cfg.Console != nil {
		wg.Go(func() {
			prompt.Run(ctx, prompt.Config{Console: n.cfg.Console, Backend: n, Events: n.events, Quit: cancel})
		})
	}
	close(n.started)
	n.loop(ctx, rt)
	close(n.stopped)
	cancel()
	wg.Wait()
	n.log.Info("node stopped", zap.Uint64("height", uint64(n.tree.Head().Height)))
	return nil
}

// Start wires the node's logic to env — joins the topics, serves the protocols, arms the timers — and returns;
// from then on env's Runtime runs it. Run calls it; a simulator calls it instead of Run, and Stop when its
// process ends.
func (n *Node) Start(env Env) error {
	n.net, n.rt = env.Net, env.Runtime
	var err error
	if n.blockTopic, err = n.net.Join("blocks", n.validateBlockMsg); err == nil {
		n.txTopic, err = n.net.Join("txs", n.validateTxMsg)
	}
	if err == nil {
		err = n.joinFFG()
	}
	if err == nil {
		err = n.net.Handle(blocksync.ProtoStatus, n.serveStatus, statusLimits...)
	}
	if err == nil {
		err = n.net.Handle(blocksync.ProtoBlocks, n.serveBlocks, rangeLimits...)
	}
	if err == nil {
		err = n.net.Handle(anchorsync.Proto, n.serveAnchor, anchorLimits...)
	}
	if err == nil {
		err = n.handleLight()
	}
	if err != nil {
		return fmt.Errorf("join topics: %w", err)
	}
	n.net.OnPeer(func(id string) { n.post(func() { n.onPeer(id) }) })
	n.startedAt = n.cfg.Now()
	n.startDoppelgangerWatch()
	if wait := n.cfg.Genesis.Time.Sub(n.startedAt); wait > 0 {
		n.log.Info("waiting for genesis", zap.Time("genesis_time", n.cfg.Genesis.Time), zap.Duration("in", wait.Round(time.Millisecond)))
	}
	n.post(n.armTimers)
	return nil
}

// Stop ends a node that a simulator started: with clean, the accepted blocks are written first, as at the end of
// Run; without, what was not written is lost, as in a crash. The stores are closed either way.
func (n *Node) Stop(clean bool) {
	if clean {
		n.flush("shutdown")
		n.finishEvidence()
	}
	n.stopTimers()
	n.closeStores()
}

func (n *Node) closeStores() {
	n.closePending()
	n.guard.Close()
	n.store.Close()
}

// listenHTTP binds the API's address, so that a port in use fails the start before the network is up. The
// token is read, or created on first start, in the home directory.
func (n *Node) listenHTTP() error {
	if n.cfg.HTTP == "" {
		return nil
	}
	token := n.cfg.APIToken
	if token == "" {
		var created bool
		var err error
		path := filepath.Join(n.cfg.Home, httpapi.TokenFile)
		if token, created, err = httpapi.LoadOrCreateToken(path); err != nil {
			return err
		}
		if created {
			n.log.Info("api token created", zap.String("file", path))
		}
	}
	srv, err := httpapi.Listen(httpapi.Config{Addr: n.cfg.HTTP, Token: token, Backend: n,
		Metrics: n.metrics.handler(), Logger: n.log.Named("http")})
	n.http = srv
	return err
}

// startHost starts the libp2p host, production's network.
func (n *Node) startHost(ctx context.Context) (*hostNetwork, error) {
	host, err := p2p.New(ctx, p2p.Config{
		Key: n.key, Listen: n.cfg.Listen, Bootstrap: n.cfg.Bootstrap, MDNS: n.cfg.MDNS,
		Reachability: n.cfg.Reachability, RelayService: n.cfg.RelayService,
		PeersFile: filepath.Join(n.cfg.Data, "peers.json"), Namespace: n.chainID.String(), Logger: n.log.Named("p2p"),
	})
	if err != nil {
		return nil, fmt.Errorf("start p2p host: %w", err)
	}
	n.host = host
	n.metrics.watchPeers(func() float64 { return float64(len(host.Peers())) })
	n.metrics.watchReachability(func() float64 { return float64(host.Reachability()) })
	for _, a := range host.Addrs() {
		n.log.Info("listening", zap.String("addr", a))
	}
	return newHostNetwork(host, n.log.Named("p2p")), nil
}

// call runs f on the event loop and waits for it (Runtime.Call).
func (n *Node) call(ctx context.Context, f func()) error {
	if n.rt == nil {
		return ErrStopped
	}
	return n.rt.Call(ctx, n.event(f))
}

// post queues f for the event loop (Runtime.Post); any goroutine may call it. Before Start it does nothing: no
// loop will run.
func (n *Node) post(f func()) {
	if n.rt != nil {
		n.rt.Post(n.event(f))
	}
}

// after runs f on the event loop once d has passed (Runtime.After); called on the loop. Before Start the timer
// never fires.
func (n *Node) after(d time.Duration, f func()) *Timer {
	if n.rt == nil {
		return &Timer{stopped: true}
	}
	return n.rt.After(d, n.event(f))
}

// background runs work off the loop (Runtime.Background); before Start, at once.
func (n *Node) background(work func()) {
	if n.rt == nil {
		work()
		return
	}
	n.rt.Background(work)
}

// event is f as one event of the loop: what runs after every event follows it.
func (n *Node) event(f func()) func() {
	return func() {
		f()
		n.afterEvent()
	}
}

// publish sends a message on a topic; called by the event loop, never blocks it (Topic.Publish).
func (n *Node) publish(t Topic, data []byte) { t.Publish(data) }

// announce shows a line on the prompt, if there is one, without ever blocking the loop.
func (n *Node) announce(format string, args ...any) {
	if n.events == nil {
		return
	}
	select {
	case n.events <- fmt.Sprintf(format, args...):
	default:
	}
}

// tell sends a move of the head to the API's event stream (GET /api/events), if there is an API: a reorg, the new
// head, and the head's checkpoints when they moved. It never blocks the loop.
func (n *Node) tell(c chain.Change) {
	if n.http == nil {
		return
	}
	ev := httpapi.Event{Height: uint64(c.Head.Height), Slot: uint64(c.Head.Slot), Hash: c.Head.Hash}
	if len(c.Reverted) > 0 {
		r := ev
		r.Kind, r.Depth = "reorg", len(c.Reverted)
		n.http.Publish(r)
	}
	if len(c.Applied) > 0 {
		b := c.Applied[len(c.Applied)-1]
		ev.Kind, ev.Proposer, ev.Txs = "head", b.Header.Proposer.String(), len(b.Txs)
		n.http.Publish(ev)
	}
	if j, f := n.tree.Finality(); j != n.told[0] || f != n.told[1] {
		n.told = [2]chain.Checkpoint{j, f}
		fe := httpapi.Event{Kind: "finality", Height: ev.Height, Slot: ev.Slot, Hash: ev.Hash, Justified: &j, Finalized: &f}
		n.http.Publish(fe)
	}
}

// Chain returns the node's block tree, for a driver that runs on the event loop itself (a simulator reading
// heads, finality and blocks between events); never for another goroutine.
func (n *Node) Chain() *chain.Tree { return n.tree }
