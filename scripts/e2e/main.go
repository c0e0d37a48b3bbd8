// Command e2e tests a running docker testnet end to end, black-box over its HTTP API, in the manner of CometBFT's
// e2e runner: it keeps submitting BPM records to every node, applies one fault at a time (kill and restart,
// pause, network partition of one node), checks that the other nodes keep making blocks and that the faulty
// node catches up, then runs the test adversary (scripts/adversary: sync lies, a mempool flood, forged blocks on
// old parents) against node1 and checks that the honest nodes still fill most slots, and at the end checks that
// all nodes hold the same chain with every accepted record on it exactly once. Throughout, it checks finality
// (finality.go): it advances while two thirds of the stake sign, and no finalized block is ever reverted. It
// prints a summary and exits 1 on any violation.
//
// scripts/e2e.sh starts a fresh testnet for it and always tears it down.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"
)

type config struct {
	name           string        // container prefix <name>-nodeI, network <name>-net
	apis           []string      // host:port of each node's API
	testnet        string        // the testnet directory: node I's API token is in <testnet>/nodeI/api-token
	hold           time.Duration // how long each fault lasts
	every          time.Duration // one submission per node per interval
	minAdvance     int64         // blocks each healthy node must add during a fault
	maxStall       time.Duration // longest a healthy node may go without a new block during a fault
	recoverTimeout time.Duration
	settleTimeout  time.Duration
	timeout        time.Duration   // the whole run
	drain          bool            // before a kill, wait until the node's records are committed elsewhere
	faults         map[string]bool // the perturbations to run, by name
	p2p            string          // host:port where node1's libp2p port is published, for the adversary
	adversary      string          // the scripts/adversary binary; empty skips the byzantine stage
	adversaryLog   string          // file for the adversary's log; empty discards it
	byzHold        time.Duration   // how long the adversary attacks
	minFill        float64         // share of the byzantine stage's slots the honest nodes must fill
	finWindow      uint64          // epochs within which finality must rise while ≥ 2/3 of the stake signs
	posnode        string          // the posnode binary for the client stage; empty skips it
}

type runner struct {
	cfg      config
	nodes    []*client
	load     *load
	finality *finalityWatch
	start    time.Time
}

func main() {
	var cfg config
	var apis, faults string
	flag.StringVar(&cfg.name, "name", "posnode-e2e", "compose name: containers <name>-nodeI, network <name>-net")
	flag.StringVar(&apis, "api", "127.0.0.1:18081,127.0.0.1:18082,127.0.0.1:18083,127.0.0.1:18084",
		"node APIs, comma-separated, node1 first")
	flag.StringVar(&cfg.testnet, "testnet", "testnet", "testnet directory (posnode testnet --dir), for the API tokens")
	flag.DurationVar(&cfg.hold, "hold", 30*time.Second, "duration of each fault")
	flag.DurationVar(&cfg.every, "every", 250*time.Millisecond, "interval between submissions to each node")
	flag.Int64Var(&cfg.minAdvance, "min-advance", 3, "blocks each healthy node must add during a fault")
	flag.DurationVar(&cfg.maxStall, "max-stall", 10*time.Second,
		"longest a healthy node may go without a new block during a fault")
	flag.DurationVar(&cfg.recoverTimeout, "recover-timeout", 90*time.Second, "time a faulty node gets to catch up")
	flag.DurationVar(&cfg.settleTimeout, "settle-timeout", 60*time.Second,
		"time the records get to be committed after the load stops")
	flag.BoolVar(&cfg.drain, "drain", true,
		"before killing a node, stop its load and wait until its records are committed elsewhere (a kill loses its mempool)")
	flag.StringVar(&faults, "faults", "kill+start,pause,disconnect", "faults to run, comma-separated; none: no fault")
	flag.StringVar(&cfg.p2p, "p2p", "127.0.0.1:14001", "where node1's libp2p port is published on this host")
	flag.StringVar(&cfg.adversary, "adversary", "", "scripts/adversary binary for the byzantine stage; empty skips it")
	flag.StringVar(&cfg.adversaryLog, "adversary-log", "", "file for the adversary's log; empty discards it")
	flag.DurationVar(&cfg.byzHold, "byz-hold", 60*time.Second, "duration of the byzantine stage")
	flag.Float64Var(&cfg.minFill, "min-fill", 0.9, "share of the byzantine stage's slots the honest nodes must fill")
	flag.Uint64Var(&cfg.finWindow, "finality-window", 2,
		"epochs within which the finalized epoch must rise while validators with ≥ 2/3 of the stake sign")
	flag.StringVar(&cfg.posnode, "posnode", "", "posnode binary for the client stage (README's client walk-through); empty skips it")
	flag.DurationVar(&cfg.timeout, "timeout", 11*time.Minute, "time limit of the whole run")
	flag.Parse()
	cfg.apis = strings.Split(apis, ",")
	cfg.faults = map[string]bool{}
	for _, f := range strings.Split(faults, ",") {
		cfg.faults[strings.TrimSpace(f)] = true
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, cfg.timeout)
	defer cancel()
	r, err := newRunner(cfg)
	if err == nil {
		err = r.run(ctx)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e: FAIL:", err)
		os.Exit(1)
	}
	fmt.Println("e2e: PASS")
}

