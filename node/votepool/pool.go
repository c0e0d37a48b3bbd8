package votepool

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"slices"
	"unique"

	"github.com/posnode/posnode/chain"
)

// Pool errors.
var (
	// ErrKnown: the pool already holds this vote or this evidence.
	ErrKnown = errors.New("already in the pool")
	// ErrEpoch: a vote's target epoch is older than the pool's window or more than one epoch ahead of it.
	ErrEpoch = errors.New("target epoch outside the pool's window")
	// ErrConflict: the vote is slashable against one the pool holds of the same validator; the evidence is
	// returned with it and the vote is not kept.
	ErrConflict = errors.New("slashable against a vote in the pool")
	// ErrOffenderPending: evidence against this offender is already pending; one offence is punished once.
	ErrOffenderPending = errors.New("evidence against this validator already pending")
	// ErrExpired: the offence is older than the pool keeps votes (chain.Retained).
	ErrExpired = errors.New("evidence expired")
	// ErrFull: the pool holds MaxEvidence pieces of evidence.
	ErrFull = errors.New("evidence pool full")
)

// Bounds of the pool.
const (
	// MaxEvidence is the most evidence the pool keeps pending. Its callers add evidence only against validators
	// that still hold stake, so it is a bound against bugs rather than peers.
	MaxEvidence = 256
	// MaxIncluded is how many included pieces of evidence the pool remembers, newest first, for the node's users.
	MaxIncluded = 256
)

// Pool is the node's pool of checkpoint votes, signed headers and evidence; New makes one.
type Pool struct {
	epochLength uint64
	now         chain.Epoch // the current epoch, as Prune last set it
	votes       []held      // per validator, at its number (numbers): one per target epoch, by target epoch
	headers     map[headerKey]signedHeader
	pending     map[chain.Hash]chain.Evidence // by ID
	offenders   map[chain.Address]chain.Hash  // offender → ID of its pending evidence
	included    []Included                    // newest last
	changes     uint64                        // moves whenever pending or included changes (Changes)
	malformed   bool                          // a vote was added whose source epoch is not below its target (from)
}

type headerKey struct {
	proposer chain.Address
	slot     chain.Slot
}

type signedHeader struct {
	header chain.Header
	sig    [64]byte
}

// Included is evidence a canonical block holds, with what it did to the ledger.
type Included struct {
	Evidence chain.Evidence
	Block    chain.Hash
	Height   chain.Height
	Slashing chain.Slashing
}

// New returns an empty pool for a chain of epochs of epochLength slots.
func New(epochLength uint64) *Pool {
	return &Pool{epochLength: max(epochLength, 1),
		headers: map[headerKey]signedHeader{}, pending: map[chain.Hash]chain.Evidence{},
		offenders: map[chain.Address]chain.Hash{}}
}

// Epoch returns the current epoch as the last Prune set it.
func (p *Pool) Epoch() chain.Epoch { return p.now }

// inWindow reports whether epoch e is within the pool's window (chain.Retained, PROTOCOL.md §8b).
func (p *Pool) inWindow(e chain.Epoch) bool { return chain.Retained(e, p.now) }

// AddVote adds a vote that verified, from a validator of its target epoch's table. It fails with ErrEpoch, with
// ErrKnown for a vote it holds, and with ErrConflict, returning the evidence, for a vote slashable against one it
// holds (a second vote for a target epoch, or a surround vote; PROTOCOL.md §8b).
func (p *Pool) AddVote(v chain.Vote) (*chain.Evidence, error) {
	if !p.inWindow(v.Target.Epoch) {
		return nil, fmt.Errorf("%w: epoch %d, now %d", ErrEpoch, v.Target.Epoch, p.now)
	}
	held := p.heldAt(v.Validator)
	i, ok := held.find(v.Target.Epoch)
	if ok && held.votes[i].Value() == v { // the same encoding, so the same ID, without two hashes
		return nil, &knownVote{target: v.Target, validator: v.Validator}
	}
	if w, ok := held.conflict(v, p.from(v, i)); ok {
		ev := chain.NewDoubleVote(v, w)
		return &ev, fmt.Errorf("%w: %s→%s and %s→%s by %s", ErrConflict, v.Source, v.Target, w.Source, w.Target,
			v.Validator.Short())
	}
	p.malformed = p.malformed || v.Source.Epoch >= v.Target.Epoch
	if ok {
		held.votes[i] = unique.Make(v) // the same source and target, another signature
	} else {
		*held = held.insert(i, v)
	}
	return nil, nil
}

// knownVote is ErrKnown for a vote, its message formatted only when read: every process meets each vote again in
// the blocks that count it (finality.Duty.Applied), whose callers drop the error.
type knownVote struct {
	target    chain.Checkpoint
	validator chain.Address
}

func (e *knownVote) Error() string {
	return fmt.Sprintf("%v: vote %s by %s", ErrKnown, e.target, e.validator.Short())
}

func (e *knownVote) Unwrap() error { return ErrKnown }

// Conflict returns the vote the pool holds that v is slashable against, if any, without checking v's signature
// or keeping v: a caller checks the signature only of a vote that makes evidence (PROTOCOL.md §8b).
func (p *Pool) Conflict(v chain.Vote) (chain.Vote, bool) {
	if !p.inWindow(v.Target.Epoch) {
		return chain.Vote{}, false
	}
	held := p.heldOf(v.Validator)
	i, _ := held.find(v.Target.Epoch)
	return held.conflict(v, p.from(v, i))
}

