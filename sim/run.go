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
	// StakeGrind publishes on the public head and, in each block whose contents can reach a seed it knows (under
	// randao, a block at an epoch's tail, after which no honest block can follow in the epoch), stakes one of k
	// amounts of its own tokens: the one whose stake table of the target epoch gives it the most slots there
	// (PROTOCOL.md §6).
	StakeGrind Strategy = "stake-grind"
	// StakeWithhold is StakeGrind that also withholds such a block when the seed without it gives more.
	StakeWithhold Strategy = "stake-withhold"
	// VoteSplit plays checkpoint votes: the adversary proposes as StakeWithhold does, never votes, includes no
	// votes, and splits the honest votes for every checkpoint that is its block (see voteSplit).
	VoteSplit Strategy = "vote-split"
	// HonestVotes is VoteSplit's baseline: every validator, the adversary included, proposes and votes honestly.
	HonestVotes Strategy = "honest-votes"
)

// MaxStakeK is the most stake amounts the adversary may try per block under StakeGrind and StakeWithhold.
const MaxStakeK = 4096

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
	GrindEpochs  int // StakeGrind, StakeWithhold: epochs in which the adversary built k > 1 versions of a block
	// TailEpochs is the epochs whose last canonical block is the adversary's, with no honest block after it in the
	// epoch: the epochs where it could release its block at the boundary to split the next checkpoint's votes.
	TailEpochs int
	// LongestTailRun is the most consecutive such epochs.
	LongestTailRun int
	// VoteSplit, HonestVotes: checkpoints split; for every epoch e ≥ 1 but the last two, the slots from e's first
	// slot until the head's finalized checkpoint reached e (at least until the last slot, if it never did): the
	// most, the sum and the number of epochs.
	Splits, MaxFinalityDelay, FinalityDelaySum, FinalityEpochs int
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
	stakeGrinder := p.Strategy == StakeGrind || p.Strategy == StakeWithhold || p.Strategy == VoteSplit || p.Strategy == HonestVotes
	maxK := MaxK
	if stakeGrinder {
		maxK = MaxStakeK
	}
	if p.AlphaPermille < 1 || p.AlphaPermille > 999 || p.K < 1 || p.K > maxK || p.Slots < 1 || p.EpochLength < 1 {
		return Result{}, fmt.Errorf("%w: %+v", errParams, p)
	}
	w, err := newWorld(p.Rule, p.AlphaPermille, p.EpochLength, p.Seed, stakeGrinder)
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
	case StakeGrind, StakeWithhold:
		err = r.stakeGrind(p.Strategy == StakeWithhold)
	case VoteSplit, HonestVotes:
		err = r.voteSplit(p.Strategy == VoteSplit)
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
	tail := tailCounter{epochLength: r.w.gen.EpochLength}
	for h := chain.Height(1); h <= head.Height; h++ {
		b, err := r.pub.BlockAt(h)
		if err != nil {
			return Result{}, fmt.Errorf("count: %w", err)
		}
		if b.Header.Proposer == r.w.advID {
			r.res.Adversary++
		}
		tail.add(b.Header.Slot, b.Header.Proposer == r.w.advID)
	}
	tail.add(chain.Slot(r.p.Slots+1), false)
	r.res.TailEpochs, r.res.LongestTailRun = tail.epochs, tail.longest
	return r.res, nil
}

// tailCounter counts, over canonical blocks in order, the epochs whose last block is the adversary's.
type tailCounter struct {
	epochLength   uint64
	last          chain.Slot // slot of the previous block (0: none yet)
	lastAdv       bool
	epochs, run   int
	longest       int
	lastTailEpoch uint64
}

func (c *tailCounter) add(slot chain.Slot, adv bool) {
	if c.last > 0 && uint64(slot)/c.epochLength > uint64(c.last)/c.epochLength { // c.last ended its epoch
		e := uint64(c.last) / c.epochLength
		switch {
		case !c.lastAdv:
			c.run = 0
		case c.run > 0 && c.lastTailEpoch+1 == e:
			c.run++
		default:
			c.run = 1
		}
		if c.lastAdv {
			c.epochs++
			c.lastTailEpoch = e
		}
		c.longest = max(c.longest, c.run)
	}
	c.last, c.lastAdv = slot, adv
}
