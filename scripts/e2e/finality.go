package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"sync/atomic"
	"time"
)

// The finality checks (PROTOCOL.md §8a), made from polls of every node's /api/finality and /api/status through
// the whole run:
//
//   - liveness: a quorum span is a stretch of polls in which the nodes that are not under a fault and say
//     "signing": "active" hold at least two thirds of the stake. Within a quorum span, the finalized epoch (the
//     highest any node reports) rises at least once in every stretch of finalityWindow epochs: from the span's
//     start, or the last rise, no more than finalityWindow·epoch_length slots pass without one.
//   - safety: every finalized checkpoint (epoch, hash, height) any node ever reported is, at the end, the
//     canonical block at that height on every node.

type checkpoint struct {
	Epoch uint64 `json:"epoch"`
	Hash  string `json:"hash"`
}

type finalityView struct {
	Justified       checkpoint `json:"justified"`
	Finalized       checkpoint `json:"finalized"`
	FinalizedHeight uint64     `json:"finalized_height"`
	Slot            uint64     `json:"slot"`
	LagSlots        uint64     `json:"lag_slots"`
}

func (c *client) finality(ctx context.Context) (finalityView, error) {
	var f finalityView
	err := c.do(ctx, http.MethodGet, "/api/finality", nil, &f)
	return f, err
}

// finalizedBlock is a finalized checkpoint as a node reported it, with the height of its block.
type finalizedBlock struct {
	epoch, height uint64
	hash          string
	by            string // the node that reported it first
}

// finalitySample is one poll of every node.
type finalitySample struct {
	slot      uint64 // the highest slot any node reported
	finalized uint64 // the highest finalized epoch any node reported
	quorum    bool   // signing stake, outside the faulted node, at least two thirds of the total
	lag       uint64 // the highest finality lag (slots) any signing node reported
}

// finalityWatch polls the nodes and keeps what the checks need; faulted is the index of the node under a fault
// (or catching up from one), −1 when none is.
type finalityWatch struct {
	nodes       []*client
	faulted     atomic.Int64
	epochLength uint64
	window      uint64            // epochs
	stake       map[string]uint64 // peer ID → stake, from the genesis allocations
	total       uint64

	mu       sync.Mutex
	samples  []finalitySample
	seen     map[checkpoint]finalizedBlock
	mismatch []error // two nodes reported different blocks for one finalized epoch
}

// newFinalityWatch reads the epoch length and stakes from the testnet's genesis.json.
func newFinalityWatch(nodes []*client, testnet string, window uint64) (*finalityWatch, error) {
	data, err := os.ReadFile(filepath.Join(testnet, "genesis.json"))
	if err != nil {
		return nil, err
	}
	var g struct {
		EpochLength uint64 `json:"epoch_length"`
		Allocations []struct {
			Address string `json:"address"`
			Stake   uint64 `json:"stake"`
		} `json:"allocations"`
	}
	if err := json.Unmarshal(data, &g); err != nil {
		return nil, fmt.Errorf("genesis.json: %w", err)
	}
	w := &finalityWatch{nodes: nodes, epochLength: g.EpochLength, window: window, stake: map[string]uint64{},
		seen: map[checkpoint]finalizedBlock{}}
	for _, a := range g.Allocations {
		w.stake[a.Address] = a.Stake
		w.total += a.Stake
	}
	if w.epochLength == 0 || w.total == 0 {
		return nil, errors.New("genesis.json: no epoch length or no stake")
	}
	w.faulted.Store(-1)
	return w, nil
}

// run polls every second until ctx ends.
func (w *finalityWatch) run(ctx context.Context) {
	for ctx.Err() == nil {
		w.poll(ctx)
		sleep(ctx, time.Second)
	}
}

func (w *finalityWatch) poll(ctx context.Context) {
	var s finalitySample
	var signing uint64
	faulted := int(w.faulted.Load())
	for i, c := range w.nodes {
		st, err1 := c.status(ctx)
		f, err2 := c.finality(ctx)
		if err1 != nil || err2 != nil {
			continue
		}
		s.slot, s.finalized = max(s.slot, f.Slot), max(s.finalized, f.Finalized.Epoch)
		w.note(c.name, f)
		if i != faulted && st.Signing == "active" {
			signing += w.stake[st.PeerID]
			s.lag = max(s.lag, f.LagSlots)
		}
	}
	s.quorum = 3*signing >= 2*w.total
	w.mu.Lock()
	w.samples = append(w.samples, s)
	w.mu.Unlock()
}

