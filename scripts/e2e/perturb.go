package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"time"
)

// perturbation is one fault applied to one node and then undone, as in CometBFT's e2e runner.
type perturbation struct {
	name  string
	node  int // index into the testnet's nodes
	apply []string
	undo  []string
	// drain: stop the load on the node and let its mempool empty before the fault, because the fault loses
	// the node's memory (a killed process keeps nothing of what it had not yet put in a block or gossiped).
	drain bool
}

// outcome is what running a perturbation showed.
type outcome struct {
	p        perturbation
	advance  []int64 // blocks each other node added during the fault; -1 for the perturbed node
	recovery time.Duration
	stall    time.Duration // longest time any other node's height stood still during the fault
	caughtUp uint64        // height at which the perturbed node matched the others
	err      error         // a violation, or nil
}

// perturbations are the faults of a run, one per node from the last (most stake) down: kill and restart, pause,
// and a partition of one node from the others.
func (r *runner) perturbations() []perturbation {
	n := len(r.nodes)
	kill, pause, cut := n-1, max(n-2, 0), max(n-3, 0)
	c := func(i int) string { return fmt.Sprintf("%s-node%d", r.cfg.name, i+1) }
	net := r.cfg.name + "-net"
	alias := fmt.Sprintf("node%d", cut+1) // the compose service name the others dial
	return []perturbation{
		{name: "kill+start", node: kill, apply: []string{"kill", c(kill)}, undo: []string{"start", c(kill)}, drain: true},
		{name: "pause", node: pause, apply: []string{"pause", c(pause)}, undo: []string{"unpause", c(pause)}},
		{name: "disconnect", node: cut, apply: []string{"network", "disconnect", net, c(cut)},
			undo: []string{"network", "connect", "--alias", alias, net, c(cut)}},
	}
}

// docker runs a docker command and returns its error with its output.
func docker(ctx context.Context, args ...string) error {
	var out bytes.Buffer
	cmd := exec.CommandContext(ctx, "docker", args...)
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("docker %s: %w: %s", strings.Join(args, " "), err, bytes.TrimSpace(out.Bytes()))
	}
	return nil
}

// perturb applies p, holds it while the other nodes go on, undoes it and waits for the node to catch up.
func (r *runner) perturb(ctx context.Context, p perturbation) outcome {
	o := outcome{p: p}
	victim := r.nodes[p.node]
	r.load.pause(p.node, true)
	defer r.load.pause(p.node, false)
	if p.drain && r.cfg.drain {
		if err := r.drain(ctx, p.node); err != nil {
			o.err = err
			return o
		}
	}
	before := r.heights(ctx, p.node)
	r.logf("%s %s", p.name, victim.name)
	r.finality.faulted.Store(int64(p.node)) // until it caught up: its votes do not count meanwhile
	defer r.finality.faulted.Store(-1)
	if err := docker(ctx, p.apply...); err != nil {
		o.err = err
		return o
	}
	o.stall = r.watch(ctx, p.node, r.cfg.hold)
	after := r.heights(ctx, p.node)
	ref := r.best(after, p.node)
	undone := time.Now() // recovery counts from here, so a restart's start-up time is in it
	if err := docker(ctx, p.undo...); err != nil {
		o.err = err
		return o
	}
	o.advance = advances(before, after, p.node)
	o.caughtUp, o.err = r.catchUp(ctx, p.node, ref)
	o.recovery = time.Since(undone)
	if o.err == nil {
		o.err = r.checkAdvance(o)
	}
	return o
}

// drain waits (up to 30 s) until every record node i accepted is committed on another node's chain, so that
// killing it loses nothing it acknowledged. (Its mempool also holds other nodes' records, so it never empties
// under load; and a restarted node picks its next nonce from its chain, so its own records must be committed,
// not merely gossiped, or it would reuse their nonces.)
func (r *runner) drain(ctx context.Context, i int) error {
	sleep(ctx, time.Second) // let submissions in flight finish
	other := r.nodes[(i+1)%len(r.nodes)]
	recs, _ := r.load.snapshot()
	var open []string
	for _, rec := range recs {
		if rec.node == i {
			open = append(open, rec.id)
		}
	}
	deadline := time.Now().Add(30 * time.Second)
	for len(open) > 0 && time.Now().Before(deadline) && ctx.Err() == nil {
		var still []string
		for _, id := range open {
			if st, err := other.tx(ctx, id); err != nil || (st.Status != "committed" && st.Status != "finalized") {
				still = append(still, id)
			}
		}
		if open = still; len(open) > 0 {
			sleep(ctx, 500*time.Millisecond)
		}
	}
	if len(open) > 0 {
		return fmt.Errorf("%s: %d of its records not committed on %s 30s after its load stopped", r.nodes[i].name,
			len(open), other.name)
	}
	return nil
}

