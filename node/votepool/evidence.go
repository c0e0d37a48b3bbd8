package votepool

import (
	"bytes"
	"cmp"
	"fmt"
	"maps"
	"slices"

	"github.com/posnode/posnode/chain"
)

// expired reports whether the offence of e is older than the pool keeps votes (chain.Retained): evidence stays
// valid while its offender is locked, which Prune's useful checks, but a node does not keep it longer than the
// messages it is made of (PROTOCOL.md §8b).
func (p *Pool) expired(e *chain.Evidence) bool { return !chain.Retained(e.Epoch(p.epochLength), p.now) }

// AddEvidence adds evidence that proved an offence (ValidateBasic, Verify) against an offender the head's ledger
// can still punish; the caller checks both. It fails with ErrExpired, with ErrKnown for evidence pending or
// included, with ErrOffenderPending when other evidence against the same validator is pending, and with ErrFull.
func (p *Pool) AddEvidence(e chain.Evidence) error {
	id := e.ID()
	switch {
	case p.expired(&e):
		return fmt.Errorf("%w: offence in epoch %d, now %d", ErrExpired, e.Epoch(p.epochLength), p.now)
	case p.HasEvidence(id):
		return fmt.Errorf("%w: evidence %s", ErrKnown, id.Short())
	}
	if other, ok := p.offenders[e.Offender()]; ok {
		return fmt.Errorf("%w: %s, evidence %s", ErrOffenderPending, e.Offender().Short(), other.Short())
	}
	if len(p.pending) >= MaxEvidence {
		return fmt.Errorf("%w: %d pending", ErrFull, len(p.pending))
	}
	p.pending[id] = e
	p.offenders[e.Offender()] = id
	p.changes++
	return nil
}

// HasEvidence reports whether evidence id is pending or remembered as included.
func (p *Pool) HasEvidence(id chain.Hash) bool {
	if _, ok := p.pending[id]; ok {
		return true
	}
	return slices.ContainsFunc(p.included, func(in Included) bool { return in.Evidence.ID() == id })
}

// Evidence returns the pending evidence, the offence that expires first first, then by ID.
func (p *Pool) Evidence() []chain.Evidence {
	out := slices.Collect(maps.Values(p.pending))
	slices.SortFunc(out, func(a, b chain.Evidence) int {
		if c := cmp.Compare(a.Epoch(p.epochLength), b.Epoch(p.epochLength)); c != 0 {
			return c
		}
		ia, ib := a.ID(), b.ID()
		return bytes.Compare(ia[:], ib[:])
	})
	return out
}

// Include records that a block of the canonical chain holds in.Evidence: it is no longer pending, and it is
// remembered (the newest MaxIncluded) so that it is neither added again nor forgotten by the node's surfaces.
func (p *Pool) Include(in Included) {
	p.drop(in.Evidence.ID())
	if len(p.included) == MaxIncluded {
		p.included = slices.Delete(p.included, 0, 1)
	}
	p.included = append(p.included, in)
	p.changes++
}

// Revert records that block h left the canonical chain: the evidence it held is pending again unless it expired
// or other evidence against its offender is pending.
func (p *Pool) Revert(h chain.Hash) {
	var back []chain.Evidence
	p.included = slices.DeleteFunc(p.included, func(in Included) bool {
		if in.Block == h {
			back = append(back, in.Evidence)
			return true
		}
		return false
	})
	if len(back) > 0 {
		p.changes++
	}
	for _, e := range back {
		_ = p.AddEvidence(e) // what no longer fits stays out: it can punish no one on this chain
	}
}

// Changes is a count that moves whenever the pending or the included evidence changes: a caller that keeps a
// copy of it (Unfinal) compares counts instead of sets.
func (p *Pool) Changes() uint64 { return p.changes }

// Unfinal returns the evidence no finalized block holds: the pending evidence and the included evidence of the
// blocks for which final reports false; a node keeps it on disk (PROTOCOL.md §8b), since a reorg of those blocks
// makes it pending again. Sorted by ID.
func (p *Pool) Unfinal(final func(block chain.Hash) bool) []chain.Evidence {
	type byID struct {
		id chain.Hash
		e  chain.Evidence
	}
	var all []byID
	for id, e := range p.pending {
		all = append(all, byID{id, e})
	}
	for _, in := range p.included {
		if !final(in.Block) {
			all = append(all, byID{in.Evidence.ID(), in.Evidence})
		}
	}
	slices.SortFunc(all, func(a, b byID) int { return bytes.Compare(a.id[:], b.id[:]) })
	out := make([]chain.Evidence, len(all))
	for i := range all {
		out[i] = all[i].e
	}
	return out
}

// Included returns the included evidence the pool remembers, newest first.
func (p *Pool) Included() []Included {
	out := slices.Clone(p.included)
	slices.Reverse(out)
	return out
}

// Prune moves the pool to epoch now: it drops votes and headers older than Window epochs, and pending evidence
// that expired or for which useful reports false (its offender can no longer be punished on the head's
// branch). Votes and headers are swept only when now moves: AddVote and AddHeader keep only what is in the
// window of the pool's epoch, so at an unchanged epoch nothing held can have left it.
func (p *Pool) Prune(now chain.Epoch, useful func(*chain.Evidence) bool) {
	if now != p.now {
		p.now = now
		p.sweep()
	}
	for id, e := range p.pending {
		if p.expired(&e) || !useful(&e) {
			p.drop(id)
		}
	}
}

// inWindowOf returns the votes of h within the window of the pool's epoch. The window is a range of epochs
// (chain.Retained) and h is in the order of target epochs, so those outside it are a run at each end: when its
// oldest and newest are in the window it is h, no vote read; else it reads the votes at the ends only.
func (p *Pool) inWindowOf(h held) held {
	if len(h.votes) == 0 || (p.inWindow(h.oldest) && p.inWindow(h.newest)) {
		return h
	}
	lo, hi := 0, len(h.votes)
	for lo < hi && !p.inWindow(h.votes[lo].Value().Target.Epoch) {
		lo++
	}
	for hi > lo && !p.inWindow(h.votes[hi-1].Value().Target.Epoch) {
		hi--
	}
	out := h.votes[:hi]
	if lo > 0 {
		out = append(h.votes[:0], h.votes[lo:hi]...)
	}
	clear(h.votes[len(out):]) // the votes dropped are not kept alive
	if len(out) == 0 {
		return held{}
	}
	return held{oldest: out[0].Value().Target.Epoch, newest: out[len(out)-1].Value().Target.Epoch, votes: out}
}

// sweep drops the votes and headers outside the window of the pool's epoch.
func (p *Pool) sweep() {
	for i := range p.votes {
		p.votes[i] = p.inWindowOf(p.votes[i])
	}
	maps.DeleteFunc(p.headers, func(k headerKey, _ signedHeader) bool {
		return !p.inWindow(chain.Epoch(uint64(k.slot) / p.epochLength))
	})
}

// drop removes pending evidence id, if any.
func (p *Pool) drop(id chain.Hash) {
	e, ok := p.pending[id]
	if !ok {
		return
	}
	delete(p.pending, id)
	p.changes++
	if p.offenders[e.Offender()] == id {
		delete(p.offenders, e.Offender())
	}
}

// Size returns how many votes, headers and pending evidence the pool holds.
func (p *Pool) Size() (votes, headers, evidence int) {
	for _, held := range p.votes {
		votes += len(held.votes)
	}
	return votes, len(p.headers), len(p.pending)
}
