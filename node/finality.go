package node

import (
	"errors"

	"go.uber.org/zap"

	"github.com/posnode/posnode/chain"
	"github.com/posnode/posnode/node/votepool"
)

// ffgState is the node's finality and accountability state (PROTOCOL.md §8a, §8b); only the event loop
// touches it.
type ffgState struct {
	votes     *votepool.Pool   // votes, first headers and evidence
	lastVoted chain.Epoch      // the last epoch this node's voting duty was done for (since it started)
	announced chain.Checkpoint // the last finalized checkpoint shown on the prompt
	slashed   slashCount       // the offences posnode_slashings_total counted
	own       *chain.Vote      // this node's latest vote, published again until a block includes it
	ownAt     chain.Slot       // the slot it was signed at
}

// includedScan is how many canonical blocks below the head a starting node reads for the evidence they hold, so
// that its users see recent slashings after a restart.
const includedScan = 1024

// openFFG makes the vote pool at the current epoch and refills its included evidence from the newest blocks.
func (n *Node) openFFG() error {
	n.ffg.votes = votepool.New(n.cfg.Genesis.EpochLength)
	n.ffg.slashed = newSlashCount(n.cfg.Genesis.EpochLength)
	n.ffg.votes.Prune(n.cfg.Genesis.EpochOf(n.currentSlot()), n.punishable)
	_, n.ffg.announced = n.tree.Finality()
	head := n.tree.Head().Height
	for h := head - min(head, includedScan) + 1; h <= head && h > 0; h++ {
		b, err := n.tree.BlockAt(h)
		if errors.Is(err, chain.ErrPruned) { // below the retention window (PROTOCOL.md §13)
			continue
		}
		if err != nil {
			return err
		}
		n.includeEvidence(b, false)
	}
	return nil
}

// ffgSlot is the finality work of each slot: the pool moves to the slot's epoch, the voting duty runs, the
// metrics follow the clock.
func (n *Node) ffgSlot(s chain.Slot) {
	n.ffg.votes.Prune(n.cfg.Genesis.EpochOf(s), n.punishable)
	n.republishVote(s)
	n.showFinality()
	n.noticeStakes(s)
	n.noticeStall(s)
}

// ffgChange brings the pool up to date after the head moved (PROTOCOL.md §8b): evidence of reverted blocks is
// pending again, votes of applied blocks are checked against the pool's, and evidence they hold is included.
func (n *Node) ffgChange(c chain.Change) {
	for _, b := range c.Reverted {
		n.ffg.votes.Revert(b.Hash())
	}
	for _, b := range c.Applied {
		for _, v := range b.Votes {
			if ev, _ := n.ffg.votes.AddVote(v); ev != nil { // other outcomes: known, or out of the pool's window
				n.recordEvidence(*ev)
			}
		}
		n.includeEvidence(b, true)
	}
	n.showFinality()
}

// includeEvidence records the evidence a canonical block holds and what it did to the ledger; fresh is true for
// a block that joins the canonical chain now, whose slashings are counted and told, each offence once.
func (n *Node) includeEvidence(b *chain.Block, fresh bool) {
	if len(b.Evidence) == 0 {
		return
	}
	h := b.Hash()
	slashings, err := n.tree.Slashings(h)
	if err != nil || len(slashings) != len(b.Evidence) {
		n.log.Error("reading the slashings of a block", zap.Stringer("hash", h), zap.Error(err))
		return
	}
	for i, e := range b.Evidence {
		n.checkOwnEvidence(&e)
		n.ffg.votes.Include(votepool.Included{Evidence: e, Block: h, Height: b.Header.Height, Slashing: slashings[i]})
		if !fresh || !n.ffg.slashed.first(&e, n.cfg.Genesis.EpochOf(n.currentSlot())) {
			continue // a reorg applied this offence again: counted and told once
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
	if ev := n.ffg.votes.AddHeader(b.Header, b.Sig); ev != nil {
		n.recordEvidence(*ev)
	}
}

// recordEvidence keeps evidence this node found itself and gossips it, if its offender can still be punished.
func (n *Node) recordEvidence(e chain.Evidence) {
	n.checkOwnEvidence(&e)
	if !n.punishable(&e) {
		return
	}
	if err := n.ffg.votes.AddEvidence(e); err != nil {
		n.log.Debug("evidence not kept", zap.Stringer("offender", e.Offender()), zap.Error(err))
		return
	}
	n.log.Warn("equivocation found", zap.Stringer("offender", e.Offender()), zap.Stringer("kind", e.Kind),
		zap.Uint64("epoch", uint64(e.Epoch(n.cfg.Genesis.EpochLength))))
	n.announce("evidence: %s signed a %s", e.Offender().Short(), e.Kind)
	n.publish(n.evTopic, e.Encode())
}

// punishable reports whether e's offender can still be slashed on the head's branch: never slashed, and holding
// stake or unbonding tokens (PROTOCOL.md §8b).
func (n *Node) punishable(e *chain.Evidence) bool { return n.punishableAddr(e.Offender()) }

// punishableAddr reports whether validator a can still be slashed on the head's branch (PROTOCOL.md §8b).
func (n *Node) punishableAddr(a chain.Address) bool {
	acc := n.tree.HeadState().Account(a)
	return !acc.Slashed && (acc.Stake > 0 || acc.Unbonding > 0)
}

// showFinality updates the metrics, and tells the prompt when a new checkpoint is finalized.
func (n *Node) showFinality() {
	j, f := n.tree.Finality()
	n.ffgMetrics.set(j, f, n.currentSlot(), n.cfg.Genesis.EpochLength)
	if f.Epoch > n.ffg.announced.Epoch {
		n.ffg.announced = f
		n.log.Info("finalized", zap.Uint64("epoch", uint64(f.Epoch)), zap.Stringer("checkpoint", f.Hash),
			zap.Uint64("justified", uint64(j.Epoch)))
		n.announce("finalized epoch %d (checkpoint %s)", f.Epoch, f.Hash.Short())
		n.finalityMoved(f)
		n.noticeFinal(f)
	}
}

// body is what this node offers for its block at the head: the mempool's transactions, and the votes and
// evidence of the pool, which chain.Tree.ProposeBody filters (PROTOCOL.md §8a, §8b).
func (n *Node) body() chain.Body {
	return chain.Body{Txs: n.durableOnly(n.pool.Select(n.tree.HeadState(), chain.MaxBlockTxs)),
		Votes: n.ffg.votes.Votes(), Evidence: n.ffg.votes.Evidence()}
}
