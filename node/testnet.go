package node

import (
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/posnode/posnode/chain"
	"github.com/posnode/posnode/node/httpapi"
)

// TestnetOptions describe a local network for `posnode testnet`.
type TestnetOptions struct {
	Dir         string
	Nodes       int
	Stakes      []uint64 // one per node, cycled when shorter
	Balance     uint64   // unstaked tokens each node starts with
	Slot        time.Duration
	Epoch       uint64
	StartIn     time.Duration // genesis time is this far after now
	BasePort    int           // libp2p port of node 1; node i uses BasePort+i-1 (or BasePort everywhere with DNS)
	BaseHTTP    int           // API port of node 1, likewise
	DNSPrefix   string        // if set, node i is reached as /dns4/<prefix><i>/ (docker compose service names)
	ChainID     string
	Now         time.Time
	BlockReward uint64
	TxFee       uint64
	SeedRule    chain.SeedRule // lottery seed rule (PROTOCOL.md §6); empty means randao
}

// FileConfig is a node's config.json in its home directory: defaults for `posnode run`, below flags and
// environment variables.
type FileConfig struct {
	Genesis   string   `json:"genesis,omitempty"` // relative paths are relative to the home directory
	Listen    []string `json:"listen,omitempty"`
	HTTP      string   `json:"http,omitempty"`
	Bootstrap []string `json:"bootstrap,omitempty"`
	// Checkpoint is a trusted checkpoint, EPOCH:HASH, as `posnode run --checkpoint` takes it (PROTOCOL.md §12).
	Checkpoint string `json:"checkpoint,omitempty"`
	// IgnoreWSCheck is `posnode run --ignore-ws-check` (node.Config.IgnoreWSCheck): set for the nodes of a
	// local testnet, whose operator holds every key, so that it resumes after any stop.
	IgnoreWSCheck bool `json:"ignore_ws_check,omitempty"`
}

// ConfigFile is the name of FileConfig in a node's home directory.
const ConfigFile = "config.json"

// TestnetNode is what WriteTestnet made for one node.
type TestnetNode struct {
	Home    string
	Address chain.Address
	Config  FileConfig
}

// WriteTestnet writes DIR/genesis.json and DIR/node1 … DIR/nodeN, each with a key, an API token (so that a node
// whose home is mounted read-only has one, and scripts can read it) and a config.json that bootstraps to the
// first nodes. It refuses to overwrite an existing genesis.
func WriteTestnet(o TestnetOptions) (*chain.Genesis, []TestnetNode, error) {
	if o.Nodes < 1 || len(o.Stakes) == 0 {
		return nil, nil, errors.New("need at least one node and one stake")
	}
	gpath := filepath.Join(o.Dir, "genesis.json")
	if _, err := os.Stat(gpath); err == nil {
		return nil, nil, fmt.Errorf("%s exists; remove the directory to make a new testnet", gpath)
	}
	g := &chain.Genesis{ChainID: o.ChainID, Time: o.Now.Add(o.StartIn).UTC().Truncate(time.Second),
		SlotDuration: chain.Duration(o.Slot), EpochLength: o.Epoch, BlockReward: chain.Amount(o.BlockReward),
		MinStake: 1, TxFee: chain.Amount(o.TxFee), SeedRule: o.SeedRule}
	nodes := make([]TestnetNode, o.Nodes)
	keys := make([]ed25519.PrivateKey, o.Nodes)
	for i := range nodes {
		home := filepath.Join(o.Dir, fmt.Sprintf("node%d", i+1))
		key, _, err := LoadOrCreateKey(filepath.Join(home, KeyFile))
		if err != nil {
			return nil, nil, err
		}
		keys[i] = key
		if _, _, err := httpapi.LoadOrCreateToken(filepath.Join(home, httpapi.TokenFile)); err != nil {
			return nil, nil, err
		}
		nodes[i] = TestnetNode{Home: home, Address: chain.AddressOf(key.Public().(ed25519.PublicKey))}
		g.Allocations = append(g.Allocations, chain.Allocation{Address: nodes[i].Address,
			Balance: chain.Amount(o.Balance), Stake: chain.Amount(o.Stakes[i%len(o.Stakes)])})
	}
	if err := g.Validate(); err != nil {
		return nil, nil, err
	}
	for i := range nodes {
		nodes[i].Config = o.nodeConfig(i, nodes)
		if err := writeJSON0600(filepath.Join(nodes[i].Home, ConfigFile), nodes[i].Config); err != nil {
			return nil, nil, err
		}
	}
	return g, nodes, g.Save(gpath)
}

// nodeConfig gives node i its ports and bootstraps it to the first (up to) four other nodes.
func (o TestnetOptions) nodeConfig(i int, nodes []TestnetNode) FileConfig {
	c := FileConfig{Genesis: "../genesis.json", IgnoreWSCheck: true}
	port, http := o.BasePort+i, fmt.Sprintf("127.0.0.1:%d", o.BaseHTTP+i)
	if o.DNSPrefix != "" {
		port, http = o.BasePort, fmt.Sprintf("0.0.0.0:%d", o.BaseHTTP)
	}
	c.Listen, c.HTTP = []string{fmt.Sprintf("/ip4/0.0.0.0/tcp/%d", port)}, http
	if o.DNSPrefix == "" {
		c.Listen[0] = fmt.Sprintf("/ip4/127.0.0.1/tcp/%d", port)
	}
	for j := range min(len(nodes), 5) {
		if j != i && len(c.Bootstrap) < 4 {
			c.Bootstrap = append(c.Bootstrap, o.dialAddr(j, nodes[j].Address))
		}
	}
	return c
}

func (o TestnetOptions) dialAddr(j int, a chain.Address) string {
	if o.DNSPrefix != "" {
		return fmt.Sprintf("/dns4/%s%d/tcp/%d/p2p/%s", o.DNSPrefix, j+1, o.BasePort, a)
	}
	return fmt.Sprintf("/ip4/127.0.0.1/tcp/%d/p2p/%s", o.BasePort+j, a)
}

func writeJSON0600(path string, v any) error {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(data, '\n'), 0o600)
}

// LoadFileConfig reads home/config.json; a missing file is an empty config.
func LoadFileConfig(home string) (FileConfig, error) {
	var c FileConfig
	data, err := os.ReadFile(filepath.Join(home, ConfigFile))
	if errors.Is(err, os.ErrNotExist) {
		return c, nil
	}
	if err != nil {
		return c, err
	}
	if err := json.Unmarshal(data, &c); err != nil {
		return c, fmt.Errorf("%s: %w", filepath.Join(home, ConfigFile), err)
	}
	if c.Genesis != "" && !filepath.IsAbs(c.Genesis) {
		c.Genesis = filepath.Join(home, c.Genesis)
	}
	return c, nil
}
