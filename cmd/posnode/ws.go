package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/posnode/posnode/chain"
	"github.com/posnode/posnode/node"
)

func cmdWS(args []string) error {
	fs := flag.NewFlagSet("ws", flag.ContinueOnError)
	home := fs.String("home", defaultHome(), "node directory whose config.json names the genesis")
	genesis := fs.String("genesis", "", "genesis file (default: from config.json)")
	fs.Usage = usage(fs, "ws [--genesis FILE]", "Prints the network's weak-subjectivity period (PROTOCOL.md §12): a node whose newest finalized\ncheckpoint is older than it follows the network only with a recent trusted checkpoint (posnode run --checkpoint).")
	set, err := parse(fs, args)
	if err != nil {
		return err
	}
	if !set["genesis"] {
		fc, err := node.LoadFileConfig(*home)
		if err != nil {
			return err
		}
		applyFileConfig(set, fc, genesis, new(listFlag), new(listFlag), new(string))
	}
	if *genesis == "" {
		return fmt.Errorf("no genesis: pass --genesis FILE")
	}
	g, err := chain.LoadGenesis(*genesis)
	if err != nil {
		return err
	}
	printWS(os.Stdout, g)
	return nil
}

// printWS writes g's weak-subjectivity period in epochs, slots and wall time.
func printWS(w io.Writer, g *chain.Genesis) {
	fmt.Fprintf(w, "weak-subjectivity period of %q (genesis %s): %d epochs = %d slots = %s (epoch %d slots of %s)\n",
		g.ChainID, g.Hash().Short(), chain.WeakSubjectivityEpochs, uint64(chain.WeakSubjectivityEpochs)*g.EpochLength,
		chain.WeakSubjectivityPeriod(g), g.EpochLength, time.Duration(g.SlotDuration))
	fmt.Fprintln(w, "a node whose newest finalized checkpoint is older needs a recent one: posnode run --checkpoint EPOCH:HASH,")
	fmt.Fprintln(w, "from the checkpoint field of a trusted operator's GET /api/finality")
}
