// Command adversary runs the test adversary (internal/adversary) against a running posnode network for a fixed
// time and prints what each attack did: it lies in sync, floods the mempool with records that can never apply,
// sends forged blocks on old parents and, given a validator's key file, signs two blocks for each slot that key
// wins. It is the byzantine stage of an end-to-end test; the honest nodes' progress is checked by the caller over
// their HTTP APIs. Only loopback or private test networks should be its target.
//
//	go run ./scripts/adversary --genesis testnet/genesis.json --bootstrap /ip4/127.0.0.1/tcp/4001/p2p/12D3… \
//	    --duration 60s --equivocate-key testnet/node1/node.key
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"

	"go.uber.org/zap"

	"github.com/posnode/posnode/chain"
	"github.com/posnode/posnode/internal/adversary"
	"github.com/posnode/posnode/node"
)

type config struct {
	genesis      string
	bootstrap    []string
	attacks      map[string]bool
	duration     time.Duration
	floodKeys    int
	floodNonces  int
	floodRate    int
	claimAhead   uint64
	oldHeight    uint64
	equivKeyFile string
}

func main() {
	cfg, err := parseFlags()
	if err != nil {
		fmt.Fprintln(os.Stderr, "adversary:", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, cfg); err != nil {
		fmt.Fprintln(os.Stderr, "adversary:", err)
		os.Exit(1)
	}
}

func parseFlags() (config, error) {
	var cfg config
	var boot, attacks string
	flag.StringVar(&cfg.genesis, "genesis", "", "genesis file of the network")
	flag.StringVar(&boot, "bootstrap", "", "nodes to attack: multiaddrs with /p2p/<id>, comma-separated")
	flag.StringVar(&attacks, "attacks", "sync-liar,flood,old-parent,equivocate", "attacks to run, comma-separated")
	flag.DurationVar(&cfg.duration, "duration", 60*time.Second, "how long the attacks run")
	flag.IntVar(&cfg.floodKeys, "flood-keys", 6, "fresh keys without an account that flood the mempool")
	flag.IntVar(&cfg.floodNonces, "flood-nonces", 9_999, "records per flooding key (nonces 1..N)")
	flag.IntVar(&cfg.floodRate, "flood-rate", 2_000, "flood records per second")
	flag.Uint64Var(&cfg.claimAhead, "claim-ahead", 5, "heights the sync liar claims above the real head")
	flag.Uint64Var(&cfg.oldHeight, "old-height", 1, "height of the parent of the forged blocks")
	flag.StringVar(&cfg.equivKeyFile, "equivocate-key", "", "a validator's key file, for the equivocate attack")
	flag.Parse()
	cfg.bootstrap = split(boot)
	cfg.attacks = map[string]bool{}
	for _, a := range split(attacks) {
		switch a {
		case "sync-liar", "flood", "old-parent", "equivocate":
			cfg.attacks[a] = true
		default:
			return cfg, fmt.Errorf("unknown attack %q", a)
		}
	}
	switch {
	case cfg.genesis == "":
		return cfg, fmt.Errorf("--genesis is required")
	case len(cfg.bootstrap) == 0:
		return cfg, fmt.Errorf("--bootstrap is required")
	case cfg.attacks["equivocate"] && cfg.equivKeyFile == "":
		delete(cfg.attacks, "equivocate")
		fmt.Fprintln(os.Stderr, "adversary: no --equivocate-key: skipping the equivocate attack")
	}
	return cfg, nil
}

func split(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

// counters gathers what every attack reports.
type counters struct {
	liar  adversary.LiarStats
	flood adversary.FloodStats
	old   adversary.BlockStats
	equiv adversary.BlockStats
}

func run(ctx context.Context, cfg config) error {
	g, err := chain.LoadGenesis(cfg.genesis)
	if err != nil {
		return err
	}
	log, err := zap.NewDevelopment()
	if err != nil {
		return err
	}
	defer log.Sync()
	ctx, cancel := context.WithTimeout(ctx, cfg.duration)
	defer cancel()
	var c counters
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for _, a := range []func() error{
		func() error { return attack(ctx, cfg, g, log, "sync-liar", c.syncLiar(cfg)) },
		func() error { return attack(ctx, cfg, g, log, "flood", c.floodAttack(cfg)) },
		func() error { return attack(ctx, cfg, g, log, "old-parent", c.oldParent(cfg)) },
		func() error { return attack(ctx, cfg, g, log, "equivocate", c.equivocate(cfg)) },
	} {
		wg.Go(func() { errs <- a() })
	}
	wg.Wait()
	close(errs)
	fmt.Printf("adversary ran %s: sync liar answered %d status and %d range requests; flood sent %d records; "+
		"%d forged blocks on old parents; %d equivocating blocks\n", cfg.duration, c.liar.StatusServed.Load(),
		c.liar.RangesServed.Load(), c.flood.Sent.Load(), c.old.Sent.Load(), c.equiv.Sent.Load())
	for err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// attack runs one attack, if it was asked for, from a peer of its own, until ctx ends.
func attack(ctx context.Context, cfg config, g *chain.Genesis, log *zap.Logger, name string,
	play func(context.Context, *adversary.Peer) error) error {
	if !cfg.attacks[name] {
		return nil
	}
	p, err := adversary.New(ctx, adversary.Config{Genesis: g, Bootstrap: cfg.bootstrap, Logger: log.Named(name)})
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	defer p.Close()
	if err := p.WaitForTopics(ctx); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	if err := play(ctx, p); err != nil && ctx.Err() == nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	return nil
}

func (c *counters) syncLiar(cfg config) func(context.Context, *adversary.Peer) error {
	return func(ctx context.Context, p *adversary.Peer) error {
		return p.LieInSync(ctx, chain.Height(cfg.claimAhead), &c.liar)
	}
}

func (c *counters) floodAttack(cfg config) func(context.Context, *adversary.Peer) error {
	return func(ctx context.Context, p *adversary.Peer) error {
		low := p.TxWithFee(adversary.NewKey(), 0, 0)
		if err := p.PublishTx(ctx, low); err != nil {
			return err
		}
		return p.Flood(ctx, cfg.floodKeys, cfg.floodNonces, cfg.floodRate, &c.flood)
	}
}

// oldParent sends five forged blocks on the old parent every second, until ctx ends or every node has banned it.
func (c *counters) oldParent(cfg config) func(context.Context, *adversary.Peer) error {
	return func(ctx context.Context, p *adversary.Peer) error {
		tick := time.NewTicker(time.Second)
		defer tick.Stop()
		for {
			_, err := p.OldParentBlocks(ctx, chain.Height(cfg.oldHeight), 5, &c.old)
			if err != nil && p.Connected() == 0 {
				fmt.Fprintln(os.Stderr, "adversary: old-parent: every node has banned the forger")
				return nil
			}
			if err != nil && ctx.Err() == nil {
				return err
			}
			select {
			case <-ctx.Done():
				return nil
			case <-tick.C:
			}
		}
	}
}

func (c *counters) equivocate(cfg config) func(context.Context, *adversary.Peer) error {
	return func(ctx context.Context, p *adversary.Peer) error {
		key, err := node.LoadKey(cfg.equivKeyFile)
		if err != nil {
			return err
		}
		return p.Equivocate(ctx, key, &c.equiv)
	}
}
