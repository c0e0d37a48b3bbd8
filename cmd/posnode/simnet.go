package main

import (
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/posnode/posnode/sim/simnet"
)

func cmdSimNet(args []string) error {
	fs := flag.NewFlagSet("sim net", flag.ContinueOnError)
	var c simnet.Config
	seeds := fs.Int("seeds", 1, "how many seeds to run, from --seed on")
	twice := fs.Bool("twice", false, "run each seed twice and fail when the two traces differ (the determinism check)")
	verbose := fs.Bool("verbose", false, "the nodes' logs on stderr")
	markdown := fs.String("markdown", "", "print the runs as the Markdown table NAME of BENCHMARKS.md, between its markers")
	dir := fs.String("dir", "", "where the processes' data directories go (default: a new directory in /dev/shm, else the temporary directory)")
	fs.Uint64Var(&c.Seed, "seed", 1, "the run's seed: the same flags and seed replay the same run")
	fs.IntVar(&c.Nodes, "nodes", 16, "processes")
	fs.IntVar(&c.Validators, "validators", 0, "processes that hold stake, equal shares (default: all)")
	fs.IntVar(&c.Degree, "degree", 8, "links each process opens at start")
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
	fs.BoolVar(&c.Faults.LoseChainDB, "lose-chaindb", true, "a quarter of the restarts come without chain.db")
	fs.DurationVar(&c.Faults.PartitionEvery, "partition-every", 45*time.Second, "mean time between partitions (0: none)")
	fs.DurationVar(&c.Faults.ClockSkew, "clock-skew", 300*time.Millisecond, "each clock off by up to ± this")
	fs.DurationVar(&c.RecordEvery, "record-every", 250*time.Millisecond, "how often a client submits a record (0: none)")
	fs.DurationVar(&c.GapFloodEvery, "gap-flood-every", 0, "how often a client sends a batch of nonce-gapped transactions (0: none)")
	fs.Float64Var(&c.Byzantine, "byzantine", 0, "share of the validators that are byzantine (at least one when above 0)")
	strategy := fs.String("strategy", "", "the byzantine validators' strategies, comma-separated: equivocate, withhold, splitvote, grind")
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
	if *verbose {
		log, err := zap.NewDevelopment()
		if err != nil {
			return err
		}
		c.Logger = log
	}
	replay := replayFlags(fs)
	failed, ran := 0, 0
	first := c.Seed
	if *markdown != "" {
		fmt.Printf("<!-- BEGIN %s -->\n", *markdown)
		fmt.Println("| seed | processes | validators | simulated | CPU time | node-s per CPU-s | events | canonical blocks / slots | finalized epoch (max lag) | records acked / lost |")
		fmt.Println("|---|---|---|---|---|---|---|---|---|---|")
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
			r2, _, err := runSim(c, *dir)
			if err != nil {
				return err
			}
			if r2.Trace != r.Trace {
				r.Violations = append(r.Violations, fmt.Sprintf("determinism: trace %x then %x", r.Trace[:8], r2.Trace[:8]))
			}
		}
		if *markdown != "" {
			printSimRow(c, r, took)
		} else {
			printSimLine(c, r, took)
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

// runSim runs one seed in a data directory of its own, removed afterwards.
func runSim(c simnet.Config, parent string) (simnet.Result, time.Duration, error) {
	if parent == "" {
		if st, err := os.Stat("/dev/shm"); err == nil && st.IsDir() {
			parent = "/dev/shm"
		}
	}
	d, err := os.MkdirTemp(parent, "posnode-simnet-")
	if err != nil {
		return simnet.Result{}, 0, err
	}
	defer os.RemoveAll(d)
	c.Dir = d
	s, err := simnet.New(c)
	if err != nil {
		return simnet.Result{}, 0, err
	}
	start := time.Now()
	r, err := s.Run()
	return r, time.Since(start), err
}

func printSimLine(c simnet.Config, r simnet.Result, took time.Duration) {
	simulated := time.Duration(r.Stats.Slots) * c.Slot
	rate := simulated.Seconds() * float64(c.Nodes) / took.Seconds()
	fmt.Printf("seed %d: trace %x, %d events, height %d, finalized epoch %d (max lag %d), records %d acked of %d, "+
		"%d crashes, %d partitions; %v simulated in %v (%.0f node-s per s)\n",
		r.Seed, r.Trace[:8], r.Events, r.Stats.Height, r.Stats.FinalizedEpoch, r.Stats.MaxFinalityLag, r.Stats.Acked,
		r.Stats.Records, r.Stats.Crashes, r.Stats.Partitions, simulated, took.Round(time.Millisecond), rate)
	if c.Byzantine > 0 || c.GapFloodEvery > 0 {
		fmt.Printf("  adversary: %d offences released, %d byzantine validators slashed, %d canonical blocks theirs, "+
			"%d gap transactions sent\n", r.Stats.Equivocations, r.Stats.Punished, r.Stats.AdversaryBlocks, r.Stats.GapTxs)
	}
}

func printSimRow(c simnet.Config, r simnet.Result, took time.Duration) {
	simulated, validators := time.Duration(r.Stats.Slots)*c.Slot, c.Validators
	if validators == 0 {
		validators = c.Nodes
	}
	fmt.Printf("| %d | %d | %d | %v | %v | %.0f | %d | %d / %d | %d (%d) | %d / %d |\n", r.Seed, c.Nodes, validators,
		simulated, took.Round(100*time.Millisecond), simulated.Seconds()*float64(c.Nodes)/took.Seconds(), r.Events,
		r.Stats.Blocks, r.Stats.Slots, r.Stats.FinalizedEpoch, r.Stats.MaxFinalityLag, r.Stats.Acked, r.Stats.Lost)
}

// replayFlags lists the flags set on the command line other than --seed, --seeds and --twice, to replay a seed.
func replayFlags(fs *flag.FlagSet) string {
	var b strings.Builder
	fs.Visit(func(f *flag.Flag) {
		if f.Name != "seed" && f.Name != "seeds" && f.Name != "twice" {
			fmt.Fprintf(&b, " --%s=%s", f.Name, f.Value)
		}
	})
	return b.String()
}
