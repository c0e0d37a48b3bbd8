package chain

import (
	"errors"
	"fmt"
)

// ValidateBlock checks b as a child of parent, whose post-state is parentState, and returns the
// state after b (PROTOCOL.md §7). leader is the winner of b's slot on top of parent (the caller runs
// the lottery over parentState.Validators of b's epoch; a zero leader means the slot has none) and
// maxSlot is the current slot. In order it checks: parent hash (ErrWrongParent), height
// (ErrBadHeight), slot after the parent's (ErrSlotNotAfterParent) and not in the future
// (ErrFutureSlot), proposer (ErrWrongProposer), the block signature (ErrBadSignature), the VRF proof
// (ErrBadVRFProof) and the mix against parent.Mix (ErrBadMix), ValidateBasic, every transaction's, vote's and
// evidence's signature (ErrBadSignature), the state transition on a clone of
// parentState, and the state root (ErrBadStateRoot). parentState is not modified.
//
// Transaction signatures are checked here rather than in ApplyTx so that replaying blocks from the
// local store can skip them.
func ValidateBlock(chainID Hash, parent Tip, parentState *State, b *Block, leader Address, maxSlot Slot) (*State, error) {
	return validateBlock(chainID, parent, parentState, b, leader, maxSlot, sigChecks{
		txs:  func(txs []Tx) error { return VerifyTxs(chainID, txs) },
		vote: func(v *Vote) error { return v.Verify(chainID) },
	})
}

// sigChecks are the signature checks of validateBlock, so that a Tree can pass ones that remember signatures
// already verified (SigCache.VerifyAll, SigCache.VerifyVote); transactions are checked in ZIP-215 batches either way.
type sigChecks struct {
	txs       func([]Tx) error
	vote      func(*Vote) error
	stateless bool // the block passed ValidateBasic and Verify already (Check.SkipStateless)
}

// validateBlock is ValidateBlock with the signature checks supplied.
func validateBlock(chainID Hash, parent Tip, parentState *State, b *Block, leader Address, maxSlot Slot, sigs sigChecks) (*State, error) {
	if parentState == nil {
		return nil, errors.New("validate block: nil parent state")
	}
	if err := checkPlace(parent, &b.Header, leader, maxSlot); err != nil {
		return nil, err
	}
	if !sigs.stateless {
		if err := b.Verify(chainID); err != nil {
			return nil, err
		}
	}
	if err := checkBeacon(chainID, parent.Mix, &b.Header); err != nil {
		return nil, err
	}
	if !sigs.stateless {
		if err := b.ValidateBasic(); err != nil {
			return nil, err
		}
	}
	if err := sigs.txs(b.Txs); err != nil {
		return nil, err
	}
	for i := range b.Votes {
		if err := sigs.vote(&b.Votes[i]); err != nil {
			return nil, fmt.Errorf("vote %d: %w", i, err)
		}
	}
	for i := range b.Evidence {
		if err := b.Evidence[i].Verify(chainID); err != nil {
			return nil, fmt.Errorf("evidence %d: %w", i, err)
		}
	}
	return transition(parentState, b)
}

// transition returns the state after b on a clone of parentState, checked against b's state root
// (ErrBadStateRoot); parentState is not modified. With a StateMemo installed, a block whose post-state a process of
// the simulation computed already takes that state (sharedPost): the block's hash fixes its parent, hence the
// parent's state, and its body, which ValidateBasic checked against the header's roots before this runs.
func transition(parentState *State, b *Block) (*State, error) {
	var h Hash
	if memo := stateMemo.Load(); memo != nil {
		h = b.Hash()
		if st := memo.post(h); st != nil {
			return st, nil
		}
	}
	st := parentState.Clone()
	if err := st.ApplyBlock(b); err != nil {
		return nil, err
	}
	if root := st.settleRoot(); root != b.Header.StateRoot {
		return nil, fmt.Errorf("%w: header has %s, state gives %s", ErrBadStateRoot, b.Header.StateRoot.Short(), root.Short())
	}
	if memo := stateMemo.Load(); memo != nil {
		memo.keepPost(h, b.Header.Height, st)
	}
	return st, nil
}

// checkBeacon checks the header's randomness beacon (PROTOCOL.md §6, §7): the VRF proof verifies for the
// proposer and the slot (ErrBadVRFProof), and the mix is SHA-256(parent mix | its output) (ErrBadMix).
func checkBeacon(chainID, parentMix Hash, h *Header) error {
	out, err := h.VRFProof.Verify(h.Proposer, chainID, h.Slot)
	if err != nil {
		return err
	}
	if mix := NextMix(parentMix, out); mix != h.Mix {
		return fmt.Errorf("%w: header has %s, proof gives %s", ErrBadMix, h.Mix.Short(), mix.Short())
	}
	return nil
}

// checkPlace checks the header against its parent, the clock and the lottery (PROTOCOL.md §7).
func checkPlace(parent Tip, h *Header, leader Address, maxSlot Slot) error {
	switch {
	case h.Parent != parent.Hash:
		return fmt.Errorf("%w: block names %s, parent is %s", ErrWrongParent, h.Parent.Short(), parent.Hash.Short())
	case h.Height != parent.Height+1:
		return fmt.Errorf("%w: got %d, want %d", ErrBadHeight, h.Height, parent.Height+1)
	case h.Slot <= parent.Slot:
		return fmt.Errorf("%w: slot %d, parent slot %d", ErrSlotNotAfterParent, h.Slot, parent.Slot)
	case h.Slot > maxSlot:
		return fmt.Errorf("%w: slot %d, current slot %d", ErrFutureSlot, h.Slot, maxSlot)
	case leader.IsZero():
		return fmt.Errorf("%w: slot %d has no leader", ErrWrongProposer, h.Slot)
	case h.Proposer != leader:
		return fmt.Errorf("%w: slot %d proposed by %s, leader is %s", ErrWrongProposer, h.Slot, h.Proposer.Short(), leader.Short())
	}
	return nil
}