// from returns the first index of a validator's held votes that v, whose target epoch find puts at i, can be
// slashable against. Below i the target epochs are distinct and below v's, so the vote at i-k has a target of at
// most v.Target.Epoch-k; v can only surround it (Slashable), which needs its source above v's and so, for a vote
// whose source is below its target (ValidateBasic), a target of at least v.Source.Epoch+2: k is at most
// v.Target.Epoch-v.Source.Epoch-2. Every vote is read when the pool holds one whose source is not below its target.
// A vote the pool meets is mostly for the newest target epoch, from the one before: from is then i, and the votes
// below it, each read a cache miss (interned, so shared by the pools of the process), are not read.
func (p *Pool) from(v chain.Vote, i int) int {
	if p.malformed {
		return 0
	}
	s, e := v.Source.Epoch, v.Target.Epoch
	if e < s+2 || s+2 < s {
		return i
	}
	return i - int(min(uint64(e-s-2), uint64(i)))
}

// HeaderConflict returns the first signed header the pool holds of h's proposer for h's slot when it differs
// from h, without keeping h (PROTOCOL.md §8b).
func (p *Pool) HeaderConflict(h chain.Header) (chain.Header, [64]byte, bool) {
	first, ok := p.headers[headerKey{h.Proposer, h.Slot}]
	if !ok || first.header.Hash() == h.Hash() {
		return chain.Header{}, [64]byte{}, false
	}
	return first.header, first.sig, true
}

// Pending reports whether evidence against a is pending.
func (p *Pool) Pending(a chain.Address) bool {
	_, ok := p.offenders[a]
	return ok
}

// HasVote reports whether the pool holds a vote of validator a for target epoch e.
func (p *Pool) HasVote(a chain.Address, e chain.Epoch) bool {
	_, ok := p.heldOf(a).find(e)
	return ok
}

// Votes returns the votes a block of the current epoch can count (PROTOCOL.md §8a): those for the current and
// the previous target epoch, the older epoch first, then by validator.
func (p *Pool) Votes() []chain.Vote {
	var out []chain.Vote
	for _, held := range p.votes {
		i, _ := held.find(max(p.now, 1) - 1) // held is in the order of target epochs: the countable ones are in a run
		for _, h := range held.votes[i:] {
			v := h.Value()
			if !chain.Countable(v.Target.Epoch, p.now) {
				break
			}
			out = append(out, v)
		}
	}
	slices.SortFunc(out, func(a, b chain.Vote) int {
		if c := cmp.Compare(a.Target.Epoch, b.Target.Epoch); c != 0 {
			return c
		}
		return bytes.Compare(a.Validator[:], b.Validator[:])
	})
	return out
}

// AddHeader records the first signed header of a block the tree accepted, per proposer and slot. A second one
// with another hash is a double proposal: it returns the evidence (PROTOCOL.md §8b) and keeps the first.
func (p *Pool) AddHeader(h chain.Header, sig [64]byte) *chain.Evidence {
	if !p.inWindow(chain.Epoch(uint64(h.Slot) / p.epochLength)) {
		return nil
	}
	k := headerKey{h.Proposer, h.Slot}
	first, ok := p.headers[k]
	if !ok {
		p.headers[k] = signedHeader{h, sig}
		return nil
	}
	if first.header.Hash() == h.Hash() {
		return nil
	}
	ev := chain.NewDoubleProposal(&chain.Block{Header: first.header, Sig: first.sig}, &chain.Block{Header: h, Sig: sig})
	return &ev
}

// held are a validator's votes in the pool: one per target epoch, in the order of target epochs. They are few
// (the window's epochs), so a slice costs less than a map per validator, in time and memory. Each is a handle of
// the vote interned by the unique package: every pool of the OS process that holds the same vote (the simulator's
// processes, sim/simnet) shares one copy of its 176 bytes, and a pool holds 8 bytes per vote. Reading a vote
// misses the cache, so the target epochs of the first and the last are kept beside them: a vote for a newer
// epoch than any held (most votes a pool meets) and a sweep that drops none read no vote.
type held struct {
	oldest, newest chain.Epoch // the target epochs of votes[0] and votes[len-1]; zero when votes is empty
	votes          []unique.Handle[chain.Vote]
}

// find returns the index of the vote for target epoch e, or where it would go, and whether it is there.
func (h held) find(e chain.Epoch) (int, bool) {
	n := len(h.votes)
	switch {
	case n == 0 || h.newest < e:
		return n, false
	case h.newest == e:
		return n - 1, true
	}
	return slices.BinarySearchFunc(h.votes[:n-1], e, func(v unique.Handle[chain.Vote], e chain.Epoch) int {
		return cmp.Compare(v.Value().Target.Epoch, e)
	})
}

// insert returns h with v, for a target epoch h holds no vote for, inserted at i (find).
func (h held) insert(i int, v chain.Vote) held {
	h.votes = slices.Insert(h.votes, i, unique.Make(v))
	if i == 0 {
		h.oldest = v.Target.Epoch
	}
	if i == len(h.votes)-1 {
		h.newest = v.Target.Epoch
	}
	return h
}

// conflict returns the first vote, by target epoch, that v is slashable against (PROTOCOL.md §8b), reading the
// votes from index from on (Pool.from: none below it can be).
func (h held) conflict(v chain.Vote, from int) (chain.Vote, bool) {
	for _, w := range h.votes[from:] {
		if chain.Slashable(v, w.Value()) {
			return w.Value(), true
		}
	}
	return chain.Vote{}, false
}
