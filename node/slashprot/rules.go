package slashprot

import (
	"fmt"
	"slices"

	"github.com/posnode/posnode/chain"
)

// keepVotes is how many votes per key the record keeps, newest targets first, to name double and surround
// votes and to allow exact repeats. Older votes are covered by the watermark: a vote that passes it can be
// slashable against none of them.
const keepVotes = 1024

// keepBlocks is how many blocks per key the record keeps, latest slots first, so that a block of the key from a
// peer can be recognised as one this key signed (Origin). Older blocks are covered by the latest slot: no rule
// needs them.
const keepBlocks = 1024

// block is a signed block as the record sees it.
type block struct {
	slot chain.Slot
	root chain.Hash // zero: unknown, or two roots were recorded for the slot
}

// vote is a signed checkpoint vote as the record sees it.
type vote struct {
	source, target chain.Epoch
	root           chain.Hash // zero: unknown
}

// signer is what the record knows of one key.
type signer struct {
	hasBlock  bool
	slot      chain.Slot // the latest slot signed
	blockRoot chain.Hash // the root signed at slot; zero when unknown or when two roots were recorded
	blocks    []block    // sorted by slot, at most keepBlocks, the latest among them

	hasVotes             bool
	maxSource, maxTarget chain.Epoch // over every vote ever recorded, kept or not
	votes                []vote      // sorted by target, at most keepVotes
}

// checkBlock applies the block rules of PROTOCOL.md §11: it returns whether a block of root at slot is new
// (to be recorded), nil for an exact repeat, or why it is refused.
func (s *signer) checkBlock(slot chain.Slot, root chain.Hash) (bool, error) {
	switch {
	case !s.hasBlock || slot > s.slot:
		return true, nil
	case slot < s.slot:
		return false, fmt.Errorf("%w: slot %d, latest signed %d", ErrBlockBelowWatermark, slot, s.slot)
	case root.IsZero() || root != s.blockRoot:
		return false, fmt.Errorf("%w: slot %d signed with root %s, asked %s", ErrDoubleBlock, slot, rootText(s.blockRoot), rootText(root))
	}
	return false, nil
}

// addBlock merges a block record: the latest slot wins; two roots for a slot leave its root unknown. The block
// joins the kept ones unless it is older than all of a full history.
func (s *signer) addBlock(slot chain.Slot, root chain.Hash) {
	switch {
	case !s.hasBlock || slot > s.slot:
		s.hasBlock, s.slot, s.blockRoot = true, slot, root
	case slot == s.slot && root != s.blockRoot:
		s.blockRoot = chain.Hash{}
	}
	i, found := slices.BinarySearchFunc(s.blocks, slot, func(b block, t chain.Slot) int { return cmpUint(b.slot, t) })
	switch {
	case found:
		if s.blocks[i].root != root {
			s.blocks[i].root = chain.Hash{}
		}
		return
	case i == 0 && len(s.blocks) >= keepBlocks:
		return
	}
	s.blocks = slices.Insert(s.blocks, i, block{slot, root})
	if len(s.blocks) > keepBlocks {
		s.blocks = slices.Delete(s.blocks, 0, len(s.blocks)-keepBlocks)
	}
}

// blockOrigin says whether the record explains a block of root at slot (DB.BlockOrigin).
func (s *signer) blockOrigin(slot chain.Slot, root chain.Hash) Origin {
	if !s.hasBlock || slot > s.slot {
		return NotSigned
	}
	i, found := slices.BinarySearchFunc(s.blocks, slot, func(b block, t chain.Slot) int { return cmpUint(b.slot, t) })
	switch {
	case !found:
		return Unexplained
	case s.blocks[i].root.IsZero() || s.blocks[i].root == root:
		return Signed
	}
	return NotSigned
}

// voteOrigin says whether the record explains the vote v (DB.VoteOrigin).
func (s *signer) voteOrigin(v vote) Origin {
	if !s.hasVotes || v.target > s.maxTarget {
		return NotSigned
	}
	kept := false
	for _, r := range s.votes {
		if r.target != v.target {
			continue
		}
		if r.source == v.source && (r.root.IsZero() || r.root == v.root) {
			return Signed
		}
		kept = true
	}
	if kept {
		return NotSigned
	}
	return Unexplained
}

