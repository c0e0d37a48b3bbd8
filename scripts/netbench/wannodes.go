package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/posnode/posnode/chain"
	"github.com/posnode/posnode/internal/promtext"
	"github.com/posnode/posnode/node"
	"github.com/posnode/posnode/node/view"
)

// wanNode is one `posnode run` process of the testbed, reached through its namespace.
type wanNode struct {
	ns    string
	addr  chain.Address // also its libp2p peer ID
	stake uint64
	token string
	hc    *http.Client // API calls, 5 s each
	sse   *http.Client // the event stream, no timeout
}

// wanNet is the testbed's testnet: `posnode testnet` homes whose config.json the tool rewrote with the
// namespaces' addresses, a `posnode run` per node and, without netem, a proxy per reachable node.
type wanNet struct {
	*procTestnet
	gen   *chain.Genesis
	nodes []*wanNode
}

// startWANNet writes the testnet and starts the proxies and then the nodes, each inside its namespace. Node 1
// dials nobody; node i dials node 1 and up to two other earlier reachable nodes chosen by a fixed seed.
func startWANNet(ctx context.Context, o wanOptions, topo *topology, slot time.Duration, self string) (*wanNet, error) {
	dir, err := os.MkdirTemp("", topo.prefix+"-wan-")
	if err != nil {
		return nil, err
	}
	w := &wanNet{procTestnet: &procTestnet{dir: dir}}
	out, err := execOut(o.posnode, "testnet", "--dir", dir, "--nodes", strconv.Itoa(topo.nodes), "--slot", slot.String(),
		"--epoch", strconv.Itoa(o.epoch), "--start-in", o.startIn.String(), "--chain-id", "wan-"+topo.prefix)
	if err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("posnode testnet: %w: %s", err, out)
	}
	if w.gen, err = chain.LoadGenesis(filepath.Join(dir, "genesis.json")); err != nil {
		w.stop()
		return nil, err
	}
	if err := w.configure(topo); err != nil {
		w.stop()
		return nil, err
	}
	if err := w.startAll(ctx, o, topo, self); err != nil {
		w.stop()
		return nil, err
	}
	return w, nil
}

func execOut(name string, args ...string) ([]byte, error) {
	return exec.Command(name, args...).CombinedOutput()
}

// configure reads each node's key and token and rewrites its config.json: listen on its namespace address, the API
// on the namespace's loopback, bootstrap peers by fixed seed.
func (w *wanNet) configure(topo *topology) error {
	stakes := map[chain.Address]uint64{}
	for _, a := range w.gen.Allocations {
		stakes[a.Address] = uint64(a.Stake)
	}
	for i := range topo.nodes {
		key, err := node.LoadKey(filepath.Join(w.home(i), node.KeyFile))
		if err != nil {
			return err
		}
		token, err := w.token(i)
		if err != nil {
			return err
		}
		addr := chain.AddressOf(key.Public().(ed25519.PublicKey))
		w.nodes = append(w.nodes, &wanNode{ns: topo.nodeNS(i), addr: addr, stake: stakes[addr], token: token,
			hc: nsClient(topo.nodeNS(i), 5*time.Second), sse: nsClient(topo.nodeNS(i), 0)})
	}
	rng := rand.New(rand.NewPCG(1, uint64(topo.nodes)))
	for i := range topo.nodes {
		fc := node.FileConfig{Genesis: "../genesis.json", HTTP: apiAddr,
			Listen: []string{fmt.Sprintf("/ip4/%s/tcp/%d", topo.listenAddr(i), p2pPort)}}
		boot := map[int]bool{}
		for k := 0; i > 0 && k < 3; k++ {
			j := 0
			if k > 0 {
				j = rng.IntN(i)
			}
			if !topo.natted(j) && !boot[j] {
				boot[j] = true
				fc.Bootstrap = append(fc.Bootstrap, fmt.Sprintf("/ip4/%s/tcp/%d/p2p/%s", topo.nodeAddr(j), p2pPort, w.nodes[j].addr))
			}
		}
		data, err := json.MarshalIndent(fc, "", "  ")
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(w.home(i), node.ConfigFile), data, 0o600); err != nil {
			return err
		}
	}
	return nil
}

