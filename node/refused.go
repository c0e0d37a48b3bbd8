package node

import (
	"errors"
	"fmt"
	"time"

	"go.uber.org/zap"

	"github.com/posnode/posnode/chain"
	"github.com/posnode/posnode/node/blocksync"
)

// conflictBackoff is how long sync leaves alone a peer that served a branch conflicting with our finalized
// checkpoint: its blocks were read for evidence once, and fetching them again would only cost both nodes.
const conflictBackoff = time.Minute

// glean reads a block refused because it conflicts with the finalized checkpoint for the evidence it makes with
// what the pool holds (PROTOCOL.md §8b), before the block is dropped; called on the loop. Its proposer must be
// accountable on the head's state (else it returns chain.ErrConflictsFinalized: a stranger's block, whose sender
// is penalised). Nothing of the block is kept: its votes and header are compared with the pool's, its evidence
// checked against the head's ledger, and a signature is checked only for what then makes or is evidence against
// a validator that can still be punished and has none pending. So a block costs a few map reads per vote, and
// signature checks only for evidence, at most one piece per offender; a signature that fails stops the reading
// and the block counts as invalid (chain.ErrBadSignature).
func (n *Node) glean(b *chain.Block) error {
	if !n.tree.HeadState().Accountable(b.Header.Proposer) {
		return fmt.Errorf("%w: proposer %s is a stranger", chain.ErrConflictsFinalized, b.Header.Proposer.Short())
	}
	found := 0
	if a, sig, ok := n.ffg.Pool().HeaderConflict(b.Header); ok && n.ffg.CanAccuse(b.Header.Proposer, n.tree) {
		if err := b.Verify(n.chainID); err != nil {
			return err
		}
		n.recordEvidence(chain.NewDoubleProposal(&chain.Block{Header: a, Sig: sig}, b))
		found++
	}
	for i := range b.Votes {
		v := &b.Votes[i]
		if v.ValidateBasic() != nil {
			return fmt.Errorf("%w: vote %d", chain.ErrInvalidVote, i)
		}
		held, ok := n.ffg.Conflict(*v, n.tree)
		if !ok {
			continue
		}
		if err := n.sigs.VerifyVote(v); err != nil {
			return fmt.Errorf("vote %d: %w", i, err)
		}
		n.recordEvidence(chain.NewDoubleVote(*v, held))
		found++
	}
	for i := range b.Evidence {
		e := &b.Evidence[i]
		if !n.ffg.CanAccuse(e.Offender(), n.tree) || n.ffg.Pool().HasEvidence(e.ID()) {
			continue
		}
		if err := e.ValidateBasic(); err != nil {
			return err
		}
		if err := e.Verify(n.chainID); err != nil {
			return err
		}
		n.recordEvidence(*e)
		found++
	}
	n.log.Debug("read a block of a branch that conflicts with finality", zap.Stringer("hash", b.Hash()),
		zap.Uint64("slot", uint64(b.Header.Slot)), zap.Int("evidence", found))
	return fmt.Errorf("%w: block %s at slot %d", blocksync.ErrConflictingFinality, b.Hash().Short(), b.Header.Slot)
}

// gleanBatch reads the blocks of a sync batch that the tree refused for finality (PROTOCOL.md §8b): every block
// of it the tree does not hold, the refused one and those above it. It returns the first error of a block that
// proves its sender wrong, else blocksync.ErrConflictingFinality.
func (n *Node) gleanBatch(blocks []*chain.Block) error {
	result := error(nil)
	for _, b := range blocks {
		if n.tree.Has(b.Hash()) {
			continue
		}
		err := n.glean(b)
		if !errors.Is(err, blocksync.ErrConflictingFinality) {
			return err
		}
		result = err
	}
	return result
}
