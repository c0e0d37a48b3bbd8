package main

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/posnode/posnode/chain"
	"github.com/posnode/posnode/node"
)

func cmdTestnet(args []string) error {
	fs := flag.NewFlagSet("testnet", flag.ContinueOnError)
	o := node.TestnetOptions{Now: time.Now()}
	fs.IntVar(&o.Nodes, "nodes", 4, "number of nodes")
	fs.StringVar(&o.Dir, "dir", "testnet", "output directory")
	stakes := fs.String("stakes", "10,20,30,40", "initial stake of each node, comma-separated, cycled")
	fs.Uint64Var(&o.Balance, "balance", 1_000_000_000, "unstaked tokens each node starts with")
	fs.DurationVar(&o.Slot, "slot", time.Second, "slot duration")
	fs.Uint64Var(&o.Epoch, "epoch", 32, "slots per epoch")
	fs.DurationVar(&o.StartIn, "start-in", 10*time.Second, "genesis time is this long after now")
	fs.IntVar(&o.BasePort, "base-port", 4001, "libp2p port of node 1 (node i: base+i-1; with --dns-prefix all use it)")
	fs.IntVar(&o.BaseHTTP, "base-http", 8081, "HTTP API port of node 1 (node i: base+i-1; with --dns-prefix all use 8080)")
	fs.StringVar(&o.DNSPrefix, "dns-prefix", "", `reach node i as /dns4/<prefix><i>/ (e.g. "node" for docker compose services)`)
	fs.StringVar(&o.ChainID, "chain-id", "posnode-testnet", "chain id")
	fs.Uint64Var(&o.BlockReward, "reward", 10, "block reward")
	fs.Uint64Var(&o.TxFee, "fee", 1, "minimum transaction fee")
	seedRule := fs.String("seed-rule", "randao", `lottery seed rule: "randao" (VRF beacon) or "parent-hash" (the tutorial's grindable rule, for study)`)
	fs.Usage = usage(fs, "testnet --nodes N --dir DIR [flags]", "Writes DIR/genesis.json and DIR/node1 … DIR/nodeN (key and config.json each), and prints how to start them.")
	if _, err := parse(fs, args); err != nil {
		return err
	}
	if o.DNSPrefix != "" {
		o.BaseHTTP = 8080
	}
	o.SeedRule = chain.SeedRule(*seedRule)
	var err error
	if o.Stakes, err = parseUints(*stakes); err != nil {
		return fmt.Errorf("--stakes: %w", err)
	}
	g, nodes, err := node.WriteTestnet(o)
	if err != nil {
		return err
	}
	fmt.Printf("testnet %q: %d nodes, genesis %s at %s, slot %s, epoch %d slots, seed rule %s\n", g.ChainID, len(nodes),
		g.Hash().Short(), g.Time.Format(time.RFC3339), time.Duration(g.SlotDuration), g.EpochLength, g.Rule())
	for i, n := range nodes {
		fmt.Printf("  node%d  %s  stake %d\n", i+1, n.Address, o.Stakes[i%len(o.Stakes)])
		if o.DNSPrefix == "" {
			fmt.Printf("        posnode run --home %s        # api http://%s\n", n.Home, n.Config.HTTP)
		}
	}
	if o.DNSPrefix != "" {
		fmt.Printf("containers reach each other as %s1 … %s%d; start them with docker-compose (scripts/testnet.sh up)\n",
			o.DNSPrefix, o.DNSPrefix, len(nodes))
	}
	return nil
}

func parseUints(s string) ([]uint64, error) {
	var out []uint64
	for _, f := range strings.Split(s, ",") {
		v, err := strconv.ParseUint(strings.TrimSpace(f), 10, 64)
		if err != nil {
			return nil, fmt.Errorf("%q is not a whole number", f)
		}
		out = append(out, v)
	}
	return out, nil
}

func cmdKeygen(args []string) error {
	fs := flag.NewFlagSet("keygen", flag.ContinueOnError)
	home := fs.String("home", defaultHome(), "node directory to write node.key into")
	fs.Usage = usage(fs, "keygen [--home DIR]", "Creates DIR/node.key (if missing) and prints the node's address, which is also its libp2p peer ID.")
	if _, err := parse(fs, args); err != nil {
		return err
	}
	key, created, err := node.LoadOrCreateKey(filepath.Join(*home, node.KeyFile))
	if err != nil {
		return err
	}
	verb := "existing"
	if created {
		verb = "new"
	}
	fmt.Printf("%s key %s\naddress %s\n", verb, filepath.Join(*home, node.KeyFile), chain.AddressOf(key.Public().(ed25519.PublicKey)))
	return nil
}

func cmdHealthcheck(args []string) error {
	fs := flag.NewFlagSet("healthcheck", flag.ContinueOnError)
	addr := fs.String("http", "127.0.0.1:8080", "the node's HTTP API address")
	fs.Usage = usage(fs, "healthcheck [--http ADDR]", "Exits 0 when the node's API answers /api/status, 1 otherwise (for container healthchecks); prints its height, peers, slot and signing.")
	if _, err := parse(fs, args); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+*addr+"/api/status", nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	var st node.Status
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil || resp.StatusCode != http.StatusOK {
		return fmt.Errorf("status %d: %v", resp.StatusCode, err)
	}
	fmt.Fprintf(os.Stdout, "ok height %d peers %d slot %d signing %s\n", st.Height, st.Peers, st.Slot, st.Signing)
	return nil
}
