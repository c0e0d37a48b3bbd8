package finality

import "github.com/posnode/posnode/chain"

// LagSlots is how many slots the finalized checkpoint's epoch started before slot now (0 if not before): how far
// finality lags the clock (PROTOCOL.md §8a).
func LagSlots(finalized chain.Checkpoint, now chain.Slot, epochLength uint64) uint64 {
	start := uint64(finalized.Epoch) * epochLength
	return uint64(now) - min(start, uint64(now))
}

// offence names one punishable act, whatever evidence proves it: its offender and kind, and the slot of a double
// proposal or the later target epoch of a double or surround vote.
type offence struct {
	offender chain.Address
	kind     chain.EvidenceKind
	at       uint64
}

func offenceOf(e *chain.Evidence) offence {
	at := uint64(max(e.VoteA.Target.Epoch, e.VoteB.Target.Epoch))
	if e.Kind == chain.EvidenceDoubleProposal {
		at = uint64(e.HeaderA.Slot)
	}
	return offence{offender: e.Offender(), kind: e.Kind, at: at}
}

// slashCount decides which slashings Include counts: each offence once, although a reorg can revert the block
// that applied its evidence and apply it (or other evidence of the same offence) again. It remembers an offence
// while the node keeps the messages of its epoch (chain.Retained, PROTOCOL.md §8b).
type slashCount struct {
	epochLength uint64
	counted     map[offence]chain.Epoch // the offence's epoch
}

func newSlashCount(epochLength uint64) slashCount {
	return slashCount{epochLength: epochLength, counted: map[offence]chain.Epoch{}}
}

// first reports whether e proves an offence not counted yet, and remembers it; now is the current epoch, before
// which expired offences are forgotten.
func (c *slashCount) first(e *chain.Evidence, now chain.Epoch) bool {
	for o, at := range c.counted {
		if !chain.Retained(at, now) {
			delete(c.counted, o)
		}
	}
	o := offenceOf(e)
	if _, ok := c.counted[o]; ok {
		return false
	}
	c.counted[o] = e.Epoch(c.epochLength)
	return true
}
