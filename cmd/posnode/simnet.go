package main

import (
	"flag"
	"fmt"
	"os"
	"runtime"
	"runtime/pprof"
	"strings"
	"syscall"
	"time"

	"go.uber.org/zap"

	"github.com/posnode/posnode/sim/simnet"
)

func cmdSimNet(args []string) error {
	fs := flag.NewFlagSet("sim net", flag.ContinueOnError)
	var c simnet.Config
	seeds := fs.Int("seeds", 1, "how many seeds to run, from --seed on")
	twice := fs.Bool("twice", false, "run each seed twice, the second time unshared, and fail when the two traces differ (the determinism check)")
	verbose := fs.Bool("verbose", false, "the nodes' logs on stderr")
	markdown := fs.String("markdown", "", "print the runs as the Markdown table NAME of BENCHMARKS.md, between its markers")
	cpuprofile := fs.String("cpuprofile", "", "write a CPU profile of the runs to this file (go tool pprof)")
	memprofile := fs.String("memprofile", "", "write a heap profile of the last run to this file at its end, every process still up (go tool pprof)")
	dir := fs.String("dir", "", "where the processes' data directories go (default: a new directory in /dev/shm, else the temporary directory)")
	fs.Uint64Var(&c.Seed, "seed", 1, "the run's seed: the same flags and seed replay the same run")
	fs.IntVar(&c.Nodes, "nodes", 16, "processes")
	fs.IntVar(&c.Validators, "validators", 0, "processes that hold stake (default: all)")
	stakes := fs.String("stakes", "", "genesis stakes of validators 0, 1, …: a list (10,20,40, repeated when shorter), geometric:N or zipf:N (default: 1000 each)")
	fs.DurationVar(&c.StakeEvery, "stake-every", 0, "how often a random validator stakes or unstakes some tokens (0: never)")
	fairness := fs.Bool("fairness", false, "print each validator's share of the lottery and of the blocks, and at the end the χ² tests of every seed together")
	fs.IntVar(&c.Degree, "degree", 8, "links each process opens at start")
	fs.IntVar(&c.Mesh, "mesh", 0, "gossip goes out on this many of a process's live links, gossipsub's D (0: all)")
	fs.DurationVar(&c.Slot, "slot", time.Second, "slot duration")
	fs.Uint64Var(&c.Epoch, "epoch", 8, "slots per epoch")
	fs.DurationVar(&c.Duration, "duration", 2*time.Minute, "simulated time with faults and clients")
	fs.DurationVar(&c.Heal, "heal", 0, "simulated time after every fault healed (default: 8 epochs)")
	fs.DurationVar(&c.Latency, "latency", 50*time.Millisecond, "one-way link latency")
	fs.DurationVar(&c.Jitter, "jitter", 20*time.Millisecond, "± uniform jitter of the latency")
	fs.IntVar(&c.LossPermille, "loss", 5, "messages lost per thousand")
	fs.IntVar(&c.DupPermille, "dup", 5, "gossip messages delivered twice per thousand")
	fs.Int64Var(&c.Bandwidth, "bandwidth", 0, "bytes per second per link (0: unlimited)")
	fs.DurationVar(&c.Faults.CrashEvery, "crash-every", 20*time.Second, "mean time between crashes (0: none)")
	fs.BoolVar(&c.Bolt, "bolt", false, "keep each process's chain.db in a bbolt file instead of in memory")
	fs.BoolVar(&c.Unshared, "unshared", false, "every process derives its own stake tables, states and encodings, as separate OS processes would (slower)")
	fs.BoolVar(&c.Faults.LoseChainDB, "lose-chaindb", true, "a quarter of the restarts come without chain.db")
	fs.DurationVar(&c.Faults.PartitionEvery, "partition-every", 45*time.Second, "mean time between partitions (0: none)")
	fs.DurationVar(&c.Faults.ClockSkew, "clock-skew", 300*time.Millisecond, "each clock off by up to ± this")
	fs.DurationVar(&c.Faults.DiskFullEvery, "disk-full-every", 0, "mean time between a process's disk refusing writes (ENOSPC) for 5–30 s; chain.db in memory and pending.txs (0: never)")
	fs.DurationVar(&c.Faults.DiskFailEvery, "disk-fail-every", 0, "mean time between a process's disk failing writes and fsyncs (EIO) for 5–30 s (0: never)")
	fs.Int64Var(&c.Faults.ClockDriftPPM, "clock-drift-ppm", 0, "each clock runs fast or slow by up to this many parts per million (0: none)")
	fs.DurationVar(&c.Faults.ClockJumpEvery, "clock-jump-every", 0, "mean time between a process's clock jumping forward or back (0: never)")
	fs.DurationVar(&c.Faults.ClockJump, "clock-jump", 5*time.Second, "the most a clock jumps, either way")
	fs.DurationVar(&c.RecordEvery, "record-every", 250*time.Millisecond, "how often a client submits a record (0: none)")
	fs.DurationVar(&c.GapFloodEvery, "gap-flood-every", 0, "how often a client sends a batch of nonce-gapped transactions (0: none)")
	fs.Float64Var(&c.Byzantine, "byzantine", 0, "share of the validators that are byzantine (at least one when above 0)")
	strategy := fs.String("strategy", "", "the byzantine validators' strategies, comma-separated: "+simnet.StrategyNames)
	fs.IntVar(&c.PendingSlack, "pending-slack", 0, "final entries the pending-transaction log drops at once (0: the node's default)")
	fs.Uint64Var(&c.DoppelgangerSlots, "doppelganger-slots", 0, "slots each node watches for its own key's blocks after a start before it signs")
	stopFirst := fs.Bool("stop-at-first-violation", false, "stop the sweep at the first seed that violates an invariant")
	fs.Usage = usage(fs, "sim net [flags]", "Runs a whole posnode network — the node's own code, N processes in one — under virtual time,\n"+
		"a seeded network and seeded faults, then checks the invariants (safety, finality lag, every acknowledged\n"+
		"record committed once, no honest validator slashed, fair shares). One line per seed; a violation prints\n"+
		"what broke and the command that replays it, and the exit status is 1.")
	if _, err := parse(fs, args); err != nil {
		return err
	}
	var err error
	if c.Strategies, err = simnet.ParseStrategies(*strategy); err != nil {
		return err
	}
	if c.Stakes, err = simnet.ParseStakes(*stakes); err != nil {
		return err
	}
	if *verbose {
		log, err := zap.NewDevelopment()
		if err != nil {
			return err
		}
		c.Logger = log
	}
	replay := replayFlags(fs)
	if *memprofile != "" {
		c.AtEnd = func() { writeHeapProfile(*memprofile) }
	}
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	failed, ran := 0, 0
	var pool simnet.FairnessPool
	if *fairness {
		defer func() { fmt.Print(pool.Report()) }()
	}
	first := c.Seed
	if *markdown != "" {
		fmt.Printf("<!-- BEGIN %s -->\n", *markdown)
		fmt.Println(simTableHead)
		defer fmt.Printf("<!-- END %s -->\n", *markdown)
	}
	for s := first; s < first+uint64(max(*seeds, 1)); s++ {
		c.Seed = s
		ran++
		r, took, err := runSim(c, *dir)
		if err != nil {
			return err
		}
		if *twice {
			again := c
			again.Unshared = true
			r2, _, err := runSim(again, *dir)
			if err != nil {
				return err
			}
			if r2.Trace != r.Trace {
				r.Violations = append(r.Violations, fmt.Sprintf("determinism: trace %x, then %x with nothing shared between the processes (--unshared)", r.Trace[:8], r2.Trace[:8]))
			}
		}
		pool.Add(r)
		if *markdown != "" {
			printSimRow(c, r, took)
		} else {
			printSimLine(c, r, took)
		}
		if *fairness {
			printShares(r)
		}
		if len(r.Violations) > 0 {
			failed++
			for _, v := range r.Violations {
				fmt.Printf("  violated: %s\n", v)
			}
			fmt.Printf("  replay: posnode sim net --seed %d%s\n", s, replay)
			if *stopFirst {
				break
			}
		}
	}
	if failed > 0 {
		return fmt.Errorf("%d of %d seeds run violated an invariant", failed, ran)
	}
	return nil
}

