package sim

import (
	"fmt"

	"github.com/posnode/posnode/chain"
)

// lateRelease plays the LateRelease strategy: the adversary builds its block on the head when it wins a slot,
// keeps it, and releases it right after the next honest block on the same parent, which the fork choice of
// PROTOCOL.md §8 may then orphan.
func (r *run) lateRelease() error {
	var held *chain.Block
	for s := chain.Slot(1); s <= chain.Slot(r.p.Slots); s++ {
		if held != nil {
			if leader, _ := r.pub.Leader(s); leader == r.w.advID {
				if err := r.insert(held, s); err != nil { // its own slot again: nothing to wait for
					return err
				}
				held = nil
			}
		}
		if _, err := r.honestTurn(s); err != nil {
			return err
		}
		if held != nil {
			if err := r.insert(held, s); err != nil {
				return err
			}
			held = nil
		}
		if leader, ok := r.pub.Leader(s); ok && leader == r.w.advID && r.pub.Head().Slot < s {
			b, _, err := r.pub.Propose(s, r.w.adv, nil)
			if err != nil {
				return fmt.Errorf("slot %d: adversary proposal: %w", s, err)
			}
			held = b
		}
	}
	if held != nil {
		r.res.Withheld++
	}
	return nil
}

// privateBranch plays the PrivateBranch strategy: honest validators build the public chain without the
// adversary, which builds its own chain from genesis in private, grinding as Grind does, and releases it whole
// after the last slot.
func (r *run) privateBranch() error {
	priv, err := r.w.openTree()
	if err != nil {
		return err
	}
	for s := chain.Slot(1); s <= chain.Slot(r.p.Slots); s++ {
		if _, err := r.honestTurn(s); err != nil {
			return err
		}
		if leader, ok := priv.Leader(s); !ok || leader != r.w.advID {
			continue
		}
		b, err := r.w.choose(priv, s, r.p.K)
		if err != nil {
			return err
		}
		if b == nil {
			continue
		}
		if _, err := priv.Insert(b, s); err != nil {
			return fmt.Errorf("slot %d: private insert: %w", s, err)
		}
	}
	branch := make([]*chain.Block, 0, priv.Head().Height)
	for h := chain.Height(1); h <= priv.Head().Height; h++ {
		b, err := priv.BlockAt(h)
		if err != nil {
			return fmt.Errorf("private branch: %w", err)
		}
		branch = append(branch, b)
	}
	ch, _, err := r.pub.InsertBatch(branch, chain.Slot(r.p.Slots))
	if err != nil {
		return fmt.Errorf("release private branch: %w", err)
	}
	r.noteChange(ch)
	return nil
}
