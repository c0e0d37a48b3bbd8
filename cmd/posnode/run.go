package main

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"math/bits"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/posnode/posnode/chain"
	"github.com/posnode/posnode/node"
	"github.com/posnode/posnode/node/prompt"
	"github.com/posnode/posnode/p2p"
)

// maxDoppelgangerEpochs bounds --doppelganger-epochs: a longer wait is a mistake, not a choice.
const maxDoppelgangerEpochs = 1000

func cmdRun(args []string) error {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	home := fs.String("home", defaultHome(), "node directory: key (node.key), optional config.json")
	data := fs.String("data", "", "directory for the chain database and known peers (default: --home)")
	genesis := fs.String("genesis", "", "genesis file (default: from config.json)")
	var listen, bootstrap listFlag
	fs.Var(&listen, "listen", "libp2p listen multiaddr, repeatable (default /ip4/0.0.0.0/tcp/4001)")
	fs.Var(&bootstrap, "bootstrap", "peer multiaddr with /p2p/<id> to dial at start, repeatable")
	httpAddr := fs.String("http", "127.0.0.1:8080", `HTTP API address; "" turns the API off`)
	mdns := fs.Bool("mdns", true, "discover peers on the LAN with mDNS")
	nat := natFlags(fs)
	noPrompt := fs.Bool("no-prompt", false, "do not read commands from stdin")
	logFormat := fs.String("log-format", "console", "log format: console or json")
	logLevel := fs.String("log-level", "info", "log level: debug, info, warn, error")
	logFile := fs.String("log-file", "", `log file (rotated at 64 MB, 3 kept); "" (default): <data>/posnode.log when the prompt is on a terminal, with warnings and errors also on the terminal, else stderr; "-": stderr`)
	var trusted checkpointFlag
	fs.Var(&trusted, "checkpoint", "trusted checkpoint EPOCH:HASH (the checkpoint field of a trusted operator's /api/finality): refuse every chain without it; needed to follow a network after longer than the weak-subjectivity period (posnode ws)")
	ignoreWS := fs.Bool("ignore-ws-check", false, "follow a chain older than the weak-subjectivity period without --checkpoint, with a warning; only for a network whose every validator key you hold (a local testnet)")
	retain := fs.Uint64("retain-epochs", chain.DefaultRetainEpochs, "epochs of canonical blocks kept on disk below the finalized checkpoint (default: twice the weak-subjectivity period); older blocks and every side branch are deleted, and peers asking for them are told so")
	archive := fs.Bool("archive", false, "keep every canonical block on disk (an archive node): overrides --retain-epochs")
	dgEpochs := fs.Uint64("doppelganger-epochs", 2, "epochs to watch for blocks signed with this node's key by another process before signing; 0 disables the wait")
	fs.Usage = usage(fs, "run [flags]", "Runs a node: joins the network, follows the canonical chain, proposes when it wins a slot,\nserves the HTTP API and, unless --no-prompt, reads commands from stdin (type help).")
	set, err := parse(fs, args)
	if err != nil {
		return err
	}
	fc, err := node.LoadFileConfig(*home)
	if err != nil {
		return err
	}
	applyFileConfig(set, fc, genesis, &listen, &bootstrap, httpAddr)
	if !set["checkpoint"] && fc.Checkpoint != "" {
		if err := trusted.Set(fc.Checkpoint); err != nil {
			return fmt.Errorf("%s: checkpoint: %w", node.ConfigFile, err)
		}
	}
	if !set["ignore-ws-check"] && fc.IgnoreWSCheck {
		*ignoreWS = true
	}
	if len(listen) == 0 {
		listen = listFlag{"/ip4/0.0.0.0/tcp/4001"}
	}
	if *genesis == "" {
		return fmt.Errorf("no genesis: pass --genesis FILE (or run `posnode testnet` to make one)")
	}
	g, err := chain.LoadGenesis(*genesis)
	if err != nil {
		return err
	}
	reach, relayService, err := nat()
	if err != nil {
		return err
	}
	if *archive {
		*retain = 0
	} else if *retain == 0 {
		return fmt.Errorf("--retain-epochs: at least 1; use --archive to keep every block")
	}
	if *dgEpochs > maxDoppelgangerEpochs {
		return fmt.Errorf("--doppelganger-epochs: at most %d, got %d", maxDoppelgangerEpochs, *dgEpochs)
	}
	var console *prompt.Console
	var term io.Writer // the prompt's terminal, if it is on one
	if !*noPrompt {
		if console, err = prompt.NewConsole(os.Stdin, os.Stdout); err != nil {
			return err
		}
		defer console.Close()
		if console.Terminal() {
			term = console // log lines go above the line being typed, not into it
		}
	}
	sink, err := chooseLogSink(*logFile, cmp.Or(*data, *home), term)
	if err != nil {
		return err
	}
	log, err := newLogger(*logFormat, *logLevel, sink)
	if err != nil {
		return err
	}
	if sink.path != "" && term != nil {
		fmt.Fprintf(term, "log: %s (the node's warnings and errors also here; posnode logs --data %s --follow shows it)\n", sink.path, cmp.Or(*data, *home))
	}
	defer log.Sync()
	p2p.RouteLibraryLogs(log.Named("libp2p"))
	cfg := node.Config{Home: *home, Data: *data, Genesis: g, Listen: listen, Bootstrap: bootstrap, MDNS: *mdns,
		Reachability: reach, RelayService: relayService,
		HTTP: *httpAddr, Logger: log, Console: console, DoppelgangerSlots: saturatingMul(*dgEpochs, g.EpochLength),
		Checkpoint: trusted.c, IgnoreWSCheck: *ignoreWS, RetainEpochs: *retain}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	n, err := node.New(cfg)
	if err != nil {
		return err
	}
	err = n.Run(ctx)
	switch {
	case errors.Is(err, p2p.ErrAddrInUse):
		return fmt.Errorf("%w; choose a free port with --listen", err)
	case errors.Is(err, syscall.EADDRINUSE):
		return fmt.Errorf("%w; choose a free address with --http", err)
	}
	return err
}

// applyFileConfig fills what neither a flag nor the environment set from the home's config.json.
func applyFileConfig(set map[string]bool, fc node.FileConfig, genesis *string, listen, bootstrap *listFlag, httpAddr *string) {
	if !set["genesis"] && fc.Genesis != "" {
		*genesis = fc.Genesis
	}
	if !set["listen"] && len(fc.Listen) > 0 {
		*listen = fc.Listen
	}
	if !set["bootstrap"] && len(fc.Bootstrap) > 0 {
		*bootstrap = fc.Bootstrap
	}
	if !set["http"] && fc.HTTP != "" {
		*httpAddr = fc.HTTP
	}
}

func defaultHome() string {
	if h, err := os.UserHomeDir(); err == nil {
		return filepath.Join(h, ".posnode")
	}
	return ".posnode"
}

// saturatingMul returns a·b, or the largest uint64 when that overflows.
func saturatingMul(a, b uint64) uint64 {
	if hi, lo := bits.Mul64(a, b); hi == 0 {
		return lo
	}
	return math.MaxUint64
}
