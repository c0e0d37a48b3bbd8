package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"strings"
	"sync/atomic"
	"time"
)

// explorerTab does to a node what an open, visible explorer page does (node/httpapi/explorer/static/explorer.js):
// it loads the page and its files once, then holds GET /api/events open and fetches the page's main part again on
// every head or reorg event, one fetch at a time (the script also waits a second between fetches, which with the
// testnet's 1 s slots changes nothing).
type explorerTab struct {
	redraws atomic.Int64
	failed  atomic.Int64
	cancel  context.CancelFunc
	done    chan error
}

// streamClient has no timeout: an event stream stays open as long as the page does.
var streamClient = &http.Client{}

// openExplorer opens a tab on the node whose API is at api; close it with close.
func openExplorer(ctx context.Context, api string) (*explorerTab, error) {
	for _, path := range []string{"/", "/static/explorer.css", "/static/explorer.js", "/static/favicon.svg"} {
		if err := fetch(ctx, api+path); err != nil {
			return nil, err
		}
	}
	ctx, cancel := context.WithCancel(ctx)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, api+"/api/events", nil)
	if err != nil {
		cancel()
		return nil, err
	}
	resp, err := streamClient.Do(req)
	if err != nil {
		cancel()
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		resp.Body.Close()
		cancel()
		return nil, fmt.Errorf("GET /api/events: %s", resp.Status)
	}
	tab := &explorerTab{cancel: cancel, done: make(chan error, 1)}
	go func() {
		defer resp.Body.Close()
		tab.done <- tab.follow(ctx, api, resp.Body)
	}()
	return tab, nil
}

// follow reads the event stream until it ends, redrawing on each head and reorg event.
func (tab *explorerTab) follow(ctx context.Context, api string, events io.Reader) error {
	sc := bufio.NewScanner(events)
	for sc.Scan() {
		kind, ok := strings.CutPrefix(sc.Text(), "event: ")
		if !ok || (kind != "head" && kind != "reorg") {
			continue
		}
		if err := fetch(ctx, api+"/?part=main"); err != nil {
			tab.failed.Add(1)
			continue
		}
		tab.redraws.Add(1)
	}
	if ctx.Err() != nil {
		return nil
	}
	return fmt.Errorf("event stream ended: %v", sc.Err())
}

// close shuts the tab and returns how many redraws it made, and the stream's error if it ended early.
func (tab *explorerTab) close() (redraws, failed int64, err error) {
	tab.cancel()
	err = <-tab.done
	return tab.redraws.Load(), tab.failed.Load(), err
}

// fetch GETs url and reads the whole answer, as a browser would.
func fetch(ctx context.Context, url string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return nil
}

// pagePhases is what the idle testnet used with an explorer page open on node 1, and after it closed again.
type pagePhases struct {
	open, closed    []usage
	d               time.Duration
	redraws, failed int64
}

// withPage measures the nodes for d with an explorer page open on node 1, then for d after closing it.
func (t *procTestnet) withPage(ctx context.Context, pids []int, d time.Duration) (*pagePhases, error) {
	log.Printf("resources: idle with an explorer page open on node 1 for %s, then closed for %s", d, d)
	tab, err := openExplorer(ctx, t.api(0))
	if err != nil {
		return nil, fmt.Errorf("open the explorer: %w", err)
	}
	p := &pagePhases{d: d}
	p.open, err = measure(ctx, pids, d)
	redraws, failed, cerr := tab.close()
	if err := errors.Join(err, cerr); err != nil {
		return nil, err
	}
	p.redraws, p.failed = redraws, failed
	if p.closed, err = measure(ctx, pids, d); err != nil {
		return nil, err
	}
	return p, nil
}

// rows writes the two phases' rows of the resources table; nothing when they were not measured.
func (p *pagePhases) rows(w io.Writer) {
	if p == nil {
		return
	}
	for _, phase := range []struct {
		name string
		use  []usage
	}{{"idle, explorer page open on node 1", p.open}, {"idle, page closed again", p.closed}} {
		for i, u := range phase.use {
			fmt.Fprintf(w, "| %s | %d | %.1f %% | %.1f MB | %.1f MB |\n", phase.name, i+1, 100*u.cpu, u.rssMB, u.maxMB)
		}
	}
}

// summary compares node 1 with and without the page against the other nodes, which never had one.
func (p *pagePhases) summary(w io.Writer, idle []usage) {
	if p == nil {
		return
	}
	others := func(us []usage) float64 {
		sum := 0.0
		for _, u := range us[1:] {
			sum += u.cpu
		}
		return 100 * sum / float64(len(us)-1)
	}
	fmt.Fprintf(w, "Explorer page: a client that does what an open page does (loads `/` and its files, holds `GET /api/events` "+
		"open and fetches `/?part=main` on each head) stayed on node 1 for %s and redrew %d times (%d failed). "+
		"Node 1's CPU: %.1f %% idle, %.1f %% with the page, %.1f %% after it closed; RSS %.1f, %.1f, %.1f MB. "+
		"Nodes 2–4, which had no page, over the same three periods: %.1f %%, %.1f %%, %.1f %% CPU on average.\n\n",
		fmtDur(p.d), p.redraws, p.failed, 100*idle[0].cpu, 100*p.open[0].cpu, 100*p.closed[0].cpu,
		idle[0].rssMB, p.open[0].rssMB, p.closed[0].rssMB, others(idle), others(p.open), others(p.closed))
}
