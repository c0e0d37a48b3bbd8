package main

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/posnode/posnode/chain"
	"github.com/posnode/posnode/client"
	"github.com/posnode/posnode/keyfile"
	"github.com/posnode/posnode/light"
	"github.com/posnode/posnode/p2p"
)

// clientOpts are the flags every client command shares.
type clientOpts struct {
	key, genesis, state string
	peers               listFlag
	checkpoint          checkpointFlag
	json                bool
	wait                time.Duration
}

func clientFlags(name string, o *clientOpts) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.StringVar(&o.key, "key", filepath.Join(defaultHome(), ClientKeyFile), "the user's key file (posnode client keygen)")
	fs.StringVar(&o.genesis, "genesis", "", "the network's genesis file (required)")
	fs.StringVar(&o.state, "state", "", "the client's state file (default: client-<network>.json beside the key)")
	fs.Var(&o.peers, "peer", "a full node's multiaddr ending in /p2p/<id>; repeat for more (required)")
	fs.Var(&o.checkpoint, "checkpoint", "a weak-subjectivity checkpoint EPOCH:HASH to start from (default: genesis)")
	fs.BoolVar(&o.json, "json", false, "print one JSON object a line")
	fs.DurationVar(&o.wait, "wait", 5*time.Minute, "how long a one-shot command waits for its record to be final (0: not at all)")
	return fs
}

// parseClient parses a client command's flags and its positional arguments, in any order ("bpm 72 --json" as
// "bpm --json 72"); after "--" everything is an argument.
func parseClient(name, synopsis, about string, args []string) (*clientOpts, []string, error) {
	o := &clientOpts{}
	fs := clientFlags(name, o)
	fs.Usage = usage(fs, synopsis, about)
	flags, pos := splitArgs(fs, args)
	if _, err := parse(fs, flags); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			err = fmt.Errorf("%w (see posnode %s --help)", err, name)
		}
		return nil, nil, err
	}
	return o, pos, nil
}

// splitArgs separates args into flags with their values and positional arguments, so that flags may follow
// arguments: a word starting with "-" is a flag, which takes the next word as its value unless it is boolean or
// written --name=value; "--" ends the flags.
func splitArgs(fs *flag.FlagSet, args []string) (flags, pos []string) {
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			return flags, append(pos, args[i+1:]...)
		}
		if len(a) < 2 || a[0] != '-' {
			pos = append(pos, a)
			continue
		}
		flags = append(flags, a)
		name := strings.TrimLeft(a, "-")
		if strings.Contains(name, "=") {
			continue
		}
		if f := fs.Lookup(name); f == nil || isBoolFlag(f) {
			continue
		}
		if i+1 < len(args) {
			i++
			flags = append(flags, args[i])
		}
	}
	return flags, pos
}

func isBoolFlag(f *flag.Flag) bool {
	b, ok := f.Value.(interface{ IsBoolFlag() bool })
	return ok && b.IsBoolFlag()
}

// session is a running client: its host, its client and where it prints.
type session struct {
	cl   *client.Client
	host *p2p.Host
	g    *chain.Genesis
	out  *printer

	failing bool // the last follow could not reach the nodes
}

// openSession loads the genesis and the key, starts a libp2p host of its own (a fresh identity, so that the
// user's address is not its peer ID), loads the client's state and connects to the peers: --peer, else the ones
// the state file remembers.
func openSession(ctx context.Context, o *clientOpts, w io.Writer) (*session, error) {
	if o.genesis == "" {
		return nil, errors.New("no genesis: pass --genesis FILE (the network's genesis.json) or set POSNODE_GENESIS")
	}
	g, err := chain.LoadGenesis(o.genesis)
	if err != nil {
		return nil, err
	}
	key, err := keyfile.Load(o.key)
	if err != nil {
		return nil, fmt.Errorf("%w (create one with: posnode client keygen --out %s)", err, o.key)
	}
	_, hostKey, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	host, err := p2p.New(ctx, p2p.Config{Key: hostKey, Listen: []string{"/ip4/127.0.0.1/tcp/0"},
		Namespace: g.Hash().String(), NoPeerExchange: true})
	if err != nil {
		return nil, err
	}
	s := &session{host: host, g: g, out: &printer{w: w, json: o.json}}
	if err = s.start(ctx, o, key); err != nil {
		_ = host.Close()
		return nil, err
	}
	return s, nil
}

// start loads the client and connects it to its peers.
func (s *session) start(ctx context.Context, o *clientOpts, key ed25519.PrivateKey) error {
	var err error
	s.cl, err = client.Load(client.Config{Genesis: s.g, Wallet: client.New(key, s.g.Hash(), s.g.TxFee), Net: s.host,
		StatePath: o.statePath(s.g), Checkpoint: o.checkpoint.c, Log: s.out.note})
	if err != nil {
		return err
	}
	addrs := o.peers
	if len(addrs) == 0 {
		addrs = s.cl.SavedPeers()
	}
	if len(addrs) == 0 {
		return errors.New("no peer: pass --peer MULTIADDR (a node's address ending in /p2p/<id>) or set POSNODE_PEER; " +
			"the client then remembers the nodes that answered")
	}
	ids, answered, err := s.connect(ctx, addrs)
	if err != nil {
		return err
	}
	return s.cl.SetPeers(ids, answered)
}

func (o *clientOpts) statePath(g *chain.Genesis) string {
	if o.state != "" {
		return o.state
	}
	return filepath.Join(filepath.Dir(o.key), "client-"+g.Hash().String()[:12]+".json")
}

