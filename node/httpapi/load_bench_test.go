package httpapi_test

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/posnode/posnode/chain"
)

// BenchmarkAPILoad measures what read traffic costs block production: one validator with all the stake produces
// blocks of records while, for POSNODE_LOAD_SECONDS (default 60), 20 clients ask /api/slots for old epochs and 20
// ask /api/blocks ranges as fast as they can, and a probe times a call through the node's event loop (Status)
// every 20 ms. The same probe and the slot fill are measured first for a third of that time without load.
// POSNODE_LOAD_RECORDS (default 500) records are fed each slot of POSNODE_LOAD_SLOT (default 200ms); the table
// says how many the blocks held. It prints one table; run it with -benchtime=1x:
//
//	POSNODE_LOAD_SECONDS=60 POSNODE_LOAD_SLOT=1s POSNODE_LOAD_RECORDS=5000 go test -run '^$' -bench APILoad -benchtime=1x ./node/httpapi/
func BenchmarkAPILoad(b *testing.B) {
	secs, _ := strconv.Atoi(os.Getenv("POSNODE_LOAD_SECONDS"))
	if secs <= 0 {
		secs = 60
	}
	records, _ := strconv.Atoi(os.Getenv("POSNODE_LOAD_RECORDS")) // records fed per slot
	if records <= 0 {
		records = 500
	}
	slot, _ := time.ParseDuration(os.Getenv("POSNODE_LOAD_SLOT"))
	if slot <= 0 {
		slot = 200 * time.Millisecond
	}
	n, senders := startLoadNode(b, slot)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go feed(ctx, n, senders, records, slot)
	waitFor(b, 60*time.Second+80*slot, "10 epochs of chain", func() bool {
		st, err := n.Status(ctx)
		return err == nil && st.Epoch >= 10
	})
	for range b.N {
		idle := measurePhase(b, n, time.Duration(secs)*time.Second/3, 0)
		load := measurePhase(b, n, time.Duration(secs)*time.Second, 20)
		printLoad(b, secs, records, slot, idle, load)
	}
}

// phase is what one measurement saw.
type phase struct {
	dur           time.Duration
	slots, blocks uint64
	loop          []time.Duration // event-loop probe round trips
	routes        map[string]*routeStats
	heapMB, sysMB float64
	rssMB         float64 // the process's resident set (VmRSS) at the end; 0 where /proc is missing
	load          string  // the machine's load averages at the end (/proc/loadavg)
	txsMean       float64 // records per block of the phase's blocks
	txsMax        int
}

// blockRecords returns the mean and the largest number of records of the canonical blocks from..to.
func blockRecords(b *testing.B, n *apiNode, from, to uint64) (float64, int) {
	total, most, count := 0, 0, 0
	for h := from; h <= to; h++ {
		v, err := n.Block(context.Background(), h)
		if err != nil {
			b.Fatalf("block %d: %v", h, err)
		}
		total, most, count = total+len(v.Txs), max(most, len(v.Txs)), count+1
	}
	if count == 0 {
		return 0, 0
	}
	return float64(total) / float64(count), most
}

// procStatus returns the process's resident set in MB and the machine's load averages, from /proc.
func procStatus() (rssMB float64, load string) {
	if b, err := os.ReadFile("/proc/self/status"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if f := strings.Fields(l); len(f) >= 2 && f[0] == "VmRSS:" {
				kb, _ := strconv.ParseFloat(f[1], 64)
				rssMB = kb / 1024
			}
		}
	}
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		if f := strings.Fields(string(b)); len(f) >= 3 {
			load = strings.Join(f[:3], " ")
		}
	}
	return rssMB, load
}

type routeStats struct {
	lat            []time.Duration
	ok, busy, fail int
}

// startLoadNode runs a validator of the given slots, epochs of 8, with 200 funded senders of records.
func startLoadNode(b *testing.B, slot time.Duration) (*apiNode, []ed25519.PrivateKey) {
	seed := sha256.Sum256([]byte(b.Name()))
	key := ed25519.NewKeyFromSeed(seed[:])
	g := &chain.Genesis{ChainID: "posnode-load", Time: time.Now().Truncate(time.Millisecond),
		SlotDuration: chain.Duration(slot), EpochLength: 8, BlockReward: 10, MinStake: 1, TxFee: 1,
		Allocations: []chain.Allocation{{Address: chain.AddressOf(key.Public().(ed25519.PublicKey)), Balance: 1_000_000, Stake: 10}}}
	var senders []ed25519.PrivateKey
	for i := range 200 {
		s := sha256.Sum256(fmt.Appendf(nil, "sender-%d", i))
		k := ed25519.NewKeyFromSeed(s[:])
		senders = append(senders, k)
		g.Allocations = append(g.Allocations, chain.Allocation{Address: chain.AddressOf(k.Public().(ed25519.PublicKey)),
			Balance: 100_000_000})
	}
	return runNode(b, g, key, nil), senders
}