// startAll starts the proxies (without netem) and the nodes, and waits until every API answers.
func (w *wanNet) startAll(ctx context.Context, o wanOptions, topo *topology, self string) error {
	for i := range topo.nodes {
		if topo.netem || topo.natted(i) {
			continue
		}
		err := w.startProc(filepath.Join(w.dir, fmt.Sprintf("proxy%d.log", i+1)), "ip", "netns", "exec", topo.nodeNS(i),
			self, proxyCommand, "-latency", topo.link.latency.String(), "-jitter", topo.link.jitter.String())
		if err != nil {
			return err
		}
	}
	for i := range topo.nodes {
		args := []string{"netns", "exec", topo.nodeNS(i), o.posnode, "run", "--home", w.home(i), "--no-prompt",
			"--mdns=false", "--log-level", "warn", "--doppelganger-epochs", "0"}
		if i == 0 && o.relay {
			args = append(args, "--relay-service")
		}
		if err := w.startProc(filepath.Join(w.home(i), "node.log"), "ip", args...); err != nil {
			return err
		}
	}
	deadline := time.Now().Add(90 * time.Second)
	for i, n := range w.nodes {
		for {
			_, err := n.status(ctx)
			if err == nil {
				break
			}
			if time.Now().After(deadline) || ctx.Err() != nil {
				return fmt.Errorf("node %d's API does not answer: %w (its log: %s)", i+1, err, tail(filepath.Join(w.home(i), "node.log")))
			}
			sleepCtx(ctx, 200*time.Millisecond)
		}
	}
	return nil
}

// tail returns the last lines of a log file, for an error message.
func tail(path string) string {
	b, _ := os.ReadFile(path)
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	return strings.Join(lines[max(0, len(lines)-5):], " | ")
}

// get decodes a 200 answer of GET path into v.
func (n *wanNode) get(ctx context.Context, path string, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+apiAddr+path, nil)
	if err != nil {
		return err
	}
	resp, err := n.hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return fmt.Errorf("GET %s: %s: %s", path, resp.Status, bytes.TrimSpace(msg))
	}
	return json.NewDecoder(resp.Body).Decode(v)
}

func (n *wanNode) status(ctx context.Context) (view.Status, error) {
	var st view.Status
	return st, n.get(ctx, "/api/status", &st)
}

func (n *wanNode) finality(ctx context.Context) (view.Finality, error) {
	var f view.Finality
	return f, n.get(ctx, "/api/finality", &f)
}

func (n *wanNode) block(ctx context.Context, h uint64) (view.Block, error) {
	var b view.Block
	return b, n.get(ctx, fmt.Sprintf("/api/blocks/%d", h), &b)
}

// chain returns the canonical blocks 1..to, 256 at a time.
func (n *wanNode) chain(ctx context.Context, to uint64) ([]view.Block, error) {
	var out []view.Block
	for from := uint64(1); from <= to; from += 256 {
		var bs []view.Block
		end := min(to, from+255)
		if err := n.get(ctx, fmt.Sprintf("/api/blocks?from=%d&to=%d", from, end), &bs); err != nil {
			return nil, err
		}
		if uint64(len(bs)) != end-from+1 {
			return nil, fmt.Errorf("blocks %d..%d: got %d", from, end, len(bs))
		}
		out = append(out, bs...)
	}
	return out, nil
}

// submitBPM asks the node to sign and accept a heart-rate record and returns its id.
func (n *wanNode) submitBPM(ctx context.Context, bpm uint64) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+apiAddr+"/api/bpm",
		strings.NewReader(fmt.Sprintf(`{"bpm":%d}`, bpm)))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+n.token)
	resp, err := n.hc.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	var out struct {
		ID string `json:"id"`
	}
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return "", fmt.Errorf("POST /api/bpm: %s: %s", resp.Status, bytes.TrimSpace(msg))
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || out.ID == "" {
		return "", errors.Join(errors.New("POST /api/bpm: no id in the answer"), err)
	}
	return out.ID, nil
}

// metric reads one unlabelled series of the node's /metrics.
func (n *wanNode) metric(ctx context.Context, name string) (float64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+apiAddr+"/metrics", nil)
	if err != nil {
		return 0, err
	}
	resp, err := n.hc.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	return promtext.Value(resp.Body, name)
}

// follow reads the node's event stream (GET /api/events) until ctx ends, recording each new head as a block event
// of node i (local when the node proposed it) and each reorg's depth.
func (n *wanNode) follow(ctx context.Context, i int, rec *recorder, reorg func(depth int)) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+apiAddr+"/api/events", nil)
	if err != nil {
		return
	}
	resp, err := n.sse.Do(req)
	if err != nil {
		return
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	kind := ""
	for sc.Scan() {
		line := sc.Text()
		if k, ok := strings.CutPrefix(line, "event: "); ok {
			kind = k
			continue
		}
		data, ok := strings.CutPrefix(line, "data: ")
		if !ok {
			continue
		}
		var ev struct {
			Height   uint64     `json:"height"`
			Slot     uint64     `json:"slot"`
			Hash     chain.Hash `json:"hash"`
			Depth    int        `json:"depth"`
			Proposer string     `json:"proposer"`
		}
		if json.Unmarshal([]byte(data), &ev) != nil {
			continue
		}
		switch kind {
		case "head":
			rec.add(blockEvent{node: i, at: time.Now(), hash: ev.Hash, slot: chain.Slot(ev.Slot),
				height: chain.Height(ev.Height), local: ev.Proposer == n.addr.String()})
		case "reorg":
			reorg(ev.Depth)
		}
	}
}
