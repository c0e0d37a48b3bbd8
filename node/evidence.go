package node

import (
	"bytes"
	"errors"
	"path/filepath"
	"slices"
	"time"

	"go.uber.org/zap"

	"github.com/posnode/posnode/chain"
	"github.com/posnode/posnode/node/evidencefile"
	"github.com/posnode/posnode/node/finality"
)

// The evidence file (evidence.pending, package evidencefile) holds the evidence this node found or received and
// that no finalized block holds yet (PROTOCOL.md §8b): the duty's pending evidence and the evidence of canonical
// blocks above the finalized checkpoint, which a reorg would make pending again. An offender that sends each of
// its two votes to different nodes leaves one node holding both; if that node crashed before a block included
// the evidence and the evidence lived only in its memory, the offence would go unpunished. The loop looks after
// every event whether the set changed (keepEvidence) and has the file replaced off the loop; a start restores the
// set into the duty's pool (openEvidence), and the pending evidence is published again when peers join and every
// regossipEvery (regossipEvidence).

// evidenceRetryAfter is how long a write of the evidence file that failed (a full or failing disk) waits before it
// is tried again: one attempt a second while the disk fails, not one per event (each failure is itself an event).
const evidenceRetryAfter = time.Second

// evidenceState is the evidence file's bookkeeping; the event loop owns it.
type evidenceState struct {
	file    *evidencefile.File
	kept    []chain.Hash     // the IDs of the set last handed to the file, sorted
	gen     uint64           // the generation of that set (evidencefile.File.Write)
	writing bool             // a write runs off the loop; the next waits for it (writes coalesce)
	changes uint64           // the pool's Changes at the last look
	final   chain.Checkpoint // the finalized checkpoint of the last look made with every accepted block stored
	stale   bool             // the last write failed: write at the next look once backoff is over
	backoff bool             // a write failed less than evidenceRetryAfter ago: the next waits for its timer
	recheck bool             // compare the set at the next look: waiting pieces changed, or it came during a write
	waiting []chain.Evidence // restored pieces the head cannot judge yet (openEvidence)
	head    chain.Hash       // the head waiting was last tried at
}

// openEvidence opens the evidence file and puts what it holds back into the duty's pool, each piece checked as
// one from a peer (it proves an offence on this chain, its offender can still be punished on the head's branch).
// A piece against an offender the head cannot punish yet (a node whose chain.db was lost starts from an old
// head) waits until the head reaches the offence's epoch. Called by New, after openFFG.
func (n *Node) openEvidence() error {
	path := filepath.Join(n.cfg.Data, evidencefile.FileName)
	f, set, err := evidencefile.Open(path)
	if err != nil {
		return err
	}
	if n.cfg.DiskFault != nil {
		f.SetFault(n.cfg.DiskFault)
	}
	st := &n.evidence
	*st = evidenceState{file: f}
	restored := 0
	for _, e := range set {
		st.kept = append(st.kept, e.ID())
		if err := e.ValidateBasic(); err != nil {
			n.log.Warn("evidence file: dropped a piece that proves no offence", zap.Error(err))
			continue
		}
		if err := e.Verify(n.chainID); err != nil {
			n.log.Warn("evidence file: dropped a piece not signed for this chain", zap.Error(err))
			continue
		}
		switch err := n.ffg.AddEvidence(e, n.tree); {
		case err == nil:
			restored++
		case errors.Is(err, finality.ErrNotPunishable) && !n.headReached(&e):
			st.waiting = append(st.waiting, e)
		default: // included by a block the node holds, expired, or its offender punished
			n.log.Debug("evidence file: piece not restored", zap.Stringer("offender", e.Offender()), zap.Error(err))
		}
	}
	slices.SortFunc(st.kept, compareHashes)
	st.changes, st.head = n.ffg.Pool().Changes(), n.tree.Head().Hash
	if len(set) > 0 {
		n.log.Info("evidence restored from the evidence file", zap.Int("pending", restored),
			zap.Int("waiting_for_the_head", len(st.waiting)), zap.Int("in_file", len(set)))
	}
	return nil
}

// headReached reports whether the head's slot is in e's offence epoch or later: the head's ledger then says for
// good whether e's offender can still be punished.
func (n *Node) headReached(e *chain.Evidence) bool {
	g := n.cfg.Genesis
	return g.EpochOf(n.tree.Head().Slot) >= e.Epoch(g.EpochLength)
}

