package node

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/posnode/posnode/chain"
)

// ErrSlashableVote: slashing protection refused to sign a vote that could be slashable against one this node
// signed before (PROTOCOL.md §8b).
var ErrSlashableVote = errors.New("vote refused by slashing protection")

// voteGuard is the slashing protection a checkpoint vote passes before it is signed: CheckAndRecordVote returns
// nil only once it has durably recorded that addr signs the vote source→target of signing root root
// (chain.Vote.Root), and refuses any vote that could be slashable against one it recorded (PROTOCOL.md §8b).
// The slashing protection record of node/slashprot is one.
type voteGuard interface {
	CheckAndRecordVote(addr chain.Address, sourceEpoch, targetEpoch chain.Epoch, root chain.Hash) error
}

// metaLastVote is the chain.db meta record of voteWatermark.
const metaLastVote = "last_vote"

// voteMarkSize is the record's size: source epoch u64 | target epoch u64 | root [32].
const voteMarkSize = 48

// voteWatermark is the node's own voteGuard until the slashing protection record is wired in: beside the last
// signed slot, chain.db keeps the vote this node signed last, and it signs only a vote whose target is above that
// vote's and whose source is not below it, or the very same vote again. Since an honest validator's votes only
// move forward, no vote it signs can be a double or surround vote against any earlier one (EIP-3076's minimal
// rule). Like the last signed slot, it is lost with chain.db.
type voteWatermark struct {
	store chain.Store
	last  voteMark
	has   bool
}

type voteMark struct {
	source, target chain.Epoch
	root           chain.Hash
}

// openVoteWatermark reads the record from store; a record that does not decode fails, rather than forget it.
func openVoteWatermark(store chain.Store) (*voteWatermark, error) {
	w := &voteWatermark{store: store}
	raw, err := store.Meta(metaLastVote)
	if err != nil || raw == nil {
		return w, err
	}
	if w.last, err = decodeVoteMark(raw); err != nil {
		return nil, fmt.Errorf("record of the last signed vote: %w", err)
	}
	w.has = true
	return w, nil
}

// CheckAndRecordVote implements voteGuard; it fails with ErrSlashableVote, or with the store's error.
func (w *voteWatermark) CheckAndRecordVote(_ chain.Address, source, target chain.Epoch, root chain.Hash) error {
	m := voteMark{source, target, root}
	switch {
	case w.has && m == w.last:
		return nil
	case w.has && (target <= w.last.target || source < w.last.source):
		return fmt.Errorf("%w: %d→%d after %d→%d", ErrSlashableVote, source, target, w.last.source, w.last.target)
	}
	if err := w.store.PutMeta(metaLastVote, m.encode()); err != nil {
		return fmt.Errorf("record signed vote: %w", err)
	}
	w.last, w.has = m, true
	return nil
}

func (m voteMark) encode() []byte {
	b := binary.BigEndian.AppendUint64(make([]byte, 0, voteMarkSize), uint64(m.source))
	b = binary.BigEndian.AppendUint64(b, uint64(m.target))
	return append(b, m.root[:]...)
}

func decodeVoteMark(b []byte) (voteMark, error) {
	var m voteMark
	if len(b) != voteMarkSize {
		return m, fmt.Errorf("%d bytes, want %d", len(b), voteMarkSize)
	}
	m.source = chain.Epoch(binary.BigEndian.Uint64(b))
	m.target = chain.Epoch(binary.BigEndian.Uint64(b[8:]))
	copy(m.root[:], b[16:])
	if m.source >= m.target {
		return m, fmt.Errorf("source epoch %d not below target epoch %d", m.source, m.target)
	}
	return m, nil
}
