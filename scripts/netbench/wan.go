package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"math"
	"os"
	"os/signal"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"time"
)

// wanOptions are the WAN testbed's flags (figure wan).
type wanOptions struct {
	posnode   string
	prefix    string
	scenarios string
	nodes     int
	nat       int
	window    time.Duration
	epoch     int
	startIn   time.Duration
	settle    time.Duration
	latency   time.Duration
	jitter    time.Duration
	lossPct   float64
	rateMbit  int
	cut       int
	cutFor    time.Duration
	relay     bool
	strict    bool
}

func wanFlags(o *wanOptions) {
	flag.StringVar(&o.prefix, "wan-prefix", "wan", "prefix of the namespaces and temporary directories of a WAN run; two runs at once need two prefixes")
	flag.StringVar(&o.scenarios, "wan-scenarios", "default@1s,default@2s,loss2@1s,partition@1s",
		"WAN runs, each scenario@slot: default (the link flags), loss2 (2 % loss), partition (-wan-cut nodes cut off for -wan-cut-for)")
	flag.IntVar(&o.nodes, "wan-nodes", 16, "nodes of each WAN run, each in its own network namespace")
	flag.IntVar(&o.nat, "wan-nat", 1, "the last this many nodes sit behind a masquerading NAT router (0 or 1)")
	flag.DurationVar(&o.window, "wan-time", 90*time.Second, "measured window of each WAN run, under load")
	flag.IntVar(&loadRate, "wan-rate", 20, "BPM records per second offered over all nodes during the window")
	flag.IntVar(&o.epoch, "wan-epoch", 8, "slots per epoch of the WAN testnet (finality needs whole epochs)")
	flag.DurationVar(&o.startIn, "wan-start-in", 8*time.Second, "genesis time after writing the testnet")
	flag.DurationVar(&o.settle, "wan-settle", 90*time.Second, "after the window, how long the nodes get to agree and commit everything")
	flag.DurationVar(&o.latency, "wan-latency", 50*time.Millisecond, "one-way latency of each node's link")
	flag.DurationVar(&o.jitter, "wan-jitter", 10*time.Millisecond, "the latency varies by up to this much")
	flag.Float64Var(&o.lossPct, "wan-loss", 0.5, "packets lost on each node's link, each direction, percent")
	flag.IntVar(&o.rateMbit, "wan-mbit", 20, "bandwidth cap of each node's link, each direction, Mbit/s")
	flag.IntVar(&o.cut, "wan-cut", 5, "nodes cut off in the partition scenario (nodes 2..cut+1)")
	flag.DurationVar(&o.cutFor, "wan-cut-for", 30*time.Second, "how long the partition lasts")
	flag.BoolVar(&o.relay, "wan-relay", false, "run node 1 with --relay-service (a posnode that has the flag)")
	flag.BoolVar(&o.strict, "wan-strict", true, "exit non-zero when a WAN run loses a record, commits one twice, leaves one in a mempool or ends forked")
}

// scenarios parses -wan-scenarios.
func (o wanOptions) scenarioList() ([]wanScenario, error) {
	base := linkSpec{latency: o.latency, jitter: o.jitter, lossBP: int(math.Round(o.lossPct * 100)), rateMbit: o.rateMbit}
	var out []wanScenario
	for _, f := range strings.Split(o.scenarios, ",") {
		name, slotStr, ok := strings.Cut(strings.TrimSpace(f), "@")
		if !ok {
			slotStr = "1s"
		}
		slot, err := time.ParseDuration(slotStr)
		if err != nil || slot <= 0 {
			return nil, fmt.Errorf("-wan-scenarios: %q: want scenario@slot", f)
		}
		sc := wanScenario{name: name, slot: slot, link: base}
		switch name {
		case "default":
		case "loss2":
			sc.link.lossBP = 200
		case "partition":
			if o.cut < 1 || o.cut >= o.nodes-1 {
				return nil, fmt.Errorf("-wan-cut: 1..%d nodes for %d nodes", o.nodes-2, o.nodes)
			}
			sc.cut, sc.cutFor = o.cut, o.cutFor
		default:
			return nil, fmt.Errorf("-wan-scenarios: unknown scenario %q (default, loss2, partition)", name)
		}
		out = append(out, sc)
	}
	return out, nil
}

// prefixRE is what a run's prefix may be: short enough for namespace names, and without "-" so that no prefix
// is the start of another's names.
var prefixRE = regexp.MustCompile(`^[a-zA-Z0-9]{1,8}$`)

// errWANViolations: a WAN run broke a rule (see wanResult.violations).
var errWANViolations = errors.New("WAN testbed: rules broken")

// wanFigure runs each scenario on a fresh testbed and prints one table. Ctrl-C or SIGTERM stops the run in
// progress and removes everything it made.
func wanFigure(w io.Writer, o wanOptions) error {
	if os.Geteuid() != 0 {
		return errors.New("the WAN testbed makes network namespaces: run it as root")
	}
	if o.nodes < 2 || o.nodes > 200 || o.nat < 0 || o.nat > 1 {
		return fmt.Errorf("want 2..200 nodes and -wan-nat 0 or 1")
	}
	if !prefixRE.MatchString(o.prefix) {
		return fmt.Errorf("-wan-prefix %q: want 1 to 8 letters and digits", o.prefix)
	}
	scs, err := o.scenarioList()
	if err != nil {
		return err
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	netem := hasNetem(o.prefix)
	load0 := loadAvg()
	var results []wanResult
	for _, sc := range scs {
		log.Printf("wan: %s, %d nodes, %s slots, %s, window %s", sc.name, o.nodes, sc.slot, sc.link, o.window)
		r, err := runWAN(ctx, o, sc, self, netem)
		if err != nil {
			return fmt.Errorf("%s@%s: %w", sc.name, sc.slot, err)
		}
		for _, v := range r.violations() {
			log.Printf("wan: %s@%s: %s", sc.name, sc.slot, v)
		}
		results = append(results, r)
	}
	wanTable(w, o, results, netem, load0)
	if o.strict && slices.ContainsFunc(results, func(r wanResult) bool { return len(r.violations()) > 0 }) {
		return errWANViolations
	}
	return nil
}
