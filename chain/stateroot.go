package chain

import (
	"bytes"
	"crypto/sha256"
	"math/bits"
	"slices"
)

// The accounts tree of a state, kept between blocks so that a block's state root hashes only the paths of the
// accounts it changed: O(changed × log accounts) hashes instead of O(accounts). The tree and its root are the
// same as merkleRoot(accountsDomain, leaves) over every account (PROTOCOL.md §4a); accountsRoot falls back to that
// whenever the kept tree cannot be brought up to date by replacing leaves (an account created or removed).

// acctTree is the accounts tree of some version of a state: the addresses in byte order and the RFC 9162 tree of
// their leaves. It is never modified: states share it, and an update builds new nodes along the changed paths.
type acctTree struct {
	addrs []Address
	root  *mnode // nil for no accounts
}

// mnode is a node of a Merkle tree: a leaf hash (no children) or H(0x01 | left | right).
type mnode struct {
	h    Hash
	l, r *mnode
}

// split returns the size of the left subtree of a tree of n > 1 leaves: the largest power of two below n
// (RFC 9162 §2.1.1).
func split(n int) int { return 1 << (bits.Len(uint(n-1)) - 1) }

// buildTree returns the tree over leaves (at least one).
func buildTree(leaves []Hash) *mnode {
	if len(leaves) == 1 {
		return &mnode{h: leaves[0]}
	}
	k := split(len(leaves))
	l, r := buildTree(leaves[:k]), buildTree(leaves[k:])
	return &mnode{h: merkleNode(l.h, r.h), l: l, r: r}
}

// leafAt is a new leaf hash for index i.
type leafAt struct {
	i    int
	leaf Hash
}

// withLeaves returns a tree of n leaves equal to nd but with the leaves of ups (sorted by index, indices below
// n) replaced; each inner node on a changed path is hashed once, and nd is left as it was.
func withLeaves(nd *mnode, n int, ups []leafAt) *mnode {
	if len(ups) == 0 {
		return nd
	}
	if n == 1 {
		return &mnode{h: ups[len(ups)-1].leaf}
	}
	k := split(n)
	cut, _ := slices.BinarySearchFunc(ups, k, func(u leafAt, k int) int { return u.i - k })
	right := make([]leafAt, len(ups)-cut)
	for j, u := range ups[cut:] {
		right[j] = leafAt{u.i - k, u.leaf}
	}
	l, r := withLeaves(nd.l, k, ups[:cut]), withLeaves(nd.r, n-k, right)
	return &mnode{h: merkleNode(l.h, r.h), l: l, r: r}
}

// rootHash returns MerkleRoot(accountsDomain, leaves) of the tree.
func (t *acctTree) rootHash() Hash {
	if t.root == nil {
		return wrapRoot(accountsDomain, 0, sha256.Sum256(nil))
	}
	return wrapRoot(accountsDomain, uint32(len(t.addrs)), t.root.h)
}

// newAcctTree builds the accounts tree of s from scratch.
func newAcctTree(s *State) *acctTree {
	addrs, leaves := s.accountLeaves()
	t := &acctTree{addrs: addrs}
	if len(leaves) > 0 {
		t.root = buildTree(leaves)
	}
	return t
}

// acctTreeNow returns the accounts tree of s as it is now: the kept tree with the accounts changed since
// replaced, or a new tree when there is no kept tree, when an account was created or removed, or when the list
// of changes is longer than two per account. It does not modify s.
func (s *State) acctTreeNow() *acctTree {
	t := s.acct
	if t == nil || len(s.changed) > 2*len(t.addrs) {
		return newAcctTree(s)
	}
	if len(s.changed) == 0 {
		return t
	}
	ups := make([]leafAt, 0, len(s.changed))
	for _, a := range s.changed {
		i, found := slices.BinarySearchFunc(t.addrs, a, func(x, y Address) int { return bytes.Compare(x[:], y[:]) })
		if !found {
			return newAcctTree(s) // an account created: the tree changes shape
		}
		ups = append(ups, leafAt{i: i})
	}
	slices.SortFunc(ups, func(x, y leafAt) int { return x.i - y.i })
	ups = slices.CompactFunc(ups, func(x, y leafAt) bool { return x.i == y.i })
	for j := range ups {
		a := t.addrs[ups[j].i]
		acc, exists := s.accounts.get(a)
		if !exists {
			return newAcctTree(s) // an account removed: the tree changes shape
		}
		ups[j].leaf = accountLeaf(a, acc)
	}
	return &acctTree{addrs: t.addrs, root: withLeaves(t.root, len(t.addrs), ups)}
}

// accountsRoot returns MerkleRoot("posnode/accounts/v1", account leaves) (PROTOCOL.md §4a).
func (s *State) accountsRoot() Hash { return s.acctTreeNow().rootHash() }

// settleRoot returns s.Root() and keeps the accounts tree it computed in s, so that a Clone of s and the blocks
// applied to it hash only what they change. It modifies s: only for a state no other goroutine can see yet (one
// just built from a Clone).
func (s *State) settleRoot() Hash {
	s.acct, s.changed = s.acctTreeNow(), nil
	return stateRootOf(s.epoch, s.tablesRoot(), s.acct.rootHash())
}
