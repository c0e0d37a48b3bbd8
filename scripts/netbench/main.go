// Command netbench measures posnode's network figures — slot fill, block propagation, throughput, sync, resources,
// scale and finality — on this machine, with nodes in this process (or, for resources, `posnode run` processes) on
// 127.0.0.1 only, and prints each figure as a markdown table between marker comments:
//
//	<!-- BEGIN name -->
//	...
//	<!-- END name -->
//
// scripts/bench.sh splices those sections into BENCHMARKS.md. Every wait is bounded in count and time.
package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"log"
	"os"
	"runtime"
	"runtime/pprof"
	"runtime/trace"
	"strconv"
	"strings"
	"time"

	"go.uber.org/zap/zapcore"
)

func main() {
	log.SetFlags(log.Ltime)
	log.SetPrefix("netbench: ")
	if len(os.Args) > 1 && os.Args[1] == proxyCommand {
		if err := proxyMain(os.Args[2:]); err != nil {
			log.Fatal(err)
		}
		return
	}
	if err := run(); err != nil {
		log.Fatal(err)
	}
}

type options struct {
	figures    string
	benchInput string
	fillNodes  []int
	fillSlots  []time.Duration
	propNodes  []int
	scaleNodes []int
	minSlots   int
	minTime    time.Duration
	tputRates  []int
	tputTime   time.Duration
	tputRuns   int
	tputSlot   time.Duration
	syncBlocks int
	syncTxs    int
	syncRuns   int
	posnode    string
	resIdle    time.Duration
	resPage    time.Duration
	resLoad    time.Duration
	resRates   []int
	cpuProfile string
	fin        finSpec
	wan        wanOptions
	trace      string
}

func parseFlags() (options, error) {
	var o options
	var fillNodes, fillSlots, propNodes, scaleNodes, tputRates, resRates, finNodes string
	flag.StringVar(&o.figures, "figures", "machine,tput,fill,prop,scale,sync,res",
		"comma-separated figures: machine, lottery, insert, vrf, fill, prop, scale, tput, sync, res, fin, wan (as root)")
	flag.StringVar(&o.benchInput, "bench-input", "", "`go test -bench` output to summarise (figures lottery, insert, vrf and fin)")
	flag.StringVar(&finNodes, "fin-nodes", "4,16", "cluster sizes of the finality figure")
	flag.DurationVar(&o.fin.slot, "fin-slot", 500*time.Millisecond, "slot duration of the finality figure")
	flag.Uint64Var(&o.fin.epoch, "fin-epoch", 8, "slots per epoch of the finality figure")
	flag.IntVar(&o.fin.epochs, "fin-epochs", 10, "checkpoints measured per cluster by the finality figure")
	flag.StringVar(&fillNodes, "fill-nodes", "4,16", "cluster sizes of the slot-fill figure")
	flag.StringVar(&fillSlots, "fill-slots", "1s,500ms,250ms,200ms", "slot durations of the slot-fill figure")
	flag.StringVar(&propNodes, "prop-nodes", "4,16,64", "cluster sizes of the propagation figure (1 s slots)")
	flag.StringVar(&scaleNodes, "scale-nodes", "16,64,128,192,256", "cluster sizes tried, in order, by the scale figure (1 s slots)")
	flag.IntVar(&o.minSlots, "window-slots", 30, "a cluster run measures at least this many slots")
	flag.DurationVar(&o.minTime, "window-time", 15*time.Second, "and at least this long")
	flag.StringVar(&tputRates, "tput-rates", "5000,5500", "offered loads of the throughput figure, records/s (at exactly 5,000 offered, the sustained rate can only land on either side of the goal)")
	flag.DurationVar(&o.tputTime, "tput-time", 60*time.Second, "how long each offered load lasts")
	flag.IntVar(&o.tputRuns, "tput-runs", 3, "runs of each offered load (median reported)")
	flag.DurationVar(&o.tputSlot, "tput-slot", 500*time.Millisecond, "slot duration of the throughput testnet (500 ms: the chain's capacity is then twice the 5,000 records/s goal)")
	flag.IntVar(&o.syncBlocks, "sync-blocks", 10000, "length of the chain the joining node syncs")
	flag.IntVar(&o.syncTxs, "sync-txs", 0, "BPM records in each block of that chain")
	flag.IntVar(&o.syncRuns, "sync-runs", 3, "joining nodes, one after the other (median reported)")
	flag.StringVar(&o.posnode, "posnode", "build/posnode", "posnode binary for the resources figure")
	flag.DurationVar(&o.resIdle, "res-idle", 30*time.Second, "how long the idle node is measured")
	flag.DurationVar(&o.resPage, "res-page", 30*time.Second, "how long the idle testnet is measured with an explorer page open on node 1, and again after it closes (0: not)")
	flag.DurationVar(&o.resLoad, "res-load", 20*time.Second, "how long the loaded node is measured")
	flag.StringVar(&resRates, "res-rates", "1000,5000", "records/s offered, one after the other, to the 4-node testnet of the resources figure")
	flag.StringVar(&o.cpuProfile, "cpuprofile", "", "write a CPU profile of the whole run to this file")
	wanFlags(&o.wan)
	flag.StringVar(&o.trace, "trace", "", "write an execution trace of the whole run to this file (go tool trace; -pprof=syscall shows where the nodes wait for the disk)")
	logLevel := flag.String("node-log", "", "log level of the in-process nodes on stderr (debug, info, warn); none by default")
	flag.Parse()
	if *logLevel != "" {
		l, err := zapcore.ParseLevel(*logLevel)
		if err != nil {
			return o, fmt.Errorf("-node-log: %w", err)
		}
		nodeLogLevel = &l
	}
	o.wan.posnode = o.posnode
	var err error
	for _, p := range []struct {
		dst *[]int
		s   string
	}{{&o.fillNodes, fillNodes}, {&o.propNodes, propNodes}, {&o.scaleNodes, scaleNodes}, {&o.tputRates, tputRates}, {&o.resRates, resRates}, {&o.fin.nodes, finNodes}} {
		if *p.dst, err = ints(p.s); err != nil {
			return o, err
		}
	}
	o.fillSlots, err = durations(fillSlots)
	return o, err
}

