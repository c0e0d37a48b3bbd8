package finality

import (
	"encoding/binary"
	"fmt"

	"github.com/posnode/posnode/chain"
)

// VoteDelay is how many slots into an epoch a validator whose head holds no block of the epoch yet waits before it
// votes with the head as the epoch's checkpoint (PROTOCOL.md §8a): a quarter of the epoch, at least one slot, so
// that a late block of the epoch before can still arrive.
func VoteDelay(epochLength uint64) uint64 { return max(epochLength/4, 1) }

// VoteSlot is the slot of epoch e, counted from the epoch's first, from which validator addr's vote is due
// (PROTOCOL.md §8a): validators are spread evenly over the epoch's first VoteDelay slots by their address and the
// epoch, so that a large validator set does not sign, send and check all its votes in the same moment.
func VoteSlot(addr chain.Address, e chain.Epoch, epochLength uint64) uint64 {
	return (binary.BigEndian.Uint64(addr[:8]) + uint64(e)) % VoteDelay(epochLength)
}

// RepublishEvery is how many slots pass between publications of this node's own vote while the head's branch
// does not hold it (PROTOCOL.md §8a).
const RepublishEvery = 4

// Owed returns slot s's epoch, and whether this node's voting duty for it is still to be done: the epoch is not
// genesis's and the node has not tried to vote for it since New (PROTOCOL.md §8a). The node then asks whether it
// may sign at all before it calls Vote.
func (d *Duty) Owed(s chain.Slot) (chain.Epoch, bool) {
	e := d.g.EpochOf(s)
	return e, e != 0 && e > d.lastVoted
}

// Vote returns this node's unsigned checkpoint vote at slot s, and whether it is due now (PROTOCOL.md §8a): its
// VoteSlot of the epoch has come, the epoch's checkpoint is settled on c's branch (a block of the epoch is there,
// or VoteDelay slots passed), the node is in the epoch's stake table, and the head has not justified the epoch
// yet (the vote could only repeat its source). The vote goes from the head's justified checkpoint to the epoch's
// checkpoint. The error is the stake table's, unreadable.
func (d *Duty) Vote(s chain.Slot, c Chain) (chain.Vote, bool, error) {
	el := d.g.EpochLength
	e := d.g.EpochOf(s)
	into := uint64(s) - uint64(e)*el
	if into < VoteSlot(d.self, e, el) || d.g.EpochOf(c.Head().Slot) < e && into < VoteDelay(el) {
		return chain.Vote{}, false, nil
	}
	in, err := c.InStakeTable(e, d.self)
	if err != nil {
		return chain.Vote{}, false, fmt.Errorf("stake table of epoch %d: %w", e, err)
	}
	if !in {
		return chain.Vote{}, false, nil
	}
	source, _ := c.Finality()
	target := c.Checkpoint(e)
	if source.Epoch >= target.Epoch {
		return chain.Vote{}, false, nil
	}
	return chain.Vote{Validator: d.self, Source: source, Target: target}, true, nil
}

// Voting marks the duty of epoch e done: the node tries to sign one vote per epoch, whatever the slashing
// protection record then answers (PROTOCOL.md §11).
func (d *Duty) Voting(e chain.Epoch) { d.lastVoted = max(d.lastVoted, e) }

// LastVoted is the last epoch Voting marked done; 0 before the first.
func (d *Duty) LastVoted() chain.Epoch { return d.lastVoted }

// Signed takes this node's vote v, signed at slot s, into the pool and keeps it for Republish. The error is the
// pool's, which does not keep a vote it cannot hold (votepool errors).
func (d *Duty) Signed(v chain.Vote, s chain.Slot) error {
	_, err := d.votes.AddVote(v)
	d.own, d.ownAt = &v, s
	return err
}

// Own is this node's latest vote while Republish may still publish it; nil when there is none.
func (d *Duty) Own() *chain.Vote { return d.own }

// Republish returns this node's latest vote when it is to be published again at slot s (PROTOCOL.md §8a): every
// RepublishEvery slots after it was signed, while a block can still include it (its target epoch is s's or the
// one before) and c's branch does not hold it, so that a vote signed while the node was cut off from its peers
// reaches a proposer once it is back: at most 2·E / RepublishEvery publications per vote. A vote no block can
// include any more is forgotten.
func (d *Duty) Republish(s chain.Slot, c Chain) (chain.Vote, bool) {
	v := d.own
	if v == nil {
		return chain.Vote{}, false
	}
	if d.g.EpochOf(s) > v.Target.Epoch+1 {
		d.own = nil // no block can include it any more
		return chain.Vote{}, false
	}
	if s <= d.ownAt || (s-d.ownAt)%RepublishEvery != 0 || c.HoldsVote(v.Target, d.self) {
		return chain.Vote{}, false
	}
	return *v, true
}
