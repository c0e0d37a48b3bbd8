package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// byzAttacks are the attacks of the byzantine stage: those a peer without a validator's key can make. Equivocate
// is left out: it needs a validator's key, and the key's owner stops signing by design when it sees another
// signer, which would take a validator out rather than test the others.
const byzAttacks = "sync-liar,flood,old-parent"

// byzOutcome is what the byzantine stage showed.
type byzOutcome struct {
	ran       bool
	slot0     uint64           // node1's current slot when the adversary started
	slot1     uint64           // and when it stopped
	filled    uint64           // blocks of the agreed chain in slots slot0+1..slot1 (set by checkByzantine)
	records   []record         // honest records accepted during the stage
	committed int              // of them, on the agreed chain exactly once (set by checkByzantine)
	sent      map[string]int64 // the adversary's counts: status, ranges, flood, single, old-parent
	rejects   [2]uint64        // node1's gossip rejects during the stage: blocks, txs
	penalties uint64           // node1's sync penalties during the stage
	stall     time.Duration    // longest time a node's height stood still during the stage
	err       error            // a violation of the stage, or nil
}

// byzantine runs the adversary binary against node1's published libp2p port for cfg.byzHold while the load goes
// on, and watches every node's height meanwhile. It starts once every validator signs (a restarted one first
// sits out its doppelganger check, PROTOCOL.md §10), so that the slots it measures are all the honest nodes'
// to fill. The chain checks come after the settle, in checkByzantine.
func (r *runner) byzantine(ctx context.Context) byzOutcome {
	o := byzOutcome{ran: true}
	if err := r.allSigning(ctx, r.cfg.recoverTimeout); err != nil {
		o.err = fmt.Errorf("byzantine: %w", err)
		return o
	}
	st, err := r.nodes[0].status(ctx)
	if err != nil {
		o.err = fmt.Errorf("byzantine: %w", err)
		return o
	}
	host, port, err := net.SplitHostPort(r.cfg.p2p)
	if err != nil {
		o.err = fmt.Errorf("byzantine: -p2p %q: %w", r.cfg.p2p, err)
		return o
	}
	boot := fmt.Sprintf("/ip4/%s/tcp/%s/p2p/%s", host, port, st.PeerID)
	recs0, _ := r.load.snapshot()
	blk0, tx0, pen0 := r.node1Counters(ctx)
	o.slot0 = st.Slot
	r.logf("byzantine: adversary (%s) against %s for %s", byzAttacks, boot, r.cfg.byzHold)
	done := make(chan error, 1)
	var out bytes.Buffer
	go func() { done <- r.runAdversary(ctx, boot, &out) }()
	o.stall = r.watch(ctx, -1, r.cfg.byzHold)
	err = <-done
	if st, e := r.nodes[0].status(ctx); e == nil {
		o.slot1 = st.Slot
	}
	blk1, tx1, pen1 := r.node1Counters(ctx)
	o.rejects, o.penalties = [2]uint64{blk1 - blk0, tx1 - tx0}, pen1-pen0
	recs1, _ := r.load.snapshot()
	o.records = recs1[len(recs0):]
	o.sent = parseCounts(out.String())
	if line, _, _ := strings.Cut(out.String(), "\n"); line != "" {
		r.logf("byzantine: %s", line)
	}
	switch {
	case err != nil:
		o.err = fmt.Errorf("byzantine: adversary: %w", err)
	case o.sent == nil:
		o.err = errors.New("byzantine: the adversary printed no counts")
	case o.stall > r.cfg.maxStall:
		o.err = fmt.Errorf("byzantine: a node made no block for %s (max %s)", o.stall.Round(100*time.Millisecond),
			r.cfg.maxStall)
	}
	return o
}

