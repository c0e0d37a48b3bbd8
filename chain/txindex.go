package chain

import (
	"bytes"
	"slices"
)

// TxIDs returns up to max distinct IDs of stored transactions that start with prefix, in byte order.
func (m *MemStore) TxIDs(prefix []byte, max int) ([]Hash, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return nil, ErrStoreClosed
	}
	var out []Hash
	for id := range m.txs {
		if bytes.HasPrefix(id[:], prefix) {
			out = append(out, id)
		}
	}
	slices.SortFunc(out, func(a, b Hash) int { return bytes.Compare(a[:], b[:]) })
	return out[:min(len(out), max)], nil
}

// TxIDs returns up to max distinct IDs of stored transactions that start with prefix, in byte order: a seek
// in the transaction index file, whose keys are tx id | block hash, and the blocks it has not written yet.
func (s *BoltStore) TxIDs(prefix []byte, max int) ([]Hash, error) {
	ids, err := s.idx.txIDs(prefix, max)
	return ids, s.wrap("read tx index", err)
}
