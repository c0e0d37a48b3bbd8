package simnet

import (
	"crypto/ed25519"
	"crypto/sha256"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"time"

	"go.uber.org/zap"

	"github.com/posnode/posnode/chain"
	"github.com/posnode/posnode/node"
	"github.com/posnode/posnode/p2p"
)

// Config is one simulated network and what happens to it. Everything a run does follows from it and Seed.
type Config struct {
	Seed       uint64
	Nodes      int // processes
	Validators int // processes 0..Validators-1 hold stake (Stakes); at most Nodes
	// Stakes are the genesis stakes of validators 0, 1, …, repeated when shorter (stakes.go); nil: 1,000 each.
	Stakes []uint64
	// StakeEvery is how often a client has a random live validator stake or unstake some of its tokens (0: never;
	// stakes.go): the stake table changes during the run, from StakeLag epochs on.
	StakeEvery time.Duration
	Degree     int // links each process opens to random others at start (so about 2×Degree each); default 8
	Mesh       int // gossip goes out on the first Mesh live links of a process (gossipsub's D; mesh.go); 0: on all

	Slot     time.Duration // slot duration; default 1s
	Epoch    uint64        // slots per epoch; default 8
	Duration time.Duration // simulated time with faults and clients; the heal phase follows
	Heal     time.Duration // simulated time after every fault healed and clients stopped; default 8 epochs

	Latency      time.Duration // one-way link latency; default 50ms
	Jitter       time.Duration // ± uniform around Latency; default 20ms
	LossPermille int           // messages lost per thousand
	DupPermille  int           // gossip messages delivered twice per thousand
	Bandwidth    int64         // bytes per second per link; 0: unlimited

	Faults Faults

	// RecordEvery is how often a client submits a BPM record to a random live process (0: no clients).
	RecordEvery time.Duration
	// GapFloodEvery is how often a client sends a batch of nonce-gapped transactions to a random live process as
	// a peer would (0: none; clients.go).
	GapFloodEvery time.Duration

	// Byzantine is the share of the validators (the last ones, never process 0) that follow Strategies
	// (byzantine.go); at least one when above 0.
	Byzantine  float64
	Strategies Strategies

	// PendingSlack sets node.Config.PendingSlack (0: the node's default): how many final entries the
	// pending-transaction log drops at once.
	PendingSlack int
	// DoppelgangerSlots sets node.Config.DoppelgangerSlots of each restart: how many slots a node watches for its
	// key's blocks before it signs again (0: none; detection runs either way). The first start does not wait.
	DoppelgangerSlots uint64

	// RetainEpochs sets node.Config.RetainEpochs of every process but process 0, which keeps every block for the
	// end's checks (0: every process keeps every block); a small window prunes at each floor rise.
	RetainEpochs uint64
	// CheckpointSync gives a process that restarts without chain.db the finalized checkpoint of the process with
	// the newest one as its trusted checkpoint, so that it joins by checkpoint sync (PROTOCOL.md §13a).
	CheckpointSync bool

	// Bolt keeps each process's chain.db in a bbolt file, as production does; false keeps it in memory across the
	// process's crashes (store.go says what that does not model).
	Bolt bool

	// Unshared has every process derive its own stake tables, states, leader draws and encodings, as separate OS
	// processes would, instead of sharing them (chain.ShareStates, doc.go): slower, and the same trace unless a
	// derivation differs between processes. The determinism check runs a seed's second run unshared.
	Unshared bool

	Dir    string      // data directories of the processes; a tmpfs keeps disk time out of the run
	Logger *zap.Logger // nil: the nodes log nothing

	// AtEnd, if set, runs once the run's end is checked while every process is still up (a heap profile of the
	// whole network); it sees nothing of the run and changes nothing of it.
	AtEnd func()
}

