package light

import (
	"errors"
	"fmt"

	"github.com/posnode/posnode/chain"
	"github.com/posnode/posnode/consensus"
)

// Verification errors (PROTOCOL.md §14): each means the server answered something the chain does not hold, and
// the client turns to another server.
var (
	// ErrWrongSource: an update links from a checkpoint other than the client's justified one: the server's
	// chain does not contain the client's checkpoint.
	ErrWrongSource = errors.New("update does not start at the trusted checkpoint")
	// ErrBadHeader: a header is not the block its checkpoint names, or not a checkpoint of its epoch.
	ErrBadHeader = errors.New("header is not the checkpoint's block")
	// ErrWrongTable: an update's stake table is not the one a trusted header proves for the target's epoch.
	ErrWrongTable = errors.New("stake table not proven by a trusted header")
	// ErrNoSupermajority: an update's valid votes hold less than two thirds of the table's stake, or a skip's
	// voters less than a third of the client's own table.
	ErrNoSupermajority = errors.New("votes below a supermajority")
	// ErrBadVote: a vote of an update does not verify.
	ErrBadVote = errors.New("vote signature does not verify")
)

// Point is a checkpoint the client trusts with what it needs of its block: the state root that proves the next
// stake tables and accounts, and the block's height (0 for genesis).
type Point struct {
	Checkpoint chain.Checkpoint `json:"checkpoint"`
	StateRoot  chain.Hash       `json:"state_root"`
	Height     chain.Height     `json:"height"`
}

// Trust is what a light client holds (PROTOCOL.md §14): its newest justified and finalized checkpoints, and
// the stake table that justified the former (for a skip's overlap rule).
type Trust struct {
	Justified Point         `json:"justified"`
	Finalized Point         `json:"finalized"`
	Table     []chain.Stake `json:"table"`
}

// GenesisTrust is the trust of a client that starts from genesis: its checkpoint justified and finalized, and
// its stake table of epoch 0.
func GenesisTrust(g *chain.Genesis) Trust {
	st := g.State()
	p := Point{Checkpoint: chain.Checkpoint{Hash: g.Hash()}, StateRoot: st.Root()}
	return Trust{Justified: p, Finalized: p, Table: st.Validators(0)}
}

// CheckpointTrust is the trust of a client given the checkpoint c out of band (PROTOCOL.md §12) and a header a
// server sent for it: ErrBadHeader unless the header's hash is c's. The checkpoint is taken as finalized; its
// table is unknown until the first update, so the first step cannot skip.
func CheckpointTrust(c chain.Checkpoint, h chain.Header) (Trust, error) {
	if h.Hash() != c.Hash {
		return Trust{}, fmt.Errorf("%w: got block %s for checkpoint %s", ErrBadHeader, h.Hash().Short(), c)
	}
	p := Point{Checkpoint: c, StateRoot: h.StateRoot, Height: h.Height}
	return Trust{Justified: p, Finalized: p}, nil
}

// Verify checks an update against the client's trust and returns the trust after it (PROTOCOL.md §14):
//
//   - it starts at the trusted justified checkpoint and ends at a later one whose block is the header sent, a
//     block of a slot before the target epoch's first (epochLength slots an epoch);
//   - its table is the stake table of the target epoch in the state of the anchor's block: the trusted source's,
//     or (a skip) the target's own, when the source's state no longer keeps that epoch's table;
//   - votes of distinct voters of that table, each signature valid for the link on chain chainID, hold at least
//     two thirds of the table's stake; a skip's voters also hold at least a third of the trusted table's.
//
// The target becomes justified; the source, finalized if the target is the next epoch's (consensus.Finalizes).
// Errors: ErrWrongSource, ErrBadHeader, ErrWrongTable, ErrBadVote, ErrNoSupermajority, wrapped.
func Verify(chainID chain.Hash, epochLength uint64, t Trust, u *Update) (Trust, error) {
	if u.Source != t.Justified.Checkpoint {
		return t, fmt.Errorf("%w: update from %s, trusted %s", ErrWrongSource, u.Source, t.Justified.Checkpoint)
	}
	if err := checkTarget(epochLength, t.Justified, u); err != nil {
		return t, err
	}
	anchor := t.Justified.StateRoot
	if u.Anchor == AnchorTarget {
		anchor = u.Header.StateRoot
	}
	if err := chain.VerifyStakeTable(anchor, u.Target.Epoch, u.Table, u.Proof); err != nil {
		return t, fmt.Errorf("%w: %w", ErrWrongTable, err)
	}
	signers, err := countVotes(chainID, u)
	if err != nil {
		return t, err
	}
	if err := checkWeight(signers, u.Table, "the target epoch's"); err != nil {
		return t, err
	}
	if u.Anchor == AnchorTarget {
		if err := checkOverlap(signers, t.Table); err != nil {
			return t, err
		}
	}
	return advance(t, u), nil
}

