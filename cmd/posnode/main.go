// Command posnode runs a peer-to-peer proof-of-stake node and the tools around it.
package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

const topUsage = `posnode — a peer-to-peer proof-of-stake blockchain of heart-rate records

usage: posnode <command> [flags]

commands:
  testnet              write genesis, keys and configs for a local network
  run                  run a node
  keygen               create a node key and print its address
  client keygen        create a user's own key file (no node needed) and print its address
  ws                   print a network's weak-subjectivity period
  healthcheck          exit 0 when a node's HTTP API answers
  logs                 print a node's log file (where the log goes when the prompt is on a terminal)
  sim                  simulate attacks on the lottery (sim grind)
  slashing-protection  export or import what the node's key signed, to move a validator (EIP-3076)
  version              print the version

"posnode <command> --help" describes a command's flags.`

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, topUsage)
		os.Exit(2)
	}
	cmds := map[string]func([]string) error{
		"testnet": cmdTestnet, "run": cmdRun, "client": cmdClient, "keygen": cmdKeygen, "healthcheck": cmdHealthcheck, "logs": cmdLogs, "sim": cmdSim, "ws": cmdWS,
		"slashing-protection": cmdSlashingProtection, "version": func([]string) error { fmt.Println("posnode", version); return nil },
	}
	name := os.Args[1]
	if name == "help" || name == "-h" || name == "--help" {
		fmt.Println(topUsage)
		return
	}
	cmd, ok := cmds[name]
	if !ok {
		fmt.Fprintf(os.Stderr, "posnode: unknown command %q\n\n%s\n", name, topUsage)
		os.Exit(2)
	}
	if err := cmd(os.Args[2:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return
		}
		fmt.Fprintf(os.Stderr, "posnode %s: %v\n", name, err)
		os.Exit(1)
	}
}