// watch samples the other nodes' heights for d and returns the longest time one of them stood still.
func (r *runner) watch(ctx context.Context, skip int, d time.Duration) time.Duration {
	end := time.Now().Add(d)
	last, since := r.heights(ctx, skip), make([]time.Time, len(r.nodes))
	for i := range since {
		since[i] = time.Now()
	}
	var worst time.Duration
	for time.Now().Before(end) && ctx.Err() == nil {
		sleep(ctx, 500*time.Millisecond)
		hs, now := r.heights(ctx, skip), time.Now()
		for i, h := range hs {
			if i == skip {
				continue
			}
			if h > last[i] {
				last[i], since[i] = h, now
			}
			worst = max(worst, now.Sub(since[i]))
		}
	}
	return worst
}

// heights reads every node's height but skip's; skip and an unreachable node read as -1.
func (r *runner) heights(ctx context.Context, skip int) []int64 {
	hs := make([]int64, len(r.nodes))
	for i, c := range r.nodes {
		hs[i] = -1
		if i == skip {
			continue
		}
		if st, err := c.status(ctx); err == nil {
			hs[i] = int64(st.Height)
		}
	}
	return hs
}

// best is the highest height among the nodes other than skip.
func (r *runner) best(hs []int64, skip int) uint64 {
	var b int64
	for i, h := range hs {
		if i != skip {
			b = max(b, h)
		}
	}
	return uint64(b)
}

func advances(before, after []int64, skip int) []int64 {
	adv := make([]int64, len(before))
	for i := range before {
		adv[i] = -1
		if i != skip && before[i] >= 0 && after[i] >= 0 {
			adv[i] = after[i] - before[i]
		}
	}
	return adv
}

// checkAdvance is the liveness rule: every other node's chain grew by at least minAdvance blocks during the fault.
func (r *runner) checkAdvance(o outcome) error {
	var errs []error
	for i, a := range o.advance {
		if i != o.p.node && a < r.cfg.minAdvance {
			errs = append(errs, fmt.Errorf("%s: %s advanced %d blocks during %s of %s (want ≥ %d)",
				o.p.name, r.nodes[i].name, a, r.cfg.hold, r.nodes[o.p.node].name, r.cfg.minAdvance))
		}
	}
	if o.stall > r.cfg.maxStall {
		errs = append(errs, fmt.Errorf("%s of %s: a healthy node made no block for %s (max %s)", o.p.name,
			r.nodes[o.p.node].name, o.stall.Round(100*time.Millisecond), r.cfg.maxStall))
	}
	return errors.Join(errs...)
}

// catchUp waits until node i holds, at height ref or above, the same block as a node that was not perturbed.
func (r *runner) catchUp(ctx context.Context, i int, ref uint64) (uint64, error) {
	other := r.nodes[(i+1)%len(r.nodes)]
	deadline := time.Now().Add(r.cfg.recoverTimeout)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		if h, ok := r.sameBlock(ctx, r.nodes[i], other, ref); ok {
			return h, nil
		}
		sleep(ctx, 250*time.Millisecond)
	}
	return 0, fmt.Errorf("%s did not catch up to height %d within %s", r.nodes[i].name, ref, r.cfg.recoverTimeout)
}

// sameBlock reports whether a and b have reached height ref and agree on the block at their common height.
func (r *runner) sameBlock(ctx context.Context, a, b *client, ref uint64) (uint64, bool) {
	sa, err1 := a.status(ctx)
	sb, err2 := b.status(ctx)
	if err1 != nil || err2 != nil || sa.Height < ref || sb.Height < ref {
		return 0, false
	}
	h := min(sa.Height, sb.Height)
	ba, err1 := a.block(ctx, h)
	bb, err2 := b.block(ctx, h)
	return h, err1 == nil && err2 == nil && ba.Hash == bb.Hash
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