// checkVote applies the vote rules of PROTOCOL.md §11: it returns whether v is new (to be recorded), nil for
// an exact repeat of a kept vote, or why it is refused.
func (s *signer) checkVote(v vote) (bool, error) {
	if v.source > v.target {
		return false, fmt.Errorf("%w: source epoch %d after target epoch %d", ErrInvalidVote, v.source, v.target)
	}
	if !v.root.IsZero() && slices.Contains(s.votes, v) {
		return false, nil
	}
	for _, r := range s.votes {
		switch {
		case r.target == v.target:
			return false, fmt.Errorf("%w: target %d voted with root %s, asked %s", ErrDoubleVote, v.target, rootText(r.root), rootText(v.root))
		case v.source < r.source && r.target < v.target:
			return false, fmt.Errorf("%w: %d→%d around %d→%d", ErrSurroundingVote, v.source, v.target, r.source, r.target)
		case r.source < v.source && v.target < r.target:
			return false, fmt.Errorf("%w: %d→%d within %d→%d", ErrSurroundedVote, v.source, v.target, r.source, r.target)
		}
	}
	if s.hasVotes && (v.source < s.maxSource || v.target <= s.maxTarget) {
		return false, fmt.Errorf("%w: %d→%d, latest source %d, latest target %d", ErrVoteBelowWatermark,
			v.source, v.target, s.maxSource, s.maxTarget)
	}
	return true, nil
}

// addVote merges a vote record: it raises the watermark and joins the kept votes unless already there.
func (s *signer) addVote(v vote) {
	s.raise(v.source, v.target)
	i, found := slices.BinarySearchFunc(s.votes, v, cmpVote)
	if found {
		return
	}
	s.votes = slices.Insert(s.votes, i, v)
	if len(s.votes) > keepVotes {
		s.votes = slices.Delete(s.votes, 0, len(s.votes)-keepVotes)
	}
}

// raise merges a watermark.
func (s *signer) raise(source, target chain.Epoch) {
	if !s.hasVotes {
		s.hasVotes, s.maxSource, s.maxTarget = true, source, target
		return
	}
	s.maxSource, s.maxTarget = max(s.maxSource, source), max(s.maxTarget, target)
}

// cmpVote orders votes by target, then source, then root.
func cmpVote(a, b vote) int {
	switch {
	case a.target != b.target:
		return cmpUint(a.target, b.target)
	case a.source != b.source:
		return cmpUint(a.source, b.source)
	}
	return slices.Compare(a.root[:], b.root[:])
}

func cmpUint[T ~uint64](a, b T) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// latestVote returns the vote the minimal export carries: the kept vote at the highest target and source if
// there is one, else the watermark without a root.
func (s *signer) latestVote() vote {
	if n := len(s.votes); n > 0 {
		if v := s.votes[n-1]; v.source == s.maxSource && v.target == s.maxTarget {
			return v
		}
	}
	return vote{source: s.maxSource, target: s.maxTarget}
}

// apply merges one record of the log.
func (s *signer) apply(r record) {
	switch r.kind {
	case kindBlock:
		s.addBlock(chain.Slot(r.a), r.root)
	case kindVote:
		s.addVote(vote{chain.Epoch(r.a), chain.Epoch(r.b), r.root})
	case kindWatermark:
		s.raise(chain.Epoch(r.a), chain.Epoch(r.b))
	}
}

// records returns the records that rebuild s: what compaction writes.
func (s *signer) records(addr chain.Address) []record {
	var out []record
	for _, b := range s.blocks {
		out = append(out, blockRecord(addr, b.slot, b.root))
	}
	if s.hasVotes {
		out = append(out, watermarkRecord(addr, s.maxSource, s.maxTarget))
	}
	for _, v := range s.votes {
		out = append(out, voteRecord(addr, v))
	}
	return out
}

func rootText(h chain.Hash) string {
	if h.IsZero() {
		return "unknown"
	}
	return h.Short()
}
