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

// parseClient parses a client command's flags, then its positional arguments, which come last.
func parseClient(name, synopsis, about string, args []string) (*clientOpts, []string, error) {
	o := &clientOpts{}
	probe := clientFlags(name, o)
	probe.SetOutput(io.Discard)
	if err := probe.Parse(args); err != nil && !errors.Is(err, flag.ErrHelp) {
		return nil, nil, err
	}
	pos := probe.Args()
	o = &clientOpts{}
	fs := clientFlags(name, o)
	fs.Usage = usage(fs, synopsis, about)
	if _, err := parse(fs, args[:len(args)-len(pos)]); err != nil {
		return nil, nil, err
	}
	return o, pos, nil
}

// session is a running client: its host, its client and where it prints.
type session struct {
	cl   *client.Client
	host *p2p.Host
	g    *chain.Genesis
	out  *printer
}

// openSession loads the genesis and the key, starts a libp2p host of its own (a fresh identity, so that the
// user's address is not its peer ID), connects to the peers and loads the client's state.
func openSession(ctx context.Context, o *clientOpts, w io.Writer) (*session, error) {
	if o.genesis == "" {
		return nil, errors.New("no genesis: pass --genesis FILE (the network's genesis.json)")
	}
	if len(o.peers) == 0 {
		return nil, errors.New("no peer: pass --peer MULTIADDR (a node's address ending in /p2p/<id>)")
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
	peers, err := s.connect(ctx, o.peers)
	if err == nil {
		s.cl, err = client.Load(client.Config{Genesis: g, Wallet: client.New(key, g.Hash(), g.TxFee), Net: host,
			Peers: peers, StatePath: o.statePath(g), Checkpoint: o.checkpoint.c, Log: s.out.note})
	}
	if err != nil {
		_ = host.Close()
		return nil, err
	}
	return s, nil
}

func (o *clientOpts) statePath(g *chain.Genesis) string {
	if o.state != "" {
		return o.state
	}
	return filepath.Join(filepath.Dir(o.key), "client-"+g.Hash().String()[:12]+".json")
}

// connect dials each peer address and returns the peer IDs that answered.
func (s *session) connect(ctx context.Context, addrs []string) ([]string, error) {
	var ids []string
	for _, a := range addrs {
		i := strings.LastIndex(a, "/p2p/")
		if i < 0 {
			return nil, fmt.Errorf("peer %q: the multiaddr must end in /p2p/<id>", a)
		}
		if err := s.host.Connect(ctx, a); err != nil {
			s.out.note("cannot reach %s: %v", a, err)
			continue
		}
		ids = append(ids, a[i+len("/p2p/"):])
	}
	if len(ids) == 0 {
		return nil, errors.New("no peer answered")
	}
	return ids, nil
}

// follow syncs and tracks once, printing what was proven; it returns the events.
func (s *session) follow(ctx context.Context) []client.Event {
	if _, err := s.cl.Sync(ctx); err != nil && ctx.Err() == nil {
		s.out.note("follow finality: %v", err)
	}
	events, err := s.cl.Track(ctx)
	if err != nil && ctx.Err() == nil {
		s.out.note("track records: %v", err)
	}
	for _, ev := range events {
		s.out.event(ev)
	}
	return events
}

// waitFinal follows until record id is final or wait passes.
func (s *session) waitFinal(ctx context.Context, id chain.Hash, wait time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	tick := time.NewTicker(time.Duration(s.g.SlotDuration))
	defer tick.Stop()
	for {
		for _, ev := range s.follow(ctx) {
			if ev.Record.ID == id && ev.Kind == client.StatusFinal {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("record %s not final after %s; run `posnode client status` later", id.Short(), wait)
		case <-tick.C:
		}
	}
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

func (p *printer) note(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	p.emit(map[string]string{"note": msg}, "%s", msg)
}

func (p *printer) event(ev client.Event) {
	r := ev.Record
	obj := map[string]any{"event": ev.Kind, "id": r.ID, "kind": r.Kind, "value": r.Value, "nonce": r.Nonce, "height": r.Height}
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