// writeHeapProfile writes a heap profile to path, after a garbage collection so that it shows what is live; a
// failure is printed, not returned: the run goes on.
func writeHeapProfile(path string) {
	f, err := os.Create(path)
	if err == nil {
		runtime.GC()
		err = pprof.WriteHeapProfile(f)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "heap profile: %v\n", err)
	}
}

// cost is what a run took: wall-clock time and the CPU time of the whole process (user and system, every thread:
// the garbage collector's too).
type cost struct{ wall, cpu time.Duration }

// cpuTime returns the CPU time the process has used so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// rate is the run's simulated node-seconds per CPU-second.
func (t cost) rate(c simnet.Config, r simnet.Result) float64 {
	simulated := time.Duration(r.Stats.Slots) * c.Slot
	return simulated.Seconds() * float64(c.Nodes) / t.cpu.Seconds()
}

// runSim runs one seed in a data directory of its own, removed afterwards.
func runSim(c simnet.Config, parent string) (simnet.Result, cost, error) {
	if parent == "" {
		if st, err := os.Stat("/dev/shm"); err == nil && st.IsDir() {
			parent = "/dev/shm"
		}
	}
	d, err := os.MkdirTemp(parent, "posnode-simnet-")
	if err != nil {
		return simnet.Result{}, cost{}, err
	}
	defer os.RemoveAll(d)
	c.Dir = d
	s, err := simnet.New(c)
	if err != nil {
		return simnet.Result{}, cost{}, err
	}
	start, cpu := time.Now(), cpuTime()
	r, err := s.Run()
	return r, cost{time.Since(start), cpuTime() - cpu}, err
}