// keepEvidence has the evidence file replaced when the set it must hold changed: evidence pending or included,
// or the finalized checkpoint moved (evidence leaves once a finalized block, stored, holds it). The check is a few
// comparisons unless something moved; the write runs off the loop, one at a time: a change during a write is
// written once it ends, so a burst of changes costs one write after the running one. Called after every event of
// the loop.
func (n *Node) keepEvidence() { n.keepEvidenceSet(n.rt == nil) }

// finishEvidence writes the evidence file's set at a clean stop, on the loop after its last event, and waits
// for the write: neither a change that came during the last write off the loop nor that write's failure, which
// the loop will not hear of, leaves the set unwritten.
func (n *Node) finishEvidence() {
	st := &n.evidence
	if st.writing { // its outcome is not awaited; this write, of a newer generation, supersedes it
		st.writing, st.stale = false, true
	}
	n.keepEvidenceSet(true)
}

// keepEvidenceSet is keepEvidence, with the write on the caller's goroutine when now is set.
func (n *Node) keepEvidenceSet(now bool) {
	st := &n.evidence
	if st.file == nil {
		return
	}
	n.retryWaiting()
	_, fin := n.tree.Finality()
	flushed := n.tree.Unflushed() == 0
	changes := n.ffg.Pool().Changes()
	if changes == st.changes && (fin == st.final || !flushed) && !st.stale && !st.recheck {
		return
	}
	if st.writing || st.backoff && !now {
		st.recheck = true
		return
	}
	st.changes, st.recheck = changes, false
	final := n.tree.IsFinal
	if flushed {
		st.final = fin
	} else { // a finalized block not yet stored may be lost in a crash: its evidence stays in the file
		final = func(chain.Hash) bool { return false }
	}
	set := append(n.ffg.Pool().Unfinal(final), st.waiting...)
	ids := make([]chain.Hash, len(set))
	for i := range set {
		ids[i] = set[i].ID()
	}
	slices.SortFunc(ids, compareHashes)
	if slices.Equal(ids, st.kept) && !st.stale {
		return
	}
	n.writeEvidence(ids, set[:min(len(set), evidencefile.MaxPieces)], now)
}

// writeEvidence hands set, whose sorted IDs are ids, to the evidence file as its next generation: off the loop,
// or on the caller's goroutine when now is set. A write that fails is tried again evidenceRetryAfter later, with
// the set of then; the first failure of a run is logged as an error, the write that ends the run as info.
func (n *Node) writeEvidence(ids []chain.Hash, set []chain.Evidence, now bool) {
	st := &n.evidence
	failing := st.stale
	st.kept, st.stale, st.writing = ids, false, true
	st.gen++
	f, gen := st.file, st.gen
	done := func(err error) {
		st.writing = false
		switch {
		case err != nil:
			st.stale = true
			if !now { // a write on the caller's goroutine (at a stop, before a start) has no loop to wait on
				st.backoff = true
				n.after(evidenceRetryAfter, func() { st.backoff = false })
			}
			if !failing {
				n.log.Error("evidence file not written; it is tried again every second", zap.Error(err))
			}
		case failing:
			n.log.Info("evidence file written again")
		}
	}
	if now {
		done(f.Write(gen, set))
		return
	}
	n.background(func() {
		err := f.Write(gen, set)
		n.post(func() { done(err) })
	})
}

// retryWaiting offers the restored pieces that waited for the head to the pool again once the head moved: a
// piece whose offender the head can punish joins the pool, one the head cannot punish though it reached the
// offence's epoch is dropped.
func (n *Node) retryWaiting() {
	st := &n.evidence
	if len(st.waiting) == 0 || st.head == n.tree.Head().Hash {
		return
	}
	st.head = n.tree.Head().Hash
	st.waiting = slices.DeleteFunc(st.waiting, func(e chain.Evidence) bool {
		err := n.ffg.AddEvidence(e, n.tree)
		if errors.Is(err, finality.ErrNotPunishable) && !n.headReached(&e) {
			return false
		}
		if err == nil {
			n.log.Info("restored evidence is pending again", zap.Stringer("offender", e.Offender()))
		}
		st.recheck = true // a piece left the file's set, or moved from waiting to the pool
		return true
	})
}

// regossipEvidence publishes the pending evidence again (PROTOCOL.md §8b, §10): evidence published before the
// node had peers, or before a partition healed, or restored at a start, reaches the proposers. A peer that saw the
// same bytes lately drops them unread (gossip's seen cache).
func (n *Node) regossipEvidence() {
	for _, e := range n.ffg.Pool().Evidence() {
		n.publish(n.evTopic, e.Encode())
	}
}

func compareHashes(a, b chain.Hash) int { return bytes.Compare(a[:], b[:]) }