// connect dials each peer address and returns the peer IDs and the addresses that answered as nodes of this
// network.
func (s *session) connect(ctx context.Context, addrs []string) (ids, answered []string, err error) {
	for _, a := range addrs {
		i := strings.LastIndex(a, "/p2p/")
		if i < 0 {
			return nil, nil, fmt.Errorf("peer %q: the multiaddr must end in /p2p/<id> (a node logs its full addresses at start)", a)
		}
		if err := s.host.Connect(ctx, a); err != nil {
			s.out.note("cannot reach %s: %v", a, err)
			continue
		}
		id := a[i+len("/p2p/"):]
		if err := s.probe(ctx, id); err != nil {
			s.out.note("%s: %v", a, err)
			continue
		}
		ids, answered = append(ids, id), append(answered, a)
	}
	if len(ids) == 0 {
		return nil, nil, errors.New("no peer answered")
	}
	return ids, answered, nil
}

// probe asks a connected peer for the genesis checkpoint's header: a node of another network, or of a version
// without the light client, does not speak the protocol (p2p.ErrUnsupported). Any answer, an error included,
// is from a node of this network.
func (s *session) probe(ctx context.Context, id string) error {
	req := light.EncodeCheckpoint(chain.Checkpoint{Hash: s.g.Hash()})
	_, err := s.host.Request(ctx, id, light.ProtoBootstrap, req)
	if errors.Is(err, p2p.ErrUnsupported) {
		return fmt.Errorf("not a node of network %q (genesis %s, from --genesis), or one without the light client",
			s.g.ChainID, s.g.Hash().Short())
	}
	if err != nil && !errors.Is(err, p2p.ErrRemote) {
		return err
	}
	return nil
}

// follow syncs and tracks once, printing what was proven; it returns the events. A failure to reach the nodes is
// printed once, and again only after they answered in between.
func (s *session) follow(ctx context.Context) []client.Event {
	_, err := s.cl.Sync(ctx)
	if err != nil && ctx.Err() == nil {
		s.failed("follow finality: %v", err)
		return nil
	}
	events, err := s.cl.Track(ctx)
	if err != nil && ctx.Err() == nil {
		s.failed("track records: %v", err)
		return nil
	}
	if s.failing {
		s.failing = false
		s.out.note("the nodes answer again")
	}
	for _, ev := range events {
		s.out.event(ev)
	}
	return events
}

func (s *session) failed(format string, args ...any) {
	if !s.failing {
		s.out.note(format+" (retrying every slot)", args...)
	}
	s.failing = true
}

// waitFinal follows until record id is final or wait passes, printing each finalized checkpoint meanwhile.
func (s *session) waitFinal(ctx context.Context, id chain.Hash, wait time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	tick := time.NewTicker(time.Duration(s.g.SlotDuration))
	defer tick.Stop()
	shown := s.cl.Trust().Finalized.Checkpoint
	for {
		for _, ev := range s.follow(ctx) {
			if ev.Record.ID == id && ev.Kind == client.StatusFinal {
				return nil
			}
		}
		if f := s.cl.Trust().Finalized; f.Checkpoint != shown {
			shown = f.Checkpoint
			s.out.emit(map[string]any{"event": "finalized", "checkpoint": f.Checkpoint, "height": f.Height},
				"waiting: finalized checkpoint now %s (height %d)", f.Checkpoint, f.Height)
		}
		select {
		case <-ctx.Done():
			return waitErr(ctx, id, wait)
		case <-tick.C:
		}
	}
}

// waitErr says why a wait for record id ended without it final.
func waitErr(ctx context.Context, id chain.Hash, wait time.Duration) error {
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return fmt.Errorf("record %s not final after %s; it stays tracked: `posnode client status` shows it", id.Short(), wait)
	}
	return fmt.Errorf("stopped waiting for record %s; it stays tracked: `posnode client status` shows it", id.Short())
}

// printer writes lines for a person or JSON objects for a program, one writer at a time.
type printer struct {
	mu   sync.Mutex
	w    io.Writer
	json bool
}

func (p *printer) emit(obj any, format string, args ...any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.json {
		b, _ := json.Marshal(obj)
		fmt.Fprintf(p.w, "%s\n", b)
		return
	}
	fmt.Fprintf(p.w, format+"\n", args...)
}

// setWriter sends what follows to w (the prompt's console, which prints above the line being typed).
func (p *printer) setWriter(w io.Writer) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.w = w
}

func (p *printer) note(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	p.emit(map[string]string{"note": msg}, "%s", msg)
}

func (p *printer) event(ev client.Event) {
	r := ev.Record
	obj := map[string]any{"event": ev.Kind, "id": r.ID, "kind": r.Kind, "value": r.Value, "nonce": r.Nonce, "height": r.Height}
	if ev.Kind == client.StatusFinal {
		obj["epoch"] = r.Epoch
	}
	switch ev.Kind {
	case client.StatusCommitted:
		p.emit(obj, "%s %s %d: committed at height %d (inclusion proof checked)", r.ID.Short(), r.Kind, r.Value, r.Height)
	case client.StatusFinal:
		p.emit(obj, "%s %s %d: finalized (checkpoint of epoch %d, votes of ≥ 2/3 of the stake checked)", r.ID.Short(), r.Kind, r.Value, r.Epoch)
	default:
		p.emit(obj, "%s %s %d: %s (a reorg took it out of the chain)", r.ID.Short(), r.Kind, r.Value, ev.Kind)
	}
}

// withSignals returns a context that ends on Ctrl-C.
func withSignals() (context.Context, context.CancelFunc) {
	return signal.NotifyContext(context.Background(), os.Interrupt)
}
