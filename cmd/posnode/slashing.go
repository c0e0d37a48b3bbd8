package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/posnode/posnode/chain"
	"github.com/posnode/posnode/node"
	"github.com/posnode/posnode/node/slashprot"
)

const slashingUsage = `usage: posnode slashing-protection <export|import> [flags]
  export  write the record of what this node's key signed as an EIP-3076 interchange file
  import  merge an EIP-3076 interchange file into this node's record (never lowers it)
Both refuse to run while a node uses the data directory (PROTOCOL.md §11).`

func cmdSlashingProtection(args []string) error {
	if len(args) == 0 {
		return fmt.Errorf("want export or import\n\n%s", slashingUsage)
	}
	switch args[0] {
	case "export":
		return cmdSlashingExport(args[1:])
	case "import":
		return cmdSlashingImport(args[1:])
	case "-h", "--help", "help":
		fmt.Println(slashingUsage)
		return nil
	}
	return fmt.Errorf("unknown subcommand %q\n\n%s", args[0], slashingUsage)
}

// slashingDirs are the flags both subcommands share: where the record and the genesis are, as for `run`.
type slashingDirs struct {
	home, data, genesis *string
}

func newSlashingDirs(fs *flag.FlagSet) slashingDirs {
	return slashingDirs{
		home:    fs.String("home", defaultHome(), "node directory, as for run"),
		data:    fs.String("data", "", "data directory holding "+slashprot.FileName+" (default: --home)"),
		genesis: fs.String("genesis", "", "genesis file (default: from config.json); its hash names the network in the file"),
	}
}

// resolve returns the record's path and the network's genesis hash.
func (d slashingDirs) resolve(set map[string]bool) (string, chain.Hash, error) {
	fc, err := node.LoadFileConfig(*d.home)
	if err != nil {
		return "", chain.Hash{}, err
	}
	if !set["genesis"] && fc.Genesis != "" {
		*d.genesis = fc.Genesis
	}
	if *d.genesis == "" {
		return "", chain.Hash{}, errors.New("no genesis: pass --genesis FILE")
	}
	g, err := chain.LoadGenesis(*d.genesis)
	if err != nil {
		return "", chain.Hash{}, err
	}
	dir := *d.data
	if dir == "" {
		dir = *d.home
	}
	return filepath.Join(dir, slashprot.FileName), g.Hash(), nil
}

func cmdSlashingExport(args []string) error {
	fs := flag.NewFlagSet("slashing-protection export", flag.ContinueOnError)
	dirs := newSlashingDirs(fs)
	out := fs.String("out", "", "file to write (default: standard output)")
	fs.Usage = usage(fs, "slashing-protection export --home DIR [--out FILE]",
		"Writes what the node's key signed (EIP-3076 interchange format, version 5). Stop the node first, and\n"+
			"never start it again once the key runs elsewhere.")
	set, err := parse(fs, args)
	if err != nil {
		return err
	}
	path, genesis, err := dirs.resolve(set)
	if err != nil {
		return err
	}
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("no slashing protection record at %s: check --home and --data; a node of this version "+
			"writes it when it starts (and moves an older chain.db's record into it)", path)
	}
	db, err := slashprot.Open(path)
	if err != nil {
		return err
	}
	defer db.Close()
	if *out == "" {
		return db.Export(os.Stdout, genesis)
	}
	if err := writeFileSynced(*out, func(w io.Writer) error { return db.Export(w, genesis) }); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "exported %s to %s\n", path, *out)
	return nil
}

func cmdSlashingImport(args []string) error {
	fs := flag.NewFlagSet("slashing-protection import", flag.ContinueOnError)
	dirs := newSlashingDirs(fs)
	in := fs.String("in", "", "interchange file to import (required)")
	fs.Usage = usage(fs, "slashing-protection import --home DIR --in FILE",
		"Merges an EIP-3076 interchange file (version 5, this network's genesis) into the node's record, keeping\n"+
			"the higher of each slot and epoch. Stop the node first.")
	set, err := parse(fs, args)
	if err != nil {
		return err
	}
	if *in == "" {
		return errors.New("no file: pass --in FILE")
	}
	path, genesis, err := dirs.resolve(set)
	if err != nil {
		return err
	}
	f, err := os.Open(*in)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	db, err := slashprot.Open(path)
	if err != nil {
		return err
	}
	defer db.Close()
	if err := db.Import(f, genesis); err != nil {
		return fmt.Errorf("%s: %w", *in, err)
	}
	fmt.Fprintf(os.Stderr, "imported %s into %s\n", *in, path)
	return nil
}

// writeFileSynced creates path (readable by its owner only), fills it with write and syncs it.
func writeFileSynced(path string, write func(io.Writer) error) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	err = write(f)
	if err == nil {
		err = f.Sync()
	}
	return errors.Join(err, f.Close())
}
