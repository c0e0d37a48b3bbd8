package main

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/posnode/posnode/chain"
	"github.com/posnode/posnode/node"
)

// resNodes is the size of the resources testnet.
const resNodes = 4

var client = &http.Client{Timeout: 10 * time.Second,
	Transport: &http.Transport{MaxIdleConnsPerHost: 32, MaxIdleConns: 128}}

// resFigure is figure 6: CPU and resident memory of `posnode run` processes of a 4-node testnet, idle; idle with an
// explorer page open on node 1 and closed again (when page > 0); then under the throughput figure's load (records
// signed in advance, posted to /api/txs of the sender's own node).
func resFigure(w io.Writer, bin string, idle, page, load time.Duration, rates []int) error {
	if _, err := os.Stat(bin); err != nil {
		return fmt.Errorf("posnode binary: %w (build it with go build -o build/posnode ./cmd/posnode)", err)
	}
	loadBefore := loadAvg()
	t, err := startProcTestnet(bin, resNodes, time.Second)
	if err != nil {
		return err
	}
	defer t.stop()
	ctx := context.Background()
	if err := t.waitHeight(ctx, 3, 60*time.Second); err != nil {
		return err
	}
	pids := make([]int, resNodes)
	for i, p := range t.procs {
		pids[i] = p.Process.Pid
	}
	log.Printf("resources: idle for %s", idle)
	idleUse, err := measure(ctx, pids, idle)
	if err != nil {
		return err
	}
	var pg *pagePhases
	if page > 0 {
		if pg, err = t.withPage(ctx, pids, page); err != nil {
			return err
		}
	}
	type phase struct {
		rate      int
		use       []usage
		gen       float64
		committed float64
	}
	var phases []phase
	for _, rate := range rates {
		log.Printf("resources: %d records/s for %s", rate, load)
		use, gen, committed, err := t.loaded(ctx, pids, load, rate)
		if err != nil {
			return err
		}
		phases = append(phases, phase{rate, use, gen, committed})
	}
	fmt.Fprintln(w, "| state | node | CPU (share of one core) | RSS at the end | peak RSS since start |")
	fmt.Fprintln(w, "|---|---:|---:|---:|---:|")
	maxIdle := 0.0
	for i, u := range idleUse {
		fmt.Fprintf(w, "| idle | %d | %.1f %% | %.1f MB | %.1f MB |\n", i+1, 100*u.cpu, u.rssMB, u.maxMB)
		maxIdle = max(maxIdle, u.rssMB)
	}
	pg.rows(w)
	for _, p := range phases {
		for i, u := range p.use {
			fmt.Fprintf(w, "| %d records/s offered | %d | %.1f %% | %.1f MB | %.1f MB |\n", p.rate, i+1, 100*u.cpu, u.rssMB, u.maxMB)
		}
	}
	fmt.Fprintln(w)
	fmt.Fprintf(w, "MB = 2²⁰ bytes. Idle: %s with the chain advancing and no records. Loaded: %s per offered rate, one after the other on the same testnet. "+
		"The machine's load average (1, 5, 15 min) was %s before this figure and %s after it (its loaded phases included), on %d cores shared with other work.\n\n",
		fmtDur(idle), fmtDur(load), loadBefore, loadAvg(), runtime.NumCPU())
	pg.summary(w, idleUse)
	if len(phases) > 0 {
		fmt.Fprintln(w, "| offered | load generator's own CPU (this program) | committed on node 1's chain in the load's slots |")
		fmt.Fprintln(w, "|---:|---:|---:|")
		for _, p := range phases {
			fmt.Fprintf(w, "| %d records/s | %.0f %% | %.0f records/s |\n", p.rate, 100*p.gen, p.committed)
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintf(w, "Goal: idle under 64 MB — %s (largest idle RSS: %.1f MB).\n", verdict(maxIdle < 64), maxIdle)
	return nil
}

// loaded runs the load and measures the nodes meanwhile. It returns their usage, the load generator's own CPU share,
// and the records per second that node 1's chain committed in the load's slots.
func (t *procTestnet) loaded(ctx context.Context, pids []int, d time.Duration, rate int) ([]usage, float64, float64, error) {
	g, err := chain.LoadGenesis(filepath.Join(t.dir, "genesis.json"))
	if err != nil {
		return nil, 0, 0, err
	}
	keys := make([]ed25519.PrivateKey, resNodes)
	nonces := make([]chain.Nonce, resNodes)
	for i := range keys {
		if keys[i], err = node.LoadKey(filepath.Join(t.home(i), node.KeyFile)); err != nil {
			return nil, 0, 0, err
		}
		var a node.AccountView
		addr := chain.AddressOf(keys[i].Public().(ed25519.PublicKey))
		if err := getJSON(ctx, t.api(i)+"/api/accounts/"+addr.String(), &a); err != nil {
			return nil, 0, 0, err
		}
		nonces[i] = chain.Nonce(a.Nonce) + chain.Nonce(a.Pending)
	}
	plan := newLoadPlan(g.Hash(), keys, nonces, g.TxFee, rate, d)
	start := time.Now().Add(500 * time.Millisecond)
	self0, _ := sampleProc(os.Getpid())
	lctx, cancel := context.WithDeadline(ctx, start.Add(d+10*time.Second))
	defer cancel()
	done := make(chan *loadStats, 1)
	go func() {
		done <- plan.run(lctx, start, t.post)
	}()
	sleepUntil(start)
	use, err := measure(ctx, pids, d)
	self1, _ := sampleProc(os.Getpid())
	stats := <-done
	if err != nil {
		return nil, 0, 0, err
	}
	log.Printf("resources: %d offered, %d accepted, %d retries", stats.offered.Load(), stats.accepted.Load(), stats.retries.Load())
	gen := (self1.cpu - self0.cpu).Seconds() / self1.at.Sub(self0.at).Seconds()
	committed, err := t.committedRate(ctx, g, start, d)
	return use, gen, committed, err
}

// post sends txs of one sender to node s in one POST /api/txbatch and returns each one's outcome; a refusal
// for a full mempool is worth a retry.
func (t *procTestnet) post(ctx context.Context, s int, txs []chain.Tx) []submitErr {
	out := make([]submitErr, len(txs))
	res, err := t.postBatch(ctx, s, txs)
	for i := range out {
		switch {
		case err != nil:
			out[i].err = err
		case res.Results[i].Error != "":
			msg := res.Results[i].Error
			out[i] = submitErr{err: errors.New(msg), retry: strings.Contains(msg, "mempool full")}
		}
	}
	return out
}

// batchAnswer is the body of a POST /api/txbatch answer.
type batchAnswer struct {
	Accepted int `json:"accepted"`
	Results  []struct {
		ID    chain.Hash `json:"id"`
		Error string     `json:"error"`
	} `json:"results"`
}

func (t *procTestnet) postBatch(ctx context.Context, s int, txs []chain.Tx) (*batchAnswer, error) {
	hexes := make([]string, len(txs))
	for i := range txs {
		hexes[i] = hex.EncodeToString(txs[i].Encode())
	}
	body, _ := json.Marshal(map[string][]string{"txs": hexes})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, t.api(s)+"/api/txbatch", bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	token, err := t.token(s)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("post txs: %s: %s", resp.Status, bytes.TrimSpace(msg))
	}
	var ans batchAnswer
	if err := json.Unmarshal(msg, &ans); err != nil || len(ans.Results) != len(txs) {
		return nil, fmt.Errorf("post txs: answer of %d results for %d transactions: %v", len(ans.Results), len(txs), err)
	}
	return &ans, nil
}

// committedRate waits a few slots for the last blocks, then counts the records in node 1's canonical blocks whose
// slots fall in the load's interval.
func (t *procTestnet) committedRate(ctx context.Context, g *chain.Genesis, start time.Time, d time.Duration) (float64, error) {
	time.Sleep(3 * time.Duration(g.SlotDuration))
	var st node.Status
	if err := getJSON(ctx, t.api(0)+"/api/status", &st); err != nil {
		return 0, err
	}
	slot := time.Duration(g.SlotDuration)
	first, last := uint64(start.Sub(g.Time)/slot), uint64(start.Add(d).Sub(g.Time)/slot)
	records := 0
	for from := uint64(1); from <= st.Height; from += 256 {
		var bs []node.BlockView
		if err := getJSON(ctx, fmt.Sprintf("%s/api/blocks?from=%d&to=%d", t.api(0), from, min(st.Height, from+255)), &bs); err != nil {
			return 0, err
		}
		for _, b := range bs {
			if b.Slot >= first && b.Slot < last {
				records += len(b.Txs)
			}
		}
	}
	return float64(records) / (time.Duration(last-first) * slot).Seconds(), nil
}

// waitHeight waits until every node's API answers with a head at least h high.
func (t *procTestnet) waitHeight(ctx context.Context, h uint64, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		low := ^uint64(0)
		for i := range t.procs {
			var st node.Status
			if err := getJSON(ctx, t.api(i)+"/api/status", &st); err != nil {
				low = 0
				break
			}
			low = min(low, st.Height)
		}
		if low >= h {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("testnet processes not at height %d after %s (logs: node.log in each home)", h, timeout)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

func getJSON(ctx context.Context, url string, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(resp.Body)
		return fmt.Errorf("GET %s: %s: %s", url, resp.Status, bytes.TrimSpace(msg))
	}
	return json.NewDecoder(resp.Body).Decode(v)
}