func newRunner(cfg config) (*runner, error) {
	r := &runner{cfg: cfg, start: time.Now()}
	for i, a := range cfg.apis {
		name := fmt.Sprintf("node%d", i+1)
		token, err := os.ReadFile(filepath.Join(cfg.testnet, name, "api-token"))
		if err != nil {
			return nil, fmt.Errorf("api token of %s: %w", name, err)
		}
		r.nodes = append(r.nodes, newClient(name, strings.TrimSpace(a), strings.TrimSpace(string(token))))
	}
	r.load = newLoad(r.nodes, cfg.every)
	var err error
	if r.finality, err = newFinalityWatch(r.nodes, cfg.testnet, cfg.finWindow); err != nil {
		return nil, err
	}
	known := map[string]bool{"none": true}
	for _, p := range r.perturbations() {
		known[p.name] = true
	}
	for f := range cfg.faults {
		if !known[f] {
			return nil, fmt.Errorf("unknown fault %q", f)
		}
	}
	return r, nil
}

func (r *runner) logf(format string, args ...any) {
	fmt.Printf("[%6.1fs] %s\n", time.Since(r.start).Seconds(), fmt.Sprintf(format, args...))
}

// run is the whole test: warm up, load and faults, settle, verify, report.
func (r *runner) run(ctx context.Context) error {
	h0, _, err := r.converge(ctx, 3, 90*time.Second)
	if err != nil {
		return fmt.Errorf("warm-up: %w", err)
	}
	st0, err := r.nodes[0].status(ctx)
	if err != nil {
		return err
	}
	r.logf("testnet up: %d nodes agree at height %d", len(r.nodes), h0)
	var clientErr error
	if r.cfg.posnode != "" {
		if clientErr = r.clientStage(ctx); clientErr != nil {
			clientErr = fmt.Errorf("client stage: %w", clientErr)
		}
		r.logf("client: done, err=%v", clientErr)
	}
	r.logf("load starts")
	loadCtx, stopLoad := context.WithCancel(ctx)
	watchCtx, stopWatch := context.WithCancel(ctx)
	var wg, watch sync.WaitGroup
	wg.Go(func() { r.load.run(loadCtx) })
	watch.Go(func() { r.finality.run(watchCtx) })
	sleep(ctx, 5*time.Second)
	outcomes := r.faults(ctx)
	var byz byzOutcome
	if r.cfg.adversary != "" && ctx.Err() == nil {
		byz = r.byzantine(ctx)
		r.logf("byzantine: done, slots %d..%d, %d records accepted meanwhile, longest stall %.1fs, err=%v",
			byz.slot0, byz.slot1, len(byz.records), byz.stall.Seconds(), byz.err)
	}
	sleep(ctx, 5*time.Second)
	stopLoad()
	wg.Wait()
	recs, fails := r.load.snapshot()
	r.logf("load stopped: %d records accepted; waiting for them to be committed", len(recs))
	f, err := r.settle(ctx, recs)
	stopWatch()
	watch.Wait()
	if err != nil {
		return fmt.Errorf("settle: %w", err)
	}
	fin := r.finality.check(ctx)
	r.logf("finality: finalized epoch %d → %d, %d checkpoints checked, %d violations", fin.first, fin.last,
		fin.checkpoints, len(fin.errs))
	errs := r.verify(ctx, &f, recs)
	errs = append(errs, fin.errs...)
	if clientErr != nil {
		errs = append(errs, clientErr)
	}
	errs = append(errs, r.checkByzantine(ctx, &byz, f)...)
	if byz.err != nil {
		errs = append(errs, byz.err)
	}
	for _, o := range outcomes {
		if o.err != nil {
			errs = append(errs, o.err)
		}
	}
	f.reorgs = r.reorgCounts(ctx)
	r.report(ctx, st0, f, fin, outcomes, byz, recs, fails)
	if ctx.Err() != nil {
		errs = append(errs, fmt.Errorf("run: %w", ctx.Err()))
	}
	if len(errs) > 0 {
		fmt.Println("violations:")
		for _, e := range errs {
			fmt.Println("  -", e)
		}
		return fmt.Errorf("%w: %d", errViolations, len(errs))
	}
	return nil
}

// faults runs each perturbation in turn, each once every validator signs, with a few seconds of calm between them.
func (r *runner) faults(ctx context.Context) []outcome {
	var out []outcome
	for _, p := range r.perturbations() {
		if ctx.Err() != nil {
			break
		}
		if !r.cfg.faults[p.name] {
			continue
		}
		// One fault at a time: a restarted validator signs again only after its doppelganger wait, and a fault
		// during that wait would take more than a third of the stake away (nodes 1 and 2 hold 30 %).
		if err := r.allSigning(ctx, r.cfg.recoverTimeout); err != nil {
			out = append(out, outcome{p: p, err: fmt.Errorf("before %s: %w", p.name, err)})
			break
		}
		o := r.perturb(ctx, p)
		r.logf("%s %s: recovered in %.1fs at height %d, others advanced %s, err=%v", p.name,
			r.nodes[p.node].name, o.recovery.Seconds(), o.caughtUp, fmtAdvance(o.advance), o.err)
		out = append(out, o)
		sleep(ctx, 5*time.Second)
	}
	return out
}

func fmtAdvance(adv []int64) string {
	var parts []string
	for _, a := range adv {
		if a >= 0 {
			parts = append(parts, fmt.Sprintf("+%d", a))
		}
	}
	return strings.Join(parts, " ")
}
