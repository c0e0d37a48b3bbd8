package chain

import (
	"bytes"
	"fmt"
	"slices"

	bolt "go.etcd.io/bbolt"
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

// TxIDs returns up to max distinct IDs of stored transactions that start with prefix, in byte order: a seek in
// the transaction index, whose keys are tx id | block hash.
func (s *BoltStore) TxIDs(prefix []byte, max int) ([]Hash, error) {
	var out []Hash
	err := s.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketTxs).Cursor()
		for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix) && len(out) < max; k, _ = c.Next() {
			if len(k) != 2*len(Hash{}) {
				return fmt.Errorf("%w: tx index key %x", ErrCorruptStore, k)
			}
			if id := Hash(k[:len(Hash{})]); len(out) == 0 || out[len(out)-1] != id {
				out = append(out, id)
			}
		}
		return nil
	})
	return out, s.wrap("read tx index", err)
}