// allSigning waits until every node's status says it signs blocks.
func (r *runner) allSigning(ctx context.Context, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		var waiting []string
		for _, c := range r.nodes {
			if st, err := c.status(ctx); err != nil || st.Signing != "active" {
				waiting = append(waiting, fmt.Sprintf("%s (%s)", c.name, st.Signing))
			}
		}
		switch {
		case len(waiting) == 0:
			return nil
		case time.Now().After(deadline) || ctx.Err() != nil:
			return fmt.Errorf("not every node signs after %s: %s", timeout, strings.Join(waiting, ", "))
		}
		sleep(ctx, time.Second)
	}
}

// runAdversary runs the adversary binary for cfg.byzHold; its stdout goes to out, its log to cfg.adversaryLog.
func (r *runner) runAdversary(ctx context.Context, boot string, out *bytes.Buffer) error {
	cmd := exec.CommandContext(ctx, r.cfg.adversary, "--genesis", filepath.Join(r.cfg.testnet, "genesis.json"),
		"--bootstrap", boot, "--attacks", byzAttacks, "--duration", r.cfg.byzHold.String())
	cmd.Stdout = out
	if r.cfg.adversaryLog != "" {
		f, err := os.Create(r.cfg.adversaryLog)
		if err != nil {
			return err
		}
		defer f.Close()
		cmd.Stderr = f
	}
	cmd.WaitDelay = 10 * time.Second
	return cmd.Run()
}

// parseCounts reads the adversary's "adversary-counts name=N …" line; nil if there is none.
func parseCounts(out string) map[string]int64 {
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		rest, ok := strings.CutPrefix(sc.Text(), "adversary-counts ")
		if !ok {
			continue
		}
		m := map[string]int64{}
		for _, f := range strings.Fields(rest) {
			k, v, _ := strings.Cut(f, "=")
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				return nil
			}
			m[k] = n
		}
		return m
	}
	return nil
}

// node1Counters reads node1's gossip rejects (blocks, txs) and sync penalties; an unreadable series reads 0.
func (r *runner) node1Counters(ctx context.Context) (blocks, txs, penalties uint64) {
	c := r.nodes[0]
	blocks, _ = c.metric(ctx, `posnode_gossip_validation_total{topic="blocks",verdict="reject"}`)
	txs, _ = c.metric(ctx, `posnode_gossip_validation_total{topic="txs",verdict="reject"}`)
	penalties, _ = c.metric(ctx, "posnode_sync_penalties_total")
	return blocks, txs, penalties
}

// checkByzantine checks the stage on the settled chain: the honest nodes filled at least cfg.minFill of the
// stage's slots, and every record accepted during it is on the chain exactly once (the whole chain's agreement
// and exactly-once rules are verify's).
func (r *runner) checkByzantine(ctx context.Context, o *byzOutcome, f final) []error {
	switch {
	case !o.ran || o.err != nil: // nothing to measure, or the stage already failed
		return nil
	case o.slot1 <= o.slot0:
		return []error{fmt.Errorf("byzantine: no slot measured (slots %d..%d)", o.slot0, o.slot1)}
	}
	blocks, err := r.nodes[0].chain(ctx, f.height)
	if err != nil {
		return []error{fmt.Errorf("byzantine: %w", err)}
	}
	for _, b := range blocks {
		if b.Slot > o.slot0 && b.Slot <= o.slot1 {
			o.filled++
		}
	}
	for _, rec := range o.records {
		if f.counts[rec.id] == 1 {
			o.committed++
		}
	}
	var errs []error
	slots := o.slot1 - o.slot0
	if float64(o.filled) < r.cfg.minFill*float64(slots) {
		errs = append(errs, fmt.Errorf("byzantine: the honest nodes filled %d of %d slots (%s; want ≥ %.0f%%)",
			o.filled, slots, pct(o.filled, slots), r.cfg.minFill*100))
	}
	if o.committed != len(o.records) {
		errs = append(errs, fmt.Errorf("byzantine: %d of %d records accepted during the stage are on the chain once",
			o.committed, len(o.records)))
	}
	if len(o.records) == 0 {
		errs = append(errs, errors.New("byzantine: no honest record was accepted during the stage"))
	}
	return errs
}
