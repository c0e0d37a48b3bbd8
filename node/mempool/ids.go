package mempool

import (
	"bytes"
	"encoding/binary"

	"github.com/posnode/posnode/chain"
)

// idPrefixes indexes the mempool's transaction IDs by their first four bytes, the MinTxPrefix hex digits every
// prefix search gives: a search on the event loop looks at one bucket, never at the whole pool. IDs are hashes,
// so a bucket holds one ID but for a chance collision (about 50,000² / 2³³ ≈ 0.3 pairs in a full pool); a sender
// who grinds IDs into one bucket pays a signed, fee-paying transaction for each 2³² hashes.
type idPrefixes map[uint32][]chain.Hash

func prefixKey(b []byte) uint32 { return binary.BigEndian.Uint32(b) }

func (x idPrefixes) add(id chain.Hash) {
	k := prefixKey(id[:])
	x[k] = append(x[k], id)
}

func (x idPrefixes) remove(id chain.Hash) {
	k := prefixKey(id[:])
	ids := x[k]
	for i := range ids {
		if ids[i] == id {
			ids[i] = ids[len(ids)-1]
			ids = ids[:len(ids)-1]
			break
		}
	}
	if len(ids) == 0 {
		delete(x, k)
		return
	}
	x[k] = ids
}

// with returns up to max IDs that start with prefix, which holds at least four bytes (MinTxPrefix hex digits).
func (x idPrefixes) with(prefix []byte, max int) []chain.Hash {
	var out []chain.Hash
	for _, id := range x[prefixKey(prefix)] {
		if len(out) < max && bytes.HasPrefix(id[:], prefix) {
			out = append(out, id)
		}
	}
	return out
}

// IDsWith returns up to max IDs of pending transactions that start with prefix, of at least four bytes (the
// MinTxPrefix hex digits): one bucket of the pool's index, so it costs the loop no scan of the pool.
func (p *Pool) IDsWith(prefix []byte, max int) []chain.Hash {
	if len(prefix) < 4 {
		return nil
	}
	return p.byPrefix.with(prefix, max)
}
