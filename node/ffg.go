package node

import (
	"errors"

	"go.uber.org/zap"

	"github.com/posnode/posnode/chain"
	"github.com/posnode/posnode/node/finality"
	"github.com/posnode/posnode/node/signgate"
)

// The finality duty (PROTOCOL.md §8a, §8b) is node/finality's state machine; this file wires it to the loop: the
// loop hands it the slots, the blocks that join and leave the canonical chain and the time to vote, and carries
// out what it decides through the slashing protection record, the signing gate, the network, the metrics and the
// prompt.

// includedScan is how many canonical blocks below the head a starting node reads at least for the evidence they
// hold, so that its users see recent slashings after a restart.
const includedScan = 1024

// openFFG makes the finality duty at the current epoch and refills its included evidence from the blocks
// heldEvidence reads.
func (n *Node) openFFG() error {
	n.ffg = finality.New(n.cfg.Genesis, n.self, n.tree, n.epochNow())
	held, err := n.heldEvidence()
	if err != nil {
		return err
	}
	for i := len(held) - 1; i >= 0; i-- { // oldest first, as they joined the chain
		n.includeEvidence(held[i], false)
	}
	return nil
}

// heldEvidence returns, newest first, the canonical blocks holding evidence among the newest includedScan and
// every block above the finalized checkpoint whose evidence has not expired: a reorg can still revert those, and
// their evidence then becomes pending again, so the evidence file keeps it (PROTOCOL.md §8b) and a start must know
// it as included, however long finality stalled. A block of epoch E holds offences of epoch E+1 at the latest
// (chain.Retained), expired once E+1+chain.UnbondingEpochs < now.
func (n *Node) heldEvidence() ([]*chain.Block, error) {
	g, now := n.cfg.Genesis, n.epochNow()
	_, fin := n.tree.Finality()
	var held []*chain.Block
	final := false // the walk reached the finalized checkpoint's block: the rest is final
	for h, head := n.tree.Head().Height, n.tree.Head().Height; h > 0; h-- {
		b, err := n.tree.BlockAt(h)
		if errors.Is(err, chain.ErrPruned) { // below the retention window (PROTOCOL.md §13), and so is the rest
			break
		}
		if err != nil {
			return nil, err
		}
		final = final || b.Hash() == fin.Hash
		if head-h >= includedScan && (final || g.EpochOf(b.Header.Slot)+1+chain.UnbondingEpochs < now) {
			break
		}
		if len(b.Evidence) > 0 {
			held = append(held, b)
		}
	}
	return held, nil
}

// epochNow is the current slot's epoch.
func (n *Node) epochNow() chain.Epoch { return n.cfg.Genesis.EpochOf(n.currentSlot()) }

// ffgSlot is the finality work of each slot: the duty moves to the slot, this node's vote goes out again when it
// is due, the metrics follow the clock.
func (n *Node) ffgSlot(s chain.Slot) {
	if v, ok := n.ffg.Slot(s, n.tree); ok {
		n.log.Debug("publishing own vote again", zap.Stringer("target", v.Target))
		n.publish(n.voteTopic, v.Encode())
	}
	n.showFinality()
	n.noticeStakes(s)
	n.noticeStall(s)
}

// voteDuty does this node's voting duty at slot s (PROTOCOL.md §8a), once per epoch, when finality.Duty.Vote says
// a vote is due and the signing gate lets the node sign. The loop calls it half a slot into each slot, once the
// slot's block had time to arrive, so that votes do not compete with the block for the network and the cores.
// The vote passes the slashing protection record (PROTOCOL.md §11) before it is signed, then joins the pool and
// is published.
func (n *Node) voteDuty(s chain.Slot) {
	e, owed := n.ffg.Owed(s)
	if !owed || !n.maySign(signgate.Vote, s) {
		return
	}
	v, due, err := n.ffg.Vote(s, n.tree)
	if err != nil {
		n.log.Error("reading the stake table", zap.Uint64("epoch", uint64(e)), zap.Error(err))
	}
	if !due {
		return
	}
	if err := n.durableBeforeSigning("vote"); err != nil {
		n.log.Warn("not voting", zap.Uint64("epoch", uint64(e)), zap.Error(err))
		return
	}
	n.ffg.Voting(e)
	if err := n.guard.CheckAndRecordVote(n.self, v.Source.Epoch, v.Target.Epoch, v.Root()); err != nil {
		n.log.Warn("not voting: slashing protection refused", zap.Uint64("epoch", uint64(e)), zap.Error(err))
		n.noteRefusal(signgate.Vote, s, err)
		return
	}
	v.Sign(n.chainID, n.key)
	n.ffgMetrics.votesSigned.Inc()
	if n.cfg.OnVote != nil {
		n.cfg.OnVote(v)
	}
	if err := n.ffg.Signed(v, s); err != nil {
		n.log.Error("own vote not pooled", zap.Uint64("epoch", uint64(e)), zap.Error(err))
	}
	n.log.Info("voted", zap.Stringer("source", v.Source), zap.Stringer("target", v.Target))
	n.publish(n.voteTopic, v.Encode())
}

