package blocksync

import (
	"errors"
	"fmt"

	"github.com/posnode/posnode/chain"
	"github.com/posnode/posnode/consensus"
	"github.com/posnode/posnode/p2p"
)

// Limits of one sync run (PROTOCOL.md §10).
const (
	// MaxStepsBack bounds how often a run steps back (doubling) to find where the peer's chain joins ours.
	MaxStepsBack = 64
	// RateLimitRetries is how often a run asks again for a range after the peer said it is over its limit,
	// before it gives up on the peer for now (without blaming it).
	RateLimitRetries = 3
)

// Chain is what a sync run reads of the node's block tree; *chain.Tree implements it.
type Chain interface {
	// Head is the canonical head.
	Head() chain.Tip
	// Has reports whether the tree holds the block h.
	Has(h chain.Hash) bool
	// SyncFloor is the lowest height a fetched block can join the tree at (PROTOCOL.md §10, §13).
	SyncFloor() chain.Height
}

// Kind is what a Decision asks the node's event loop to do.
type Kind uint8

// Decisions of a run.
const (
	// Ask: send the range request Req to the run's peer, and hand the answer to OnRange.
	Ask Kind = iota + 1
	// Retry: the peer is over its limit; after a wait, carry out Next.
	Retry
	// Import: import Blocks into the tree, oldest first, and hand the outcome to OnImport.
	Import
	// UpToDate: the peer's head is no better than ours; the run ended with nothing to fetch.
	UpToDate
	// Done: the run ended; Err is nil on success, else the failure the peer is judged by (Penalty).
	Done
)

// Decision is what a run decides on an event.
type Decision struct {
	Kind   Kind
	Req    RangeReq       // Ask
	Blocks []*chain.Block // Import
	Err    error          // Done
}

func done(err error) Decision { return Decision{Kind: Done, Err: err} }

// Run is one sync with one peer (PROTOCOL.md §10) as a state machine: a status request, then range requests
// from the first height we lack, stepping back (doubling, at most MaxStepsBack times) while the peer's blocks do
// not join ours. It does no I/O and reads no clock: the node's event loop sends its requests, imports its blocks
// through the tree, and hands it the answers. A Run is not safe for concurrent use: the event loop owns it.
type Run struct {
	Peer     string
	Target   Status       // the peer's head, once its status said it is better than ours
	From     chain.Height // the next height to ask for
	Imported int          // blocks imported so far
	back     chain.Height // how far the next step back goes
	steps    int          // steps back so far
	tries    int          // retries of the current range request after the peer's rate limit
}

// NewRun returns a run with peer, before its status request.
func NewRun(peer string) Run { return Run{Peer: peer, back: 1} }

// Fetched reports whether the run went past the status: the peer's head was better than ours.
func (r *Run) Fetched() bool { return r.Target.Head != (chain.Hash{}) }

// OnStatus takes the answer to the status request (resp, or the request's err) and decides: Done with the
// failure (ErrBadMessage, ErrForeignChain: a head at height 0 that is not genesis), UpToDate, or the first Ask.
// It returns the decoded status, for the node's clock check.
func (r *Run) OnStatus(resp []byte, err error, genesis chain.Hash, c Chain) (Status, Decision) {
	if err != nil {
		return Status{}, done(fmt.Errorf("status: %w", err))
	}
	theirs, err := DecodeStatus(resp)
	if err != nil {
		return theirs, done(err)
	}
	if theirs.Height == 0 && theirs.Head != genesis {
		return theirs, done(fmt.Errorf("%w: a head at height 0 that is not our genesis", ErrForeignChain))
	}
	ours := c.Head()
	ours.Timely = false // a better head by height is worth fetching; fork choice weighs it once here
	if c.Has(theirs.Head) || !consensus.Better(theirs.Tip(), ours) {
		return theirs, Decision{Kind: UpToDate}
	}
	r.Target = theirs
	// From the first height we lack, or from their head when it is no higher than ours (a better branch of the
	// same height): its parent is then unknown, and the fetch steps back to where the branches join.
	r.From = min(ours.Height+1, theirs.Height)
	return theirs, r.Next()
}

// Next decides the next request: Ask for up to MaxRangeBlocks from From, or Done once From passed the target.
func (r *Run) Next() Decision {
	if r.From > r.Target.Height {
		return done(nil)
	}
	return Decision{Kind: Ask, Req: RangeReq{From: r.From,
		Count: uint32(min(uint64(r.Target.Height-r.From+1), MaxRangeBlocks)), MaxBytes: MaxRangeBytes}}
}

// OnRange takes the answer to the range request req, as ReadRange read it (blocks, or its err), and decides:
// Retry when the peer is over its limit (at most RateLimitRetries times in a row), Import of a non-empty answer,
// else Done with the failure (ErrBadMessage, ErrBadRange, ErrPrunedRange, ErrUndelivered, err).
func (r *Run) OnRange(req RangeReq, blocks []*chain.Block, err error) Decision {
	if errors.Is(err, p2p.ErrRateLimited) && r.tries < RateLimitRetries {
		r.tries++
		return Decision{Kind: Retry}
	}
	r.tries = 0
	if err != nil {
		return done(fmt.Errorf("blocks from %d: %w", req.From, err))
	}
	if len(blocks) == 0 {
		return done(fmt.Errorf("%w: nothing at height %d of the %d it claimed", ErrUndelivered, r.From, r.Target.Height))
	}
	return Decision{Kind: Import, Blocks: blocks}
}

// ReadRange decodes an answer resp to range request req (or passes on the request's failure err) and checks it
// against the request (CheckRange): the blocks OnRange takes. It reads nothing but its arguments, so the caller
// may run it off the event loop. Errors: err, ErrBadMessage, ErrBadRange.
func ReadRange(req RangeReq, resp []byte, err error) ([]*chain.Block, error) {
	if err != nil {
		return nil, err
	}
	blocks, err := DecodeBlocks(resp)
	if err == nil {
		err = CheckRange(req, blocks)
	}
	if err != nil {
		return nil, err
	}
	return blocks, nil
}

// OnImport takes the outcome of an Import of blocks: unknownParent when the first block's parent is not in the
// tree (nothing was imported), else how many blocks were imported and the import's error. It decides the next
// Ask (after the blocks, or a step back to find where the chains join), or Done with the failure
// (ErrForeignChain after MaxStepsBack steps or at c's sync floor, or err).
func (r *Run) OnImport(blocks []*chain.Block, unknownParent bool, imported int, err error, c Chain) Decision {
	if unknownParent {
		low := max(c.SyncFloor(), 1) // below it no block can join ours (PROTOCOL.md §10, §13)
		if r.steps++; r.From <= low || r.steps > MaxStepsBack {
			return done(fmt.Errorf("%w: its chain does not join ours", ErrForeignChain))
		}
		r.From -= min(r.back, r.From-low)
		r.back *= 2
		return r.Next()
	}
	r.Imported += imported
	if err != nil {
		return done(err)
	}
	r.From = blocks[len(blocks)-1].Header.Height + 1
	return r.Next()
}

// Finish returns the failure the run ended with: err, or — for a run that fetched, imported nothing and left c
// without the target's head — ErrUndelivered (PROTOCOL.md §10).
func (r *Run) Finish(err error, c Chain) error {
	if r.Fetched() && err == nil && r.Imported == 0 && !c.Has(r.Target.Head) {
		return fmt.Errorf("%w: head %s at height %d", ErrUndelivered, r.Target.Head.Short(), r.Target.Height)
	}
	return err
}