// feed submits about perSlot records each slot, spread over the senders, until ctx is done. A sender's next
// record takes the nonce after its last admitted one: one the node refused (a full mempool) is signed again.
func feed(ctx context.Context, n *apiNode, senders []ed25519.PrivateKey, perSlot int, slot time.Duration) {
	nonces := make([]chain.Nonce, len(senders))
	tick := time.NewTicker(slot)
	defer tick.Stop()
	for i := 0; ; {
		var batch []chain.Tx
		var who []int
		for range perSlot {
			s := i % len(senders)
			k := senders[s]
			tx := chain.Tx{Kind: chain.TxBPM, From: chain.AddressOf(k.Public().(ed25519.PublicKey)),
				Nonce: nonces[s], Value: uint64(60 + i%60), Fee: 1}
			tx.Sign(n.ChainID(), k)
			batch, who = append(batch, tx), append(who, s)
			nonces[s]++ // account nonces start at 0
			i++
		}
		for len(batch) > 0 {
			m := min(len(batch), chain.MaxTxBatch)
			errs, err := n.SubmitBatch(ctx, batch[:m])
			for j := range m {
				if err != nil || errs[j] != nil {
					nonces[who[j]] = min(nonces[who[j]], batch[j].Nonce)
				}
			}
			batch, who = batch[m:], who[m:]
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// measurePhase runs clients per kind of route (0: none) for d and measures the slot fill and the loop's latency.
func measurePhase(b *testing.B, n *apiNode, d time.Duration, clients int) phase {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	p := phase{dur: d, routes: map[string]*routeStats{}}
	st0, _ := n.Status(ctx)
	var mu sync.Mutex
	var wg sync.WaitGroup
	for i := range 2 * clients {
		route := [2]string{"/api/slots (old epochs)", "/api/blocks (256-block ranges)"}[i%2]
		p.routes[route] = &routeStats{}
		wg.Go(func() { hammer(ctx, n, route, i, st0.Epoch, st0.Height, &mu, p.routes[route]) })
	}
	tick := time.NewTicker(20 * time.Millisecond)
	for done := false; !done; {
		select {
		case <-ctx.Done():
			done = true
		case <-tick.C:
			t0 := time.Now()
			if _, err := n.Status(ctx); err == nil {
				p.loop = append(p.loop, time.Since(t0))
			}
		}
	}
	tick.Stop()
	wg.Wait()
	st1, err := n.Status(context.Background())
	if err != nil {
		b.Fatal(err)
	}
	p.slots, p.blocks = st1.Slot-st0.Slot, st1.Height-st0.Height
	p.txsMean, p.txsMax = blockRecords(b, n, st0.Height+1, st1.Height)
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	p.heapMB, p.sysMB = float64(ms.HeapInuse)/(1<<20), float64(ms.Sys)/(1<<20)
	p.rssMB, p.load = procStatus()
	return p
}

// hammer asks route as fast as it can until ctx is done: old epochs' slots, or 256-block ranges below height.
func hammer(ctx context.Context, n *apiNode, route string, seed int, epochs, height uint64, mu *sync.Mutex, rs *routeStats) {
	rng := rand.New(rand.NewPCG(uint64(seed), 1))
	client := &http.Client{}
	for ctx.Err() == nil {
		var path string
		if e := rng.Uint64N(max(epochs, 2) - 1); route[5] == 's' {
			path = fmt.Sprintf("/api/slots?from=%d&to=%d", e, e+1)
		} else {
			from := rng.Uint64N(max(height, 256) - 255)
			path = fmt.Sprintf("/api/blocks?from=%d&to=%d", from, from+255)
		}
		req, _ := http.NewRequestWithContext(ctx, "GET", "http://"+n.HTTPAddr()+path, nil)
		t0 := time.Now()
		resp, err := client.Do(req)
		if err != nil {
			continue
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		lat := time.Since(t0)
		mu.Lock()
		switch resp.StatusCode {
		case 200:
			rs.ok++
			rs.lat = append(rs.lat, lat)
		case 503:
			rs.busy++
		default:
			rs.fail++
		}
		mu.Unlock()
	}
}

func quantile(ds []time.Duration, q float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[min(len(s)-1, int(q*float64(len(s))))]
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1f", float64(d.Microseconds())/1000) }

// printLoad prints the table of BENCHMARKS.md's section on read load.
func printLoad(b *testing.B, secs, records int, slot time.Duration, idle, load phase) {
	w := os.Stdout
	fmt.Fprintf(w, "\nread load: %d s under load (%d s idle first), %d records fed per %v slot, GOMAXPROCS %d\n\n",
		secs, secs/3, records, slot, runtime.GOMAXPROCS(0))
	fmt.Fprintln(w, "| route | answers 200 | answers/s | 503 (busy) | other | p50 ms | p99 ms |")
	fmt.Fprintln(w, "|---|---:|---:|---:|---:|---:|---:|")
	for _, name := range []string{"/api/slots (old epochs)", "/api/blocks (256-block ranges)"} {
		rs := load.routes[name]
		fmt.Fprintf(w, "| %s | %d | %.1f | %d | %d | %s | %s |\n", name, rs.ok, float64(rs.ok)/load.dur.Seconds(),
			rs.busy, rs.fail, ms(quantile(rs.lat, 0.5)), ms(quantile(rs.lat, 0.99)))
	}
	fmt.Fprintln(w, "\n| phase | slots | blocks | missed | fill | records per block (mean / most) | loop call p50 ms | p99 ms | max ms | heap in use MB | Go sys MB | RSS MB | load avg (1/5/15 min) |")
	fmt.Fprintln(w, "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|")
	for _, p := range []struct {
		name string
		ph   phase
	}{{"no load", idle}, {"40 clients", load}} {
		ph := p.ph
		fmt.Fprintf(w, "| %s | %d | %d | %d | %.1f %% | %.0f / %d | %s | %s | %s | %.0f | %.0f | %.0f | %s |\n", p.name, ph.slots,
			ph.blocks, ph.slots-min(ph.blocks, ph.slots), 100*float64(ph.blocks)/float64(max(ph.slots, 1)), ph.txsMean, ph.txsMax,
			ms(quantile(ph.loop, 0.5)),
			ms(quantile(ph.loop, 0.99)), ms(quantile(ph.loop, 1)), ph.heapMB, ph.sysMB, ph.rssMB, ph.load)
	}
	b.ReportMetric(float64(load.blocks)/float64(max(load.slots, 1)), "fill-under-load")
}