// ffgChange brings the duty up to date after the head moved (PROTOCOL.md §8b): evidence of reverted blocks is
// pending again, votes of applied blocks are checked against the pool's, and evidence they hold is included.
func (n *Node) ffgChange(c chain.Change) {
	for _, b := range c.Reverted {
		n.ffg.Reverted(b.Hash())
	}
	for _, b := range c.Applied {
		for _, ev := range n.ffg.Applied(b) {
			n.recordEvidence(ev)
		}
		n.includeEvidence(b, true)
	}
	n.showFinality()
}

// includeEvidence hands the duty the evidence a canonical block holds and what it did to the ledger; fresh is
// true for a block that joins the canonical chain now, whose slashings the duty counts, each offence once, and the
// node tells.
func (n *Node) includeEvidence(b *chain.Block, fresh bool) {
	if len(b.Evidence) == 0 {
		return
	}
	h := b.Hash()
	slashings, err := n.tree.Slashings(h)
	var counted []bool
	if err == nil {
		counted, err = n.ffg.Include(b, slashings, fresh, n.epochNow())
	}
	if err != nil {
		n.log.Error("reading the slashings of a block", zap.Stringer("hash", h), zap.Error(err))
		return
	}
	for i := range b.Evidence {
		n.checkOwnEvidence(&b.Evidence[i])
		if !counted[i] {
			continue // read at start, or a reorg applied this offence again: counted and told once
		}
		n.ffgMetrics.slashings.Inc()
		sl := slashings[i]
		n.log.Info("validator slashed", zap.Stringer("offender", sl.Offender), zap.Stringer("kind", sl.Kind),
			zap.Uint64("burned", uint64(sl.Burned)), zap.Uint64("height", uint64(b.Header.Height)))
		n.announce("slashed %s for a %s: %d burned (block #%d)", sl.Offender.Short(), sl.Kind, sl.Burned, b.Header.Height)
	}
}

// watchHeader checks a block the tree stored against the first header its proposer signed for its slot; a
// second one is a double proposal (PROTOCOL.md §8b).
func (n *Node) watchHeader(b *chain.Block) {
	if ev := n.ffg.Header(b); ev != nil {
		n.recordEvidence(*ev)
	}
}

// recordEvidence keeps evidence this node found itself and gossips it, if its offender can still be punished.
func (n *Node) recordEvidence(e chain.Evidence) {
	n.checkOwnEvidence(&e)
	if err := n.ffg.AddEvidence(e, n.tree); err != nil {
		if !errors.Is(err, finality.ErrNotPunishable) {
			n.log.Debug("evidence not kept", zap.Stringer("offender", e.Offender()), zap.Error(err))
		}
		return
	}
	n.log.Warn("equivocation found", zap.Stringer("offender", e.Offender()), zap.Stringer("kind", e.Kind),
		zap.Uint64("epoch", uint64(e.Epoch(n.cfg.Genesis.EpochLength))))
	n.announce("evidence: %s signed a %s", e.Offender().Short(), e.Kind)
	n.publish(n.evTopic, e.Encode())
}

// showFinality updates the metrics, and tells the prompt when a new checkpoint is finalized.
func (n *Node) showFinality() {
	j, f := n.tree.Finality()
	n.ffgMetrics.set(j, f, n.currentSlot(), n.cfg.Genesis.EpochLength)
	if n.ffg.Finalized(f, n.cfg.Now()) {
		n.log.Info("finalized", zap.Uint64("epoch", uint64(f.Epoch)), zap.Stringer("checkpoint", f.Hash),
			zap.Uint64("justified", uint64(j.Epoch)))
		n.announce("finalized epoch %d (checkpoint %s)", f.Epoch, f.Hash.Short())
		n.noticeFinal(f)
	}
}

// body is what this node offers for its block at the head: the mempool's transactions, and the votes and
// evidence of the duty's pool, which chain.Tree.ProposeBody filters (PROTOCOL.md §8a, §8b).
func (n *Node) body() chain.Body {
	votes, evidence := n.ffg.ForBlock()
	return chain.Body{Txs: n.durableOnlyIDs(n.pool.SelectIDs(n.tree.HeadState(), chain.MaxBlockTxs)), Votes: votes,
		Evidence: evidence}
}
