package main

import (
	"crypto/ed25519"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/posnode/posnode/chain"
	"github.com/posnode/posnode/keyfile"
)

// ClientKeyFile is the name of the client's key file in the default home.
const ClientKeyFile = "client.key"

const clientUsage = `usage: posnode client [<command>] [flags] [arguments]

The client holds a user's own key: it signs the user's transactions, so that no node's key or token is needed,
sends them to full nodes over libp2p (--peer MULTIADDR), and proves each committed and then final without
trusting the nodes (PROTOCOL.md §14). Without a command it opens a prompt ("BPM> 72").

commands:
  keygen    create a key file and print its address
  bpm       record a heart rate:           posnode client bpm --genesis FILE --peer ADDR 72
  send      transfer tokens:               posnode client send [flags] ADDRESS AMOUNT
  stake     stake tokens:                  posnode client stake [flags] AMOUNT
  unstake   unstake tokens:                posnode client unstake [flags] AMOUNT
  status    the proven account and the trusted checkpoints
  history   the account's final BPM records

"posnode client <command> --help" describes a command's flags.`

func cmdClient(args []string) error {
	if len(args) > 0 && (args[0] == "help" || args[0] == "-h" || args[0] == "--help") {
		fmt.Println(clientUsage)
		return nil
	}
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		return runClient("", args, os.Stdout)
	}
	if args[0] == "keygen" {
		return clientKeygen(args[1:], os.Stdout)
	}
	if _, ok := clientCommands[args[0]]; ok {
		return runClient(args[0], args[1:], os.Stdout)
	}
	return fmt.Errorf("unknown command %q\n\n%s", args[0], clientUsage)
}

// clientKeygen writes a new key file (PROTOCOL.md §1) and prints its path and address to w; it refuses to
// overwrite an existing file.
func clientKeygen(args []string, w io.Writer) error {
	flags := flag.NewFlagSet("client keygen", flag.ContinueOnError)
	out := flags.String("out", filepath.Join(defaultHome(), ClientKeyFile), "the key file to create (it must not exist)")
	flags.Usage = usage(flags, "client keygen [--out FILE]",
		"Creates FILE holding a new ed25519 key (one line: the hex of its 32-byte seed; mode 0600) and prints its\n"+
			"address. An existing FILE is never overwritten.")
	if _, err := parse(flags, args); err != nil {
		return err
	}
	key, err := keyfile.Generate(*out)
	if errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("%s already exists; not overwriting it (choose another --out)", *out)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "new key %s\naddress %s\n", *out, chain.AddressOf(key.Public().(ed25519.PublicKey)))
	return nil
}