// Faults are the faults of the run's first phase, each drawn from the seed.
type Faults struct {
	CrashEvery     time.Duration // mean time between crashes (0: none); a crashed process restarts 5–30 s later
	LoseChainDB    bool          // a restart may come without chain.db (a quarter of them); the key and slashing protection stay
	PartitionEvery time.Duration // mean time between partitions into two sides (0: none); each lasts 5–40 s
	ClockSkew      time.Duration // each process's clock is off by up to ± this (0: none)

	// Disks and clocks that misbehave (diskclock.go).
	DiskFullEvery  time.Duration // mean time between a process's disk refusing writes (ENOSPC) for 5–30 s (0: never)
	DiskFailEvery  time.Duration // mean time between a process's disk failing writes and fsyncs (EIO) for 5–30 s (0: never)
	ClockDriftPPM  int64         // each process's clock runs fast or slow by up to this many parts per million (0: none)
	ClockJumpEvery time.Duration // mean time between a process's clock jumping forward or back (0: never)
	ClockJump      time.Duration // the most a clock jumps, either way; default 5 s
}

// Result is what a run saw.
type Result struct {
	Seed       uint64
	Trace      [32]byte // SHA-256 of every event run (time, process, kind) and every message delivered
	Events     uint64
	Violations []string // the invariants broken, each with when and where; empty when none
	Stats      Stats
}

// Stats are the run's counts and figures.
type Stats struct {
	Height, FinalizedEpoch     uint64
	Slots                      uint64 // slots that passed
	Blocks                     uint64 // canonical blocks of the reference process
	Records, Acked, Refused    int    // records submitted, acknowledged, refused
	Lost, Twice                int    // acknowledged records not on the chain, or on it more than once, at the end
	Crashes, Partitions        int
	published, delivered       int
	lost, duplicates, rejected int
	MaxFinalityLag             uint64 // most epochs the finalized checkpoint trailed the current epoch at an epoch end

	// Figures of the run (metrics.go).
	SlotFill                       float64       // Blocks / Slots
	Reorgs, ReorgDepth             int           // head changes that reverted blocks, at any process; the most reverted at once
	FinalityLagP50                 uint64        // median finality lag of the epoch checks, in epochs
	Propagated                     int           // acceptances of a block by a process other than its proposer
	PropagationP50, PropagationP99 time.Duration // from a block's proposal to its acceptance at another process
	PropagationMax                 time.Duration

	// The adversary (byzantine.go, clients.go).
	Equivocations, Punished int // offences the byzantine validators released; of those validators, slashed at the end
	AdversaryBlocks         int // canonical blocks of the byzantine validators
	GapTxs                  int // gap transactions the clients sent
	SplitCheckpoints        int // epochs of the whole network whose honest votes a private branch split (release_lag.go)

	// Stake changes (Config.StakeEvery) acknowledged and refused, and each validator's share (fairness.go).
	StakeTxs, StakeRefused int
	Shares                 []ShareCount
	Uncounted              uint64 // slots whose stake table the reference no longer knew
	DiskFaults, ClockJumps int    // disk episodes and clock jumps (diskclock.go)
	StartRefused           int    // restarts a full or failing disk refused
	Witnesses              int    // honest processes restarted with a trusted checkpoint (longrange.go)
	RebuiltServed          int    // answers that served them the rebuilt chain
}

// Sim is one run.
type Sim struct {
	cfg    Config
	gen    *chain.Genesis
	sched  *scheduler
	rng    *rand.Rand
	procs  []*process
	byPeer map[string]int
	adj    [][]int
	adjL   [][]*link // adjL[a][i] is the link between a and adj[a][i]
	links  map[[2]int]*link
	side   []int // partition side of each process; all 0 when none
	phase  string
	stats  Stats
	viol   []string
	acked  map[chain.Hash]int // records acknowledged, by the process that acknowledged them
	adv    adversary          // byzantine processes and clients, and what the invariants remember of them
	log    *zap.Logger
	fault  error // the simulator's own failure (fail)
	m      metrics
	// longRange is set when the byzantine validators follow LongRange (longrange.go): the links and the invariants
	// read it.
	longRange bool
	msgs      msgRegistry // the gossip messages of the last minutes and who saw them (seen.go)
	hops      []hop       // forwardTo's list, reused
	// endHook, if set, runs after the end's checks while the processes are still up (tests craft violations).
	endHook func()
	// strictLag, if set, holds the liveness invariant to maxFinalityLag whatever a private branch split (tests show
	// what lagBound allows).
	strictLag bool
}