// note records a node's finalized checkpoint, and any disagreement with what another node reported for the epoch.
func (w *finalityWatch) note(node string, f finalityView) {
	w.mu.Lock()
	defer w.mu.Unlock()
	key := checkpoint{Epoch: f.Finalized.Epoch}
	fb := finalizedBlock{epoch: f.Finalized.Epoch, height: f.FinalizedHeight, hash: f.Finalized.Hash, by: node}
	if old, ok := w.seen[key]; !ok {
		w.seen[key] = fb
	} else if old.hash != fb.hash && len(w.mismatch) < 10 {
		w.mismatch = append(w.mismatch, fmt.Errorf("finalized epoch %d: %s reported block %.8s, %s block %.8s",
			fb.epoch, old.by, old.hash, node, fb.hash))
	}
}

// finalityResult is what the checks found, for the report.
type finalityResult struct {
	first, last   uint64 // finalized epochs seen at the start and at the end
	checkpoints   int    // distinct finalized checkpoints checked on every node
	spans         int    // quorum spans
	quorumSlots   uint64 // slots inside quorum spans
	longestNoRise uint64 // longest stretch of a quorum span without the finalized epoch rising, in slots
	maxLag        uint64 // the highest finality lag any signing node reported, in slots
	maxLagQuorum  uint64 // the same, inside quorum spans
	errs          []error
}

// liveness checks the samples against the liveness rule.
func (w *finalityWatch) liveness(res *finalityResult) {
	w.mu.Lock()
	defer w.mu.Unlock()
	limit := w.window * w.epochLength
	var inSpan, reported bool
	var lastRise, prevFin uint64
	for i, s := range w.samples {
		if i == 0 {
			res.first = s.finalized
		}
		res.last, res.maxLag = max(res.last, s.finalized), max(res.maxLag, s.lag)
		if !s.quorum {
			inSpan, prevFin = false, s.finalized
			continue
		}
		if !inSpan {
			inSpan, lastRise, reported = true, s.slot, false
			res.spans++
		} else {
			res.quorumSlots += s.slot - w.samples[i-1].slot
		}
		res.maxLagQuorum = max(res.maxLagQuorum, s.lag)
		gap := s.slot - min(lastRise, s.slot) // slots since the span began or the finalized epoch last rose
		res.longestNoRise = max(res.longestNoRise, gap)
		if gap > limit && !reported {
			reported = true
			res.errs = append(res.errs, fmt.Errorf("finality: finalized epoch stayed at %d for %d slots (slots %d..%d) "+
				"while validators with ≥ 2/3 of the stake signed (limit %d epochs = %d slots)",
				prevFin, gap, lastRise, s.slot, w.window, limit))
		}
		if s.finalized > prevFin {
			lastRise = s.slot
		}
		prevFin = s.finalized
	}
	if res.quorumSlots < limit {
		res.errs = append(res.errs, fmt.Errorf("finality: only %d slots with a signing quorum, fewer than the %d-slot "+
			"window: the liveness rule checked nothing", res.quorumSlots, limit))
	}
}

// safety checks that every finalized checkpoint seen is the canonical block at its height on every node.
func (w *finalityWatch) safety(ctx context.Context, res *finalityResult) {
	w.mu.Lock()
	cps := make([]finalizedBlock, 0, len(w.seen))
	for _, fb := range w.seen {
		cps = append(cps, fb)
	}
	res.errs = append(res.errs, w.mismatch...)
	w.mu.Unlock()
	sort.Slice(cps, func(i, j int) bool { return cps[i].epoch < cps[j].epoch })
	res.checkpoints = len(cps)
	for _, fb := range cps {
		for _, c := range w.nodes {
			b, err := c.block(ctx, fb.height)
			switch {
			case err != nil:
				res.errs = append(res.errs, fmt.Errorf("finality: %s: block %d (finalized epoch %d): %w", c.name, fb.height, fb.epoch, err))
			case b.Hash != fb.hash:
				res.errs = append(res.errs, fmt.Errorf("finality: finalized block %.8s at height %d (epoch %d, reported by %s) "+
					"reverted on %s, which holds %.8s there", fb.hash, fb.height, fb.epoch, fb.by, c.name, b.Hash))
			}
		}
	}
}

// check runs both checks.
func (w *finalityWatch) check(ctx context.Context) finalityResult {
	var res finalityResult
	w.liveness(&res)
	w.safety(ctx, &res)
	return res
}

// finalityLine prints the finality figures of the report.
func (r *runner) finalityLine(res finalityResult) {
	ok := "ok"
	if len(res.errs) > 0 {
		ok = "FAIL"
	}
	fmt.Printf("finality     finalized epoch %d → %d; %d finalized checkpoints, each on every node's chain at the end\n",
		res.first, res.last, res.checkpoints)
	fmt.Printf("             %d quorum spans (%d slots with ≥ 2/3 of the stake signing): longest stretch without a "+
		"new finalized epoch %d slots (limit %d); max finality lag %d slots (%d in quorum spans): %s\n",
		res.spans, res.quorumSlots, res.longestNoRise, r.finality.window*r.finality.epochLength, res.maxLag,
		res.maxLagQuorum, ok)
}