func run() error {
	o, err := parseFlags()
	if err != nil {
		return err
	}
	if o.cpuProfile != "" {
		f, err := os.Create(o.cpuProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	if o.trace != "" {
		f, err := os.Create(o.trace)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := trace.Start(f); err != nil {
			return err
		}
		defer trace.Stop()
	}
	rs := &runs{minSlots: o.minSlots, minTime: o.minTime, done: map[runSpec]runResult{}}
	for _, fig := range strings.Split(o.figures, ",") {
		var buf bytes.Buffer
		start := time.Now()
		switch fig {
		case "machine":
			machineFigure(&buf)
		case "lottery":
			err = lotteryFigure(&buf, o.benchInput)
		case "insert":
			err = insertFigure(&buf, o.benchInput)
		case "vrf":
			err = vrfFigure(&buf, o.benchInput)
		case "fill":
			fillFigure(&buf, rs, o.fillNodes, o.fillSlots)
		case "prop":
			propFigure(&buf, rs, o.propNodes, time.Second)
		case "scale":
			scaleFigure(&buf, rs, o.scaleNodes, time.Second)
		case "tput":
			err = tputFigure(&buf, o.tputRates, o.tputRuns, o.tputTime, o.tputSlot)
		case "sync":
			err = syncFigure(&buf, o.syncBlocks, o.syncTxs, o.syncRuns)
		case "res":
			err = resFigure(&buf, o.posnode, o.resIdle, o.resPage, o.resLoad, o.resRates)
		case "fin":
			err = finFigure(&buf, o.fin, o.benchInput)
		case "wan":
			err = wanFigure(&buf, o.wan)
		default:
			return fmt.Errorf("unknown figure %q", fig)
		}
		if err != nil && !errors.Is(err, errWANViolations) {
			return fmt.Errorf("figure %s: %w", fig, err)
		}
		log.Printf("figure %s took %s; %d goroutines left", fig, time.Since(start).Round(time.Second), runtime.NumGoroutine())
		fmt.Printf("<!-- BEGIN %s -->\n%s<!-- END %s -->\n", fig, buf.String(), fig)
		if err != nil {
			return err
		}
	}
	return nil
}

func ints(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		v, err := strconv.Atoi(f)
		if err != nil {
			return nil, fmt.Errorf("%q: %w", s, err)
		}
		out = append(out, v)
	}
	return out, nil
}

func durations(s string) ([]time.Duration, error) {
	var out []time.Duration
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		v, err := time.ParseDuration(f)
		if err != nil {
			return nil, fmt.Errorf("%q: %w", s, err)
		}
		out = append(out, v)
	}
	return out, nil
}
