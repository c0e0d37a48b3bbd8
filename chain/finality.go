package chain

import (
	"cmp"
	"errors"
	"fmt"
	"maps"
	"slices"
)

// Contextual vote errors (PROTOCOL.md §8a): a block that carries such a vote is invalid.
var (
	// ErrVoteTarget: a vote's target is not the checkpoint of the block's epoch or the one before on the block's
	// branch.
	ErrVoteTarget = errors.New("vote target not on this branch")
	// ErrVoteNotValidator: the voter is not in the stake table of the target epoch.
	ErrVoteNotValidator = errors.New("voter not in the target epoch's stake table")
	// ErrDuplicateVote: the branch already holds a vote of this validator for this target epoch.
	ErrDuplicateVote = errors.New("vote already on this branch")
)

// FinalityRules are the Casper FFG decisions the tree applies to the votes of a branch (PROTOCOL.md §8a);
// consensus.FFGRules returns them.
type FinalityRules struct {
	// Supermajority reports whether stake is at least two thirds of total.
	Supermajority func(stake, total Amount) bool
	// Finalizes reports whether a justified source is finalized when a supermajority link from it justifies
	// target.
	Finalizes func(source, target Checkpoint) bool
}

// Finality is the Casper FFG state of one branch, computed from the votes its blocks carry (PROTOCOL.md §8a).
// A Finality attached to a block is never modified; the next block's is a copy.
type Finality struct {
	Justified Checkpoint   // the justified checkpoint of the highest epoch
	Finalized Checkpoint   // the finalized checkpoint of the highest epoch
	justified []Checkpoint // every justified checkpoint from Finalized on, by epoch: the sources that count
	cur, prev *epochTally  // the votes for the checkpoints of the branch's newest epoch and the one before
	slashed   []Address    // validators slashed on the branch while their table still counts: their votes don't
}

// epochTally counts the votes for one target checkpoint.
type epochTally struct {
	target Checkpoint
	stake  stakeIndex // the target epoch's stake table; shared by every tally of that table: never modified
	total  Amount
	voted  cowMap[Address, Checkpoint] // each counted vote's source; copy-on-write: a block's copy shares its parent's
	links  map[Checkpoint]Amount       // stake of the votes from each justified source
}

// newTally returns an empty tally for target whose stake table is table, indexed by idx (nil: a new index).
func newTally(target Checkpoint, table []Stake, idx stakeIndex) *epochTally {
	if idx == nil {
		idx = newStakeIndex(table)
	}
	t := &epochTally{target: target, stake: idx, links: map[Checkpoint]Amount{}}
	for _, s := range table {
		t.total += s.Amount // a stake table's total is within the supply
	}
	return t
}

// tallyOn returns an empty tally for target, a checkpoint of a block whose parent state is ps, sharing ps's table.
func tallyOn(target Checkpoint, ps *State) *epochTally {
	table, idx := ps.tableIndexed(target.Epoch)
	return newTally(target, table, idx)
}

func (t *epochTally) clone() *epochTally {
	c := *t
	c.voted, c.links = t.voted.cloneFinal(), maps.Clone(t.links) // t is attached to a block: never written again
	return &c
}

// GenesisFinality returns the finality at genesis: its checkpoint (epoch 0) is justified and finalized.
func GenesisFinality(genesis Hash, table []Stake) *Finality {
	g := Checkpoint{Epoch: 0, Hash: genesis}
	return genesisFinality(g, newTally(g, table, nil))
}

// genesisFinality is the finality at genesis g whose tally of epoch 0 is cur.
func genesisFinality(g Checkpoint, cur *epochTally) *Finality {
	return &Finality{Justified: g, Finalized: g, justified: []Checkpoint{g}, cur: cur}
}

// IsJustified reports whether c is justified on the branch (only checkpoints from Finalized on are known).
func (f *Finality) IsJustified(c Checkpoint) bool { return slices.Contains(f.justified, c) }

// Holds reports whether the branch holds a vote of a for target, a checkpoint of one of the branch's newest two
// epochs (the only ones a block can still add votes for, PROTOCOL.md §8a).
func (f *Finality) Holds(target Checkpoint, a Address) bool {
	for _, t := range []*epochTally{f.cur, f.prev} {
		if t != nil && t.target == target {
			_, ok := t.voted.get(a)
			return ok
		}
	}
	return false
}

// Target returns the checkpoint a vote in epoch e targets on this branch: the newest block before e's first
// slot. It reports false for an epoch other than the branch's newest two.
func (f *Finality) Target(e Epoch) (Checkpoint, bool) {
	for _, t := range []*epochTally{f.cur, f.prev} {
		if t != nil && t.target.Epoch == e {
			return t.target, true
		}
	}
	return Checkpoint{}, false
}