// checkTarget checks that the update's header is its target's block and can be that epoch's checkpoint.
func checkTarget(epochLength uint64, j Point, u *Update) error {
	switch {
	case u.Target.Epoch <= u.Source.Epoch:
		return fmt.Errorf("%w: target epoch %d not after source epoch %d", ErrBadHeader, u.Target.Epoch, u.Source.Epoch)
	case u.Header.Hash() != u.Target.Hash:
		return fmt.Errorf("%w: header %s for target %s", ErrBadHeader, u.Header.Hash().Short(), u.Target)
	case uint64(u.Header.Slot) >= uint64(u.Target.Epoch)*epochLength:
		return fmt.Errorf("%w: block of slot %d is not before epoch %d", ErrBadHeader, u.Header.Slot, u.Target.Epoch)
	case u.Header.Height < j.Height:
		return fmt.Errorf("%w: height %d below the source's %d", ErrBadHeader, u.Header.Height, j.Height)
	}
	return nil
}

// countVotes verifies each signature of u as the vote Source → Target of its table entry and returns the
// voters, by address.
func countVotes(chainID chain.Hash, u *Update) (map[chain.Address]bool, error) {
	signers := make(map[chain.Address]bool, len(u.Votes))
	for _, s := range u.Votes {
		if int(s.Index) >= len(u.Table) {
			return nil, fmt.Errorf("%w: index %d of a table of %d", ErrBadVote, s.Index, len(u.Table))
		}
		v := chain.Vote{Validator: u.Table[s.Index].Addr, Source: u.Source, Target: u.Target, Sig: s.Sig}
		if err := v.Verify(chainID); err != nil {
			return nil, fmt.Errorf("%w: %w", ErrBadVote, err)
		}
		signers[v.Validator] = true
	}
	return signers, nil
}

// checkWeight requires the signers to hold two thirds of table's stake (consensus.Supermajority).
func checkWeight(signers map[chain.Address]bool, table []chain.Stake, which string) error {
	var signed, total chain.Amount
	for _, s := range table {
		total += s.Amount
		if signers[s.Addr] {
			signed += s.Amount
		}
	}
	if !consensus.Supermajority(signed, total) {
		return fmt.Errorf("%w: %d of %d stake of %s table", ErrNoSupermajority, signed, total, which)
	}
	return nil
}

// checkOverlap requires a skip's signers to hold at least a third of the stake of the table the client trusts
// (CometBFT's trust level): fewer could all be keys that left the validators and sign anything.
func checkOverlap(signers map[chain.Address]bool, trusted []chain.Stake) error {
	var signed, total chain.Amount
	for _, s := range trusted {
		total += s.Amount
		if signers[s.Addr] {
			signed += s.Amount
		}
	}
	if total == 0 || uint64(signed) < uint64(total)/3+min(uint64(total)%3, 1) { // signed ≥ ⌈total/3⌉
		return fmt.Errorf("%w: a skip signed by %d of the trusted table's %d stake, want a third", ErrNoSupermajority, signed, total)
	}
	return nil
}

// advance returns t after a verified update: the target justified, the source finalized by a link to the very
// next epoch (PROTOCOL.md §8a, k = 1).
func advance(t Trust, u *Update) Trust {
	n := t
	n.Justified = Point{Checkpoint: u.Target, StateRoot: u.Header.StateRoot, Height: u.Header.Height}
	n.Table = u.Table
	if consensus.Finalizes(u.Source, u.Target) {
		n.Finalized = t.Justified
	}
	return n
}
