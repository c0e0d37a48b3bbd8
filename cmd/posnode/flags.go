package main

import (
	"flag"
	"fmt"
	"os"
	"strings"

	"github.com/posnode/posnode/chain"
	"github.com/posnode/posnode/p2p"
)

// checkpointFlag is a trusted checkpoint, EPOCH:HASH (PROTOCOL.md §12); nil until set.
type checkpointFlag struct{ c *chain.Checkpoint }

func (f *checkpointFlag) String() string {
	if f.c == nil {
		return ""
	}
	return f.c.Text()
}

func (f *checkpointFlag) Set(v string) error {
	c, err := chain.ParseCheckpoint(v)
	if err != nil {
		return err
	}
	f.c = &c
	return nil
}

// listFlag is a repeatable string flag; from the environment it takes a comma-separated list.
type listFlag []string

func (l *listFlag) String() string { return strings.Join(*l, ",") }

func (l *listFlag) Set(v string) error {
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			*l = append(*l, s)
		}
	}
	return nil
}

// envName is the environment variable of a flag: --base-port → POSNODE_BASE_PORT.
func envName(flagName string) string {
	return "POSNODE_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// parse parses args, then fills every flag not given on the command line from its POSNODE_* variable. It
// returns the names of the flags set either way.
func parse(fs *flag.FlagSet, args []string) (map[string]bool, error) {
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected argument %q (see --help)", fs.Arg(0))
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	var err error
	fs.VisitAll(func(f *flag.Flag) {
		v, ok := os.LookupEnv(envName(f.Name))
		if set[f.Name] || !ok || err != nil {
			return
		}
		if e := fs.Set(f.Name, v); e != nil {
			err = fmt.Errorf("%s=%q: %w", envName(f.Name), v, e)
		}
		set[f.Name] = true
	})
	return set, err
}

// usage prints a subcommand's synopsis and flags, each with its environment variable.
func usage(fs *flag.FlagSet, synopsis, about string) func() {
	return func() {
		out := fs.Output()
		fmt.Fprintf(out, "usage: posnode %s\n\n%s\n\nflags (each also as the environment variable shown):\n", synopsis, about)
		fs.VisitAll(func(f *flag.Flag) {
			def := ""
			if f.DefValue != "" && f.DefValue != "[]" {
				def = fmt.Sprintf(" (default %s)", f.DefValue)
			}
			fmt.Fprintf(out, "  --%s  [%s]\n      %s%s\n", f.Name, envName(f.Name), f.Usage, def)
		})
	}
}

// natFlags registers --reachability and --relay-service on fs; the returned function reads them once fs is
// parsed, refusing a relay service on a node declared private (a relay must be dialable).
func natFlags(fs *flag.FlagSet) func() (p2p.Reachability, bool, error) {
	reach := fs.String("reachability", "auto", "whether peers can dial this node directly: auto (AutoNAT decides, for public IP addresses), public, or private (behind a NAT: keep reservations with relays among the peers)")
	relay := fs.Bool("relay-service", false, "relay connections for peers behind a NAT (circuit relay v2, bounded); for publicly reachable nodes, and counts the node public")
	return func() (p2p.Reachability, bool, error) {
		r, err := p2p.ParseReachability(*reach)
		if err != nil {
			return 0, false, fmt.Errorf("--reachability: %w", err)
		}
		if *relay && r == p2p.ReachabilityPrivate {
			return 0, false, fmt.Errorf("--relay-service needs a node peers can dial, but --reachability is private")
		}
		return r, *relay, nil
	}
}
