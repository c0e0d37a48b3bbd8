package chain

import (
	"crypto/ed25519"
	"fmt"
)

// TxError is a transaction that Propose left out of its block, and why.
type TxError struct {
	Tx  Tx
	Err error
}

// Leader returns the lottery winner of slot for a block on top of the head (PROTOCOL.md §6); ok is
// false when nobody has stake.
func (t *Tree) Leader(slot Slot) (Address, bool) { return t.leaderOn(t.head, t.head.state, slot) }

// Propose builds a block for slot on top of the head, signed with key, with key's VRF proof of the slot and
// the mix it gives (PROTOCOL.md §4, §6). It takes txs
// in order, leaves out those that are invalid on their own or on the state so far (returned as
// TxErrors), and stops at MaxBlockTxs. It does not check that key won the slot, and does not insert
// the block. A slot not after the head's fails with ErrSlotNotAfterParent.
func (t *Tree) Propose(slot Slot, key ed25519.PrivateKey, txs []Tx) (*Block, []TxError, error) {
	return t.proposeOn(t.head, slot, key, Body{Txs: txs})
}

// ProposeOn is Propose on top of the block parent of the tree rather than the head; it fails with ErrNotFound
// for a parent not in the tree.
func (t *Tree) ProposeOn(parent Hash, slot Slot, key ed25519.PrivateKey, txs []Tx) (*Block, []TxError, error) {
	return t.ProposeBody(parent, slot, key, Body{Txs: txs})
}

// Body is what a proposer offers for a block, each part in order of preference.
type Body struct {
	Txs      []Tx
	Votes    []Vote
	Evidence []Evidence
}

// ProposeBody is ProposeOn with checkpoint votes and evidence as well: it keeps the votes that count on the
// parent's branch (PROTOCOL.md §8a), at most MaxBlockVotes, and the evidence that punishes someone (§8b), at
// most MaxBlockEvidence, and leaves out the rest. PrepareBuild and Build.Run are the same in two steps.
func (t *Tree) ProposeBody(parent Hash, slot Slot, key ed25519.PrivateKey, body Body) (*Block, []TxError, error) {
	bd, err := t.PrepareBuild(parent, slot, key, body)
	if err != nil {
		return nil, nil, err
	}
	c, rejected, err := bd.Run()
	if err != nil {
		return nil, rejected, err
	}
	return c.b, rejected, nil
}

// proposeOn builds a block for slot on top of parent.
func (t *Tree) proposeOn(parent *node, slot Slot, key ed25519.PrivateKey, body Body) (*Block, []TxError, error) {
	bd, err := t.PrepareBuild(parent.hash, slot, key, body)
	if err != nil {
		return nil, nil, err
	}
	b, _, rejected, err := t.build(bd.parent, bd.ps, slot, key, body)
	return b, rejected, err
}

// build builds a block for slot on top of parent, whose state is ps, and returns it with its state. It reads
// only what the tree never changes once it holds a block, so any goroutine may run it.
func (t *Tree) build(parent *node, ps *State, slot Slot, key ed25519.PrivateKey, body Body) (*Block, *State, []TxError, error) {
	b := &Block{Header: Header{
		Height:   parent.height() + 1,
		Slot:     slot,
		Parent:   parent.hash,
		Proposer: AddressOf(key.Public().(ed25519.PublicKey)),
		VRFProof: ProveVRF(key, t.chainID, slot),
	}}
	out, err := b.Header.VRFProof.Output()
	if err != nil {
		return nil, nil, nil, fmt.Errorf("propose: own vrf proof: %w", err)
	}
	b.Header.Mix = NextMix(parent.mix, out)
	var rejected []TxError
	b.Txs, rejected = t.pick(ps, body.Txs)
	b.Votes = t.pickVotes(parent, ps, slot, body.Votes)
	b.Evidence = t.pickEvidence(ps, b, body.Evidence)
	b.Header.TxRoot = TxRoot(b.Txs)
	b.Header.VoteRoot = VoteRoot(b.Votes)
	b.Header.EvRoot = EvidenceRoot(b.Evidence)
	post := ps.Clone()
	if err := post.ApplyBlock(b); err != nil {
		return nil, nil, rejected, fmt.Errorf("apply proposed block: %w", err)
	}
	b.Header.StateRoot = post.settleRoot()
	b.Sign(t.chainID, key)
	return b, post, rejected, nil
}

// pick returns the transactions of txs that apply in order on top of state s, at most MaxBlockTxs,
// and the rejected ones with their errors.
func (t *Tree) pick(s *State, txs []Tx) ([]Tx, []TxError) {
	trial := s.Clone()
	var picked []Tx
	var rejected []TxError
	for i := range txs {
		if len(picked) == MaxBlockTxs {
			break
		}
		tx := &txs[i]
		err := tx.ValidateBasic()
		if err == nil {
			err = t.verifyTx(tx)
		}
		if err == nil {
			err = trial.ApplyTx(tx)
		}
		if err != nil {
			rejected = append(rejected, TxError{Tx: *tx, Err: err})
			continue
		}
		picked = append(picked, *tx)
	}
	return picked, rejected
}

// pickVotes returns the votes that are well formed, correctly signed and count on parent's branch for a block at
// slot (PROTOCOL.md §8a), at most MaxBlockVotes, in order.
func (t *Tree) pickVotes(parent *node, ps *State, slot Slot, votes []Vote) []Vote {
	var picked []Vote
	fin := parent.fin
	epoch := t.cfg.Genesis.EpochOf(slot)
	for i := range votes {
		if len(picked) == MaxBlockVotes {
			break
		}
		v := votes[i]
		if v.ValidateBasic() != nil || !fin.IsJustified(v.Source) || t.verifyVote(&v) != nil {
			continue // a vote whose source is not justified here would count for nothing (§8a): offered later
		}
		next, err := fin.Next(epoch, parent.hash, ps, nil, []Vote{v}, t.cfg.Finality)
		if err != nil {
			continue
		}
		fin, picked = next, append(picked, v)
	}
	return picked
}

// pickEvidence returns the evidence that proves an offence and punishes someone in b, whose transactions are
// set (PROTOCOL.md §8b), at most MaxBlockEvidence, in order.
func (t *Tree) pickEvidence(ps *State, b *Block, evs []Evidence) []Evidence {
	if len(evs) == 0 {
		return nil
	}
	trial := ps.Clone()
	if trial.ApplyBlock(&Block{Header: b.Header, Txs: b.Txs}) != nil {
		return nil
	}
	epoch := t.cfg.Genesis.EpochOf(b.Header.Slot)
	var picked []Evidence
	for i := range evs {
		if len(picked) == MaxBlockEvidence {
			break
		}
		e := &evs[i]
		if e.ValidateBasic() != nil || e.Verify(t.chainID) != nil {
			continue
		}
		if _, err := trial.applyEvidence(nil, e, b.Header.Proposer, epoch); err != nil {
			continue
		}
		picked = append(picked, *e)
	}
	return picked
}