// process is one simulated posnode process.
type process struct {
	id     int
	dir    string
	key    ed25519.PrivateKey
	addr   chain.Address
	peerID string
	node   *node.Node
	net    *procNet
	up     bool
	inc    uint64
	skew   time.Duration
	disk   memDisk       // chain.db when not Config.Bolt
	since  time.Duration // when it last started
	signed time.Duration // when its node last signed a block or vote; -1 before it first did
	able   []slotSpan    // the slots in which it was up and past its doppelganger wait (fairness.go)
	clock  clockFault    // drift and jumps of its clock (diskclock.go)
	// trusted is the trusted checkpoint its node starts with (node.Config.Checkpoint; nil: none), and joinAt when
	// its links to honest processes come up (longrange.go).
	trusted *chain.Checkpoint
	joinAt  time.Duration
	// finalMark is the highest nonce of its own account in a finalized state its node has had, in any of its
	// lives: a restart without chain.db sets its finalized state back, not what was final (checkDurability).
	finalMark chain.Nonce
}

func (c *Config) defaults() {
	if c.Degree == 0 {
		c.Degree = 8
	}
	if c.Slot == 0 {
		c.Slot = time.Second
	}
	if c.Epoch == 0 {
		c.Epoch = 8
	}
	if c.Heal == 0 {
		c.Heal = time.Duration(8*c.Epoch) * c.Slot
	}
	if c.Latency == 0 {
		c.Latency, c.Jitter = 50*time.Millisecond, 20*time.Millisecond
	}
	if c.Validators == 0 || c.Validators > c.Nodes {
		c.Validators = c.Nodes
	}
}

// genesisTime is the virtual time zero of every run: fixed, so that a seed replays.
var genesisTime = time.Unix(1_800_000_000, 0).UTC()

// New prepares a run: keys, genesis, data directories and the links between processes.
func New(cfg Config) (*Sim, error) {
	cfg.defaults()
	if cfg.Nodes < 1 || cfg.Dir == "" {
		return nil, errors.New("simnet: need at least one process and a data directory")
	}
	s := &Sim{cfg: cfg, sched: newScheduler(), rng: rand.New(rand.NewPCG(cfg.Seed, 0x5eed)),
		byPeer: map[string]int{}, links: map[[2]int]*link{}, side: make([]int, cfg.Nodes),
		acked: map[chain.Hash]int{}, adv: newAdversary(), log: cfg.Logger, msgs: newMsgRegistry(cfg.Nodes)}
	if s.log == nil {
		s.log = zap.NewNop()
	}
	s.longRange = cfg.Strategies.has(LongRange) && cfg.byzantineCount() > 0
	g := &chain.Genesis{ChainID: fmt.Sprintf("simnet-%d", cfg.Seed), Time: genesisTime,
		SlotDuration: chain.Duration(cfg.Slot), EpochLength: cfg.Epoch, BlockReward: 1, MinStake: 1, TxFee: 1}
	blocks := chain.NewBlockPool() // the processes' stores share the bytes of the blocks and anchors they all hold
	for i := range cfg.Nodes {
		seed := sha256.Sum256(fmt.Appendf(nil, "posnode/simnet/%d/%d", cfg.Seed, i))
		key := ed25519.NewKeyFromSeed(seed[:])
		addr := chain.AddressOf(key.Public().(ed25519.PublicKey))
		p := &process{id: i, dir: filepath.Join(cfg.Dir, fmt.Sprintf("p%04d", i)), key: key, addr: addr, peerID: addr.String(),
			disk: memDisk{pool: blocks}}
		if err := os.MkdirAll(p.dir, 0o700); err != nil {
			return nil, err
		}
		if err := node.SaveKey(filepath.Join(p.dir, node.KeyFile), key); err != nil {
			return nil, err
		}
		alloc := chain.Allocation{Address: addr, Balance: 1 << 30}
		if i < cfg.Validators {
			alloc.Stake = chain.Amount(s.genesisStake(i))
		}
		g.Allocations = append(g.Allocations, alloc)
		s.procs = append(s.procs, p)
		s.byPeer[p.peerID] = i
		p.signed = -1
	}
	g.Allocations = append(g.Allocations, s.clientAllocations()...)
	if err := g.Validate(); err != nil {
		return nil, fmt.Errorf("simnet genesis: %w", err)
	}
	s.gen = g
	s.wire()
	return s, nil
}

