package chain

import (
	"bytes"
	"slices"
)

// BlockHashes returns, in byte order, up to max hashes of the tree's blocks — canonical or not, stored or
// accepted and not yet stored, the genesis included — that start with prefix. It looks at every block the tree
// holds in memory: O(blocks), with no read of the store.
func (t *Tree) BlockHashes(prefix []byte, max int) []Hash {
	var out []Hash
	for h := range t.nodes {
		if bytes.HasPrefix(h[:], prefix) {
			out = append(out, h)
		}
	}
	slices.SortFunc(out, func(a, b Hash) int { return bytes.Compare(a[:], b[:]) })
	return out[:min(len(out), max)]
}
