package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"time"

	"github.com/posnode/posnode/chain"
	"github.com/posnode/posnode/sim"
)

func cmdSim(args []string) error {
	switch {
	case len(args) > 0 && args[0] == "grind":
		return cmdSimGrind(args[1:])
	case len(args) > 0 && args[0] == "net":
		return cmdSimNet(args[1:])
	case len(args) > 0 && (args[0] == "-h" || args[0] == "--help" || args[0] == "help"):
		fmt.Println(simUsage)
		return nil
	}
	return fmt.Errorf("want a simulation name\n\n%s", simUsage)
}

const simUsage = `usage: posnode sim <simulation> [flags]

simulations:
  grind   what an adversary of stake α gains against the lottery under each seed rule (PROTOCOL.md §9)
  net     a whole network of posnode processes, the node's own code, under virtual time and seeded faults`

func cmdSimGrind(args []string) error {
	fs := flag.NewFlagSet("sim grind", flag.ContinueOnError)
	rules := fs.String("rules", "parent-hash,randao", "seed rules to simulate, comma-separated")
	alphas := fs.String("alpha", "0.10,0.25,0.33", "adversary stake shares, comma-separated")
	ks := fs.String("k", "1,4,16,64,256", "block versions the adversary may try per slot, comma-separated (at most 720)")
	stakeKs := fs.String("stake-k", "", "stake amounts a stake grinder may try per block, comma-separated (at most 4096; "+
		"default 1,16,256,1024 under randao, 1,4,16,64 under parent-hash)")
	c := sim.TableConfig{}
	fs.IntVar(&c.Slots, "slots", 10_000, "slots of each grind, late-release and stake-grinding run")
	fs.IntVar(&c.PrivateSlots, "private-slots", 1_000, "slots after which the private branch is released")
	fs.Uint64Var(&c.EpochLength, "epoch", 32, "slots per epoch")
	fs.Int64Var(&c.Seed, "seed", 1, "seed of every key: the same flags print the same tables")
	fs.Usage = usage(fs, "sim grind [flags]", "Drives the real chain and consensus code with an adversary that grinds block versions, withholds\n"+
		"blocks, picks parents, builds a private branch, releases late or grinds its stake at epoch tails, and prints\n"+
		"its share of canonical blocks and the epoch tails it held (the openings for vote splitting)\n"+
		"as Markdown tables, one per seed rule. Progress goes to stderr.")
	if _, err := parse(fs, args); err != nil {
		return err
	}
	var err error
	if c.AlphasPermille, err = parsePermille(*alphas); err != nil {
		return fmt.Errorf("--alpha: %w", err)
	}
	if c.Ks, err = parseInts(*ks, sim.MaxK); err != nil {
		return fmt.Errorf("--k: %w", err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	for _, r := range strings.Split(*rules, ",") {
		c.Rule = chain.SeedRule(strings.TrimSpace(r))
		if c.Rule != chain.SeedRANDAO && c.Rule != chain.SeedParentHash {
			return fmt.Errorf("--rules: %q is not %q or %q", r, chain.SeedRANDAO, chain.SeedParentHash)
		}
		sk := *stakeKs
		if sk == "" && c.Rule == chain.SeedRANDAO {
			sk = "1,16,256,1024"
		} else if sk == "" {
			sk = "1,4,16,64" // every block it proposes grinds: as slow as k block versions of every slot
		}
		if c.StakeKs, err = parseInts(sk, sim.MaxStakeK); err != nil {
			return fmt.Errorf("--stake-k: %w", err)
		}
		start := time.Now()
		fmt.Fprintf(os.Stderr, "sim grind: rule %s, %d runs\n", c.Rule, len(c.Cells()))
		rs, err := sim.RunTable(ctx, c, os.Stderr)
		if err != nil {
			return err
		}
		fmt.Fprintf(os.Stderr, "sim grind: rule %s done in %s\n", c.Rule, time.Since(start).Round(100*time.Millisecond))
		sim.WriteTable(os.Stdout, c, rs)
	}
	return nil
}

// parsePermille reads comma-separated shares such as "0.10,0.33" as thousandths.
func parsePermille(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		v, err := strconv.ParseFloat(strings.TrimSpace(f), 64)
		if err != nil || v <= 0 || v >= 1 {
			return nil, fmt.Errorf("%q is not a share between 0 and 1", f)
		}
		out = append(out, int(v*1000+0.5))
	}
	return out, nil
}

func parseInts(s string, maxK int) ([]int, error) {
	vs, err := parseUints(s)
	if err != nil {
		return nil, err
	}
	out := make([]int, len(vs))
	for i, v := range vs {
		if v < 1 || v > uint64(maxK) {
			return nil, fmt.Errorf("each value must be 1 to %d", maxK)
		}
		out[i] = int(v)
	}
	return out, nil
}