func printSimLine(c simnet.Config, r simnet.Result, took cost) {
	st := r.Stats
	simulated := time.Duration(st.Slots) * c.Slot
	fmt.Printf("seed %d: trace %x, %d events, height %d, finalized epoch %d (max lag %d), records %d acked of %d, "+
		"%d crashes, %d partitions; %v simulated in %v CPU, %v wall (%.0f node-s per CPU-s)\n",
		r.Seed, r.Trace[:8], r.Events, st.Height, st.FinalizedEpoch, st.MaxFinalityLag, st.Acked,
		st.Records, st.Crashes, st.Partitions, simulated, took.cpu.Round(time.Millisecond), took.wall.Round(time.Millisecond),
		took.rate(c, r))
	fmt.Printf("  slot fill %.1f%% (%d of %d slots), %d reorgs (deepest %d), finality lag %d epochs median, %d most; "+
		"propagation p50 %v, p99 %v, max %v (%d arrivals)\n", 100*st.SlotFill, st.Blocks, st.Slots, st.Reorgs,
		st.ReorgDepth, st.FinalityLagP50, st.MaxFinalityLag, ms(st.PropagationP50), ms(st.PropagationP99),
		ms(st.PropagationMax), st.Propagated)
	if c.Byzantine > 0 || c.GapFloodEvery > 0 {
		fmt.Printf("  adversary: %d offences released, %d byzantine validators slashed, %d canonical blocks theirs, "+
			"%d gap transactions sent\n", st.Equivocations, st.Punished, st.AdversaryBlocks, st.GapTxs)
	}
	if st.SplitCheckpoints > 0 {
		fmt.Printf("  release: %d checkpoints, voted on while the network was whole, whose honest votes a private "+
			"branch split (each lets the finality lag grow by up to 2 epochs)\n", st.SplitCheckpoints)
	}
	if st.Witnesses > 0 {
		fmt.Printf("  long range: %d honest processes restarted with a trusted checkpoint, %d answers served them "+
			"the rebuilt chain\n", st.Witnesses, st.RebuiltServed)
	}
}

// printShares prints each validator's share of a run (simnet.ShareCount).
func printShares(r simnet.Result) {
	for i, c := range r.Stats.Shares {
		fmt.Printf("  validator %d (stake %d): won %d of the slots, expected %.1f; %d canonical blocks, expected %.1f "+
			"over the slots it could propose in (canonical blocks × genesis share: %.1f)\n", i, c.Stake, c.Won,
			c.WonMean, c.Blocks, c.BlockMean, c.NaiveMean)
	}
}

// simTableHead is the header of the --markdown table.
const simTableHead = "| seed | processes / validators | links | latency, loss | simulated | CPU time | node-s per CPU-s | " +
	"events | slot fill | reorgs (deepest) | finality lag, median / max | propagation p50 / p99 | records acked / lost |\n" +
	"|---|---|---|---|---|---|---|---|---|---|---|---|---|"

func printSimRow(c simnet.Config, r simnet.Result, took cost) {
	st, validators := r.Stats, c.Validators
	if validators == 0 {
		validators = c.Nodes
	}
	links := fmt.Sprintf("%d out, all flood", c.Degree)
	if c.Mesh > 0 {
		links = fmt.Sprintf("%d out, mesh %d", c.Degree, c.Mesh)
	}
	fmt.Printf("| %d | %d / %d | %s | %v ± %v, %.1f %% | %v | %v | %.0f | %d | %.1f %% | %d (%d) | %d / %d epochs | %v / %v | %d / %d |\n",
		r.Seed, c.Nodes, validators, links, c.Latency, c.Jitter, float64(c.LossPermille)/10,
		time.Duration(st.Slots)*c.Slot, took.cpu.Round(100*time.Millisecond), took.rate(c, r), r.Events,
		100*st.SlotFill, st.Reorgs, st.ReorgDepth, st.FinalityLagP50, st.MaxFinalityLag, ms(st.PropagationP50),
		ms(st.PropagationP99), st.Acked, st.Lost)
}

// ms rounds a duration to the millisecond.
func ms(d time.Duration) time.Duration { return d.Round(time.Millisecond) }

// replayFlags lists the flags set on the command line other than --seed, --seeds and --twice, to replay a seed.
func replayFlags(fs *flag.FlagSet) string {
	var b strings.Builder
	fs.Visit(func(f *flag.Flag) {
		if f.Name != "seed" && f.Name != "seeds" && f.Name != "twice" && f.Name != "cpuprofile" && f.Name != "markdown" {
			fmt.Fprintf(&b, " --%s=%s", f.Name, f.Value)
		}
	})
	return b.String()
}