// Next returns the finality after a block of epoch e on parent (hash h, post-state ps) whose evidence slashes the
// validators slashed, and which holds votes checked for form and signature (PROTOCOL.md §8a, §8b). A slashed
// validator stops counting from that block on: the stake of its votes already counted leaves their links (a
// checkpoint justified stays justified), and its later votes count for nothing; the tables' totals keep it. It
// fails with ErrVoteTarget, ErrVoteNotValidator or ErrDuplicateVote, wrapped with the vote's index.
func (f *Finality) Next(e Epoch, parent Hash, ps *State, slashed []Address, votes []Vote, rules FinalityRules) (*Finality, error) {
	n := f
	if e > f.cur.target.Epoch {
		n = f.enter(e, parent, ps)
	}
	if len(votes) == 0 && len(slashed) == 0 {
		return n, nil
	}
	if n == f {
		c := *f
		n = &c
	}
	n.justified = slices.Clone(n.justified)
	n.cur = n.cur.clone()
	if n.prev != nil {
		n.prev = n.prev.clone()
	}
	n.slash(slashed)
	for i := range votes {
		if err := n.count(&votes[i], rules); err != nil {
			return nil, fmt.Errorf("vote %d: %w", i, err)
		}
	}
	return n, nil
}

// slash takes the validators of offenders out of n's tallies, a fresh copy: their counted stake leaves the links
// it joined, and they are remembered so that none of their votes counts again while a table they are in counts.
func (n *Finality) slash(offenders []Address) {
	if len(offenders) == 0 {
		return
	}
	n.slashed = slices.Clone(n.slashed)
	for _, a := range offenders {
		if slices.Contains(n.slashed, a) {
			continue
		}
		n.slashed = append(n.slashed, a)
		for _, t := range []*epochTally{n.cur, n.prev} {
			if t == nil {
				continue
			}
			if src, ok := t.voted.get(a); ok {
				t.links[src] -= t.stake[a] // counted once from a justified source, so at least its stake
			}
		}
	}
}

// enter opens epoch e on a branch whose newest block is parent: the checkpoint of every epoch after the
// parent's up to e is the parent itself (PROTOCOL.md §8a).
func (f *Finality) enter(e Epoch, parent Hash, ps *State) *Finality {
	n := *f
	n.prev = f.cur
	if f.cur.target.Epoch != e-1 {
		n.prev = tallyOn(Checkpoint{Epoch: e - 1, Hash: parent}, ps)
	}
	n.cur = tallyOn(Checkpoint{Epoch: e, Hash: parent}, ps)
	n.slashed = slices.DeleteFunc(slices.Clone(n.slashed), func(a Address) bool {
		return n.cur.stake[a] == 0 && n.prev.stake[a] == 0 // out of both tables: nothing left to exclude
	})
	return &n
}

// count adds one vote to n, a fresh copy, and applies the rules when its link reaches a supermajority.
func (n *Finality) count(v *Vote, rules FinalityRules) error {
	var t *epochTally
	switch {
	case v.Target == n.cur.target:
		t = n.cur
	case n.prev != nil && v.Target == n.prev.target:
		t = n.prev
	default:
		return fmt.Errorf("%w: %s by %s", ErrVoteTarget, v.Target, v.Validator.Short())
	}
	stake := t.stake[v.Validator]
	if stake == 0 {
		return fmt.Errorf("%w: %s for %s", ErrVoteNotValidator, v.Validator.Short(), v.Target)
	}
	if _, ok := t.voted.get(v.Validator); ok {
		return fmt.Errorf("%w: %s for %s", ErrDuplicateVote, v.Validator.Short(), v.Target)
	}
	if !n.IsJustified(v.Source) || slices.Contains(n.slashed, v.Validator) {
		// A link from a source this branch has not justified counts for nothing and does not spend the
		// validator's vote for the epoch: the same vote counts once a later block holds it and its source is
		// justified. A slashed validator's vote counts for nothing at all.
		return nil
	}
	t.voted.put(v.Validator, v.Source)
	t.links[v.Source] += stake // at most the table's total
	if !rules.Supermajority(t.links[v.Source], t.total) || n.IsJustified(t.target) {
		return nil
	}
	n.justify(v.Source, t.target, rules)
	return nil
}

// justify records target as justified by a supermajority link from source, and finalizes source when the rules
// say so.
func (n *Finality) justify(source, target Checkpoint, rules FinalityRules) {
	n.justified = append(n.justified, target)
	slices.SortFunc(n.justified, func(a, b Checkpoint) int { return cmp.Compare(a.Epoch, b.Epoch) })
	if target.Epoch > n.Justified.Epoch {
		n.Justified = target
	}
	if rules.Finalizes(source, target) && source.Epoch > n.Finalized.Epoch {
		n.Finalized = source
		i := slices.IndexFunc(n.justified, func(c Checkpoint) bool { return c.Epoch >= source.Epoch })
		n.justified = n.justified[i:]
	}
}
