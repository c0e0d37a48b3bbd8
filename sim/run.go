package sim

import (
	"errors"
	"fmt"

	"github.com/posnode/posnode/chain"
)

// Strategy names what the adversary does with the slots it wins.
type Strategy string

// The strategies of a run.
const (
	// Grind publishes on the public head, using every choice its seed rule leaves it to win later slots.
	Grind Strategy = "grind"
	// PrivateBranch builds its own chain from genesis, grinding as Grind does, shows nothing, and releases the
	// branch after all the slots of the run.
	PrivateBranch Strategy = "private-branch"
	// LateRelease withholds each block it wins until the next honest block on the same parent is out, then
	// releases it.
	LateRelease Strategy = "late-release"
)

// Params fix one run.
type Params struct {
	Strategy      Strategy
	Rule          chain.SeedRule
	AlphaPermille int    // the adversary's stake, in thousandths of all stake (1 to 999)
	K             int    // block versions the adversary may try per slot (1 to MaxK)
	Slots         int    // slots played
	EpochLength   uint64 // slots per epoch
	Seed          int64  // derives every key; the same Params give the same Result
}

// Result is what one run measured.
type Result struct {
	Params
	Canonical    int // blocks on the canonical chain at the end
	Adversary    int // of them, the adversary's
	Withheld     int // blocks the adversary built and never published
	Reorgs       int // head changes that reverted at least one block
	DeepestReorg int // the most blocks one head change reverted
	Replaced     int // honest blocks that left the canonical chain
}

// Share returns the adversary's share of canonical blocks.
func (r Result) Share() float64 {
	if r.Canonical == 0 {
		return 0
	}
	return float64(r.Adversary) / float64(r.Canonical)
}

// errParams: a Params field is out of range.
var errParams = errors.New("bad simulation parameters")

// Run plays one run and measures it. It fails on parameters out of range, or if the real chain code rejects a
// block the simulation built (a bug).
func Run(p Params) (Result, error) {
	if p.AlphaPermille < 1 || p.AlphaPermille > 999 || p.K < 1 || p.K > MaxK || p.Slots < 1 || p.EpochLength < 1 {
		return Result{}, fmt.Errorf("%w: %+v", errParams, p)
	}
	w, err := newWorld(p.Rule, p.AlphaPermille, p.EpochLength, p.Seed)
	if err != nil {
		return Result{}, err
	}
	pub, err := w.openTree()
	if err != nil {
		return Result{}, err
	}
	r := &run{p: p, w: w, pub: pub, res: Result{Params: p}}
	switch p.Strategy {
	case Grind:
		err = r.grind()
	case LateRelease:
		err = r.lateRelease()
	case PrivateBranch:
		err = r.privateBranch()
	default:
		err = fmt.Errorf("%w: strategy %q", errParams, p.Strategy)
	}
	if err != nil {
		return Result{}, err
	}
	return r.count()
}

// run is the state of one run: the public chain every honest validator sees.
type run struct {
	p   Params
	w   *world
	pub *chain.Tree
	res Result
}

// insert adds b to the public chain and records the reorg it caused.
func (r *run) insert(b *chain.Block, slot chain.Slot) error {
	ch, err := r.pub.Insert(b, slot)
	if err != nil {
		return fmt.Errorf("slot %d: insert block by %s: %w", slot, b.Header.Proposer.Short(), err)
	}
	r.noteChange(ch)
	return nil
}

func (r *run) noteChange(ch chain.Change) {
	if len(ch.Reverted) == 0 {
		return
	}
	r.res.Reorgs++
	r.res.DeepestReorg = max(r.res.DeepestReorg, len(ch.Reverted))
	for _, b := range ch.Reverted {
		if b.Header.Proposer != r.w.advID {
			r.res.Replaced++
		}
	}
}

// honestTurn lets the leader of slot on the public head propose, if it is honest, and reports whether it did.
func (r *run) honestTurn(slot chain.Slot) (bool, error) {
	leader, ok := r.pub.Leader(slot)
	key, honest := r.w.honest[leader]
	if !ok || !honest {
		return false, nil
	}
	b, _, err := r.pub.Propose(slot, key, nil)
	if err != nil {
		return false, fmt.Errorf("slot %d: honest proposal: %w", slot, err)
	}
	return true, r.insert(b, slot)
}

// count walks the public canonical chain.
func (r *run) count() (Result, error) {
	head := r.pub.Head()
	r.res.Canonical = int(head.Height)
	for h := chain.Height(1); h <= head.Height; h++ {
		b, err := r.pub.BlockAt(h)
		if err != nil {
			return Result{}, fmt.Errorf("count: %w", err)
		}
		if b.Header.Proposer == r.w.advID {
			r.res.Adversary++
		}
	}
	return r.res, nil
}