// wire opens the links: each process to Degree random others.
func (s *Sim) wire() {
	s.adj, s.adjL = make([][]int, s.cfg.Nodes), make([][]*link, s.cfg.Nodes)
	for i := range s.cfg.Nodes {
		if i > 0 { // a chain through all processes keeps the graph connected
			s.addLink(i, i-1)
		}
		for range max(s.cfg.Degree-1, 0) {
			s.addLink(i, s.rng.IntN(s.cfg.Nodes))
		}
	}
}

// addLink opens a link between a and b, if there is none.
func (s *Sim) addLink(a, b int) {
	k := [2]int{min(a, b), max(a, b)}
	if a == b || s.links[k] != nil {
		return
	}
	l := &link{a: k[0], b: k[1]}
	s.links[k] = l
	s.adj[a], s.adjL[a] = append(s.adj[a], b), append(s.adjL[a], l)
	s.adj[b], s.adjL[b] = append(s.adj[b], a), append(s.adjL[b], l)
}

// linked reports whether messages pass between a and b now.
func (s *Sim) linked(a, b int) bool {
	return s.up(s.links[[2]int{min(a, b), max(a, b)}], a, b)
}

// up reports whether messages pass over l, the link between a and b (nil: none), now.
func (s *Sim) up(l *link, a, b int) bool {
	return l != nil && s.procs[a].up && s.procs[b].up && s.side[a] == s.side[b] && l.bannedUntil <= s.sched.now &&
		(!s.longRange || s.lrLinked(a, b))
}

// connected lists the processes linked with a now, in a fixed order.
func (s *Sim) connected(a int) []int {
	var out []int
	for i, b := range s.adj[a] {
		if s.up(s.adjL[a][i], a, b) {
			out = append(out, b)
		}
	}
	return out
}

// ban disconnects a from b for banFor.
func (s *Sim) ban(a, b int) {
	l := s.links[[2]int{min(a, b), max(a, b)}]
	l.bannedUntil = s.sched.now + banFor
	s.sched.at(l.bannedUntil, -1, 0, "unban", func() { s.connect(a, b) })
}

// connect tells both ends of a link that came up.
func (s *Sim) connect(a, b int) {
	if !s.linked(a, b) {
		return
	}
	for _, e := range [][2]int{{a, b}, {b, a}} {
		p := s.procs[e[0]]
		if p.net.onPeer != nil {
			p.net.onPeer(s.procs[e[1]].peerID)
		}
	}
}

// start opens and starts process p's node, and connects it to its live links.
func (s *Sim) start(p *process) error {
	wait := s.cfg.DoppelgangerSlots
	if p.inc == 0 {
		wait = 0 // the network's first start: nothing was signed before genesis
	}
	cfg := node.Config{Home: p.dir, Genesis: s.gen, Logger: s.log.With(zap.Int("proc", p.id)),
		Now: func() time.Time { return genesisTime.Add(s.sched.now + p.skew + p.clock.offset(s.sched.now)) }, Seed: s.cfg.Seed<<16 ^ uint64(p.id) + 1,
		IgnoreWSCheck: true, Checkpoint: p.trusted, OpenStore: s.storeOf(p), PendingSlack: s.cfg.PendingSlack, DoppelgangerSlots: wait,
		OnVote: func(v chain.Vote) { s.onVote(p, v) }, DiskFault: p.disk.fault(s)}
	if p.id > 0 {
		cfg.RetainEpochs = s.cfg.RetainEpochs
	}
	s.watch(&cfg, p)
	n, err := node.New(cfg)
	if err != nil {
		return fmt.Errorf("process %d: %w", p.id, err)
	}
	p.inc++
	p.up, p.node, p.since = true, n, s.sched.now
	s.msgs.forget(p.id)
	s.ableFrom(p, wait)
	p.net = &procNet{sim: s, p: p, inc: p.inc, topics: map[string]p2p.Validator{}, protos: map[string]p2p.Handler{},
		penalty: map[int]int{}}
	if err := n.Start(node.Env{Net: p.net, Runtime: procRuntime{sim: s, p: p, inc: p.inc}}); err != nil {
		return fmt.Errorf("process %d: %w", p.id, err)
	}
	for _, j := range s.adj[p.id] {
		s.connect(p.id, j)
	}
	return nil
}

// crash stops p at once: what its node had not written is lost.
func (s *Sim) crash(p *process) {
	p.markFinal()
	p.node.Stop(false)
	p.up, p.node = false, nil
	s.ableUntil(p)
}
