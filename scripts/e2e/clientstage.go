package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/posnode/posnode/chain"
	lightclient "github.com/posnode/posnode/client"
	"github.com/posnode/posnode/keyfile"
)

// clientBPMs are the records the client stage writes, one `posnode client bpm` each.
var clientBPMs = []uint64{71, 72, 73}

// clientStage is README's client walk-through without a person (PROTOCOL.md §14): a fresh key from `posnode
// client keygen`, funded by a transfer node1's key signs and POST /api/txs carries, then `posnode client bpm
// --wait` for each of clientBPMs over libp2p to node1's published port, each until it is proven final, and
// `posnode client history` listing them all.
func (r *runner) clientStage(ctx context.Context) error {
	dir, err := os.MkdirTemp("", "e2e-client")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	key := filepath.Join(dir, "client.key")
	out, err := r.posnode(ctx, "client", "keygen", "--out", key)
	if err != nil {
		return err
	}
	addr := strings.TrimSpace(out[strings.LastIndex(out, "address ")+len("address "):])
	r.logf("client: keygen: address %s", addr)
	if err := r.fund(ctx, addr, 1000); err != nil {
		return fmt.Errorf("fund: %w", err)
	}
	st, err := r.nodes[0].status(ctx)
	if err != nil {
		return err
	}
	flags := []string{"--key", key, "--genesis", filepath.Join(r.cfg.testnet, "genesis.json"), "--json",
		"--peer", "/ip4/" + strings.Replace(r.cfg.p2p, ":", "/tcp/", 1) + "/p2p/" + st.PeerID}
	for _, bpm := range clientBPMs {
		t0 := time.Now()
		out, err := r.posnode(ctx, append([]string{"client", "bpm", fmt.Sprint(bpm), "--wait", "3m"}, flags...)...)
		if err != nil {
			return fmt.Errorf("bpm %d: %w", bpm, err)
		}
		ev := lastEvent(out)
		if ev["event"] != "final" {
			return fmt.Errorf("bpm %d: last event %v, want final:\n%s", bpm, ev, out)
		}
		r.logf("client: bpm %d final in %.0fs (committed at height %v, finalized by epoch %v)", bpm,
			time.Since(t0).Seconds(), ev["height"], ev["epoch"])
	}
	out, err = r.posnode(ctx, append([]string{"client", "history"}, flags...)...)
	if err != nil {
		return fmt.Errorf("history: %w", err)
	}
	return checkHistory(out)
}

// posnode runs the posnode binary and returns its standard output; a failure carries its standard error.
func (r *runner) posnode(ctx context.Context, args ...string) (string, error) {
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, r.cfg.posnode, args...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.String(), fmt.Errorf("posnode %s: %w: %s", args[0]+" "+args[1], err, strings.TrimSpace(stderr.String()))
	}
	return stdout.String(), nil
}

// fund signs a transfer of amount from node1's key to addr, submits it by POST /api/txs and waits until node1's
// state holds it.
func (r *runner) fund(ctx context.Context, addr string, amount chain.Amount) error {
	g, err := chain.LoadGenesis(filepath.Join(r.cfg.testnet, "genesis.json"))
	if err != nil {
		return err
	}
	key, err := keyfile.Load(filepath.Join(r.cfg.testnet, "node1", "node.key"))
	if err != nil {
		return err
	}
	to, err := chain.ParseAddress(addr)
	if err != nil {
		return err
	}
	from := chain.AddressOf(key.Public().(ed25519.PublicKey))
	var acc struct{ Nonce, Pending uint64 }
	n1 := r.nodes[0]
	if err := n1.do(ctx, "GET", "/api/accounts/"+from.String(), nil, &acc); err != nil {
		return err
	}
	tx, err := lightclient.New(key, g.Hash(), g.TxFee).Send(chain.Nonce(acc.Nonce+acc.Pending), to, amount)
	if err != nil {
		return err
	}
	var res struct{ ID string }
	if err := n1.do(ctx, "POST", "/api/txs", map[string]string{"tx": hex.EncodeToString(tx.Encode())}, &res); err != nil {
		return err
	}
	r.logf("client: funded by node1's transfer %.8s (POST /api/txs)", res.ID)
	for ctx.Err() == nil {
		var got struct{ Balance uint64 }
		if n1.do(ctx, "GET", "/api/accounts/"+addr, nil, &got) == nil && got.Balance >= uint64(amount) {
			return nil
		}
		sleep(ctx, time.Second)
	}
	return ctx.Err()
}

// lastEvent is the last JSON line of out that has an "event".
func lastEvent(out string) map[string]any {
	var last map[string]any
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		var m map[string]any
		if json.Unmarshal(sc.Bytes(), &m) == nil && m["event"] != nil {
			last = m
		}
	}
	return last
}

// checkHistory wants every one of clientBPMs, final, among the records `client history --json` printed.
func checkHistory(out string) error {
	final := map[uint64]bool{}
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		var rec lightclient.HistoryRecord
		if json.Unmarshal(sc.Bytes(), &rec) == nil && rec.ID != (chain.Hash{}) && rec.Final {
			final[rec.BPM] = true
		}
	}
	for _, bpm := range clientBPMs {
		if !final[bpm] {
			return fmt.Errorf("history lacks final bpm %d:\n%s", bpm, out)
		}
	}
	return nil
}
