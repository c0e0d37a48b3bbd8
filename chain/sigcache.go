package chain

import (
	"crypto/sha256"
	"sync"
	"sync/atomic"
)

// SigCache remembers the transactions and votes whose signatures verified on one chain, so that a transaction
// checked when it entered the mempool is not checked again when the proposer picks it and when every node
// validates its block, and a vote checked when it was gossiped is not checked again in the block that holds it.
// The rule of PROTOCOL.md §7.5 is unchanged: a remembered ID stands for a signature that did verify. A
// transaction's ID hashes its whole encoding, signature included, and so does a vote's key (voteKey), so an entry
// vouches for exactly the bytes that were verified, and the cache is bound to one chain ID because signatures are.
//
// It holds at most its capacity, forgetting the oldest first; a forgotten transaction is simply verified again.
// Gossip validators and the event loop share it, so it is safe for concurrent use.
type SigCache struct {
	chainID  Hash
	capacity int
	mu       sync.Mutex
	ids      map[Hash]struct{}
	order    []Hash // IDs in the order they were added, a ring once full
	oldest   int    // index in order of the oldest ID, once full
	checks   atomic.Uint64
}

// NewSigCache returns an empty cache for the chain chainID holding up to capacity IDs (at least 1).
func NewSigCache(chainID Hash, capacity int) *SigCache {
	return &SigCache{chainID: chainID, capacity: max(capacity, 1), ids: make(map[Hash]struct{})}
}

// ChainID returns the chain whose signatures the cache vouches for.
func (c *SigCache) ChainID() Hash { return c.chainID }

// Verify checks tx's signature on the cache's chain (PROTOCOL.md §3) unless the same transaction verified before,
// and remembers it when it verifies.
func (c *SigCache) Verify(tx *Tx) error {
	if memo.Load() != nil {
		return c.verifyShared(func() error { return tx.Verify(c.chainID) })
	}
	return c.verifyOnce(tx.ID(), func() error { return tx.Verify(c.chainID) })
}

// VerifyVote checks v's signature on the cache's chain (PROTOCOL.md §8a) unless the same vote, signature
// included, verified before, and remembers it when it verifies. It returns ErrBadSignature as Vote.Verify does.
func (c *SigCache) VerifyVote(v *Vote) error {
	if memo.Load() != nil {
		return c.verifyShared(func() error { return v.Verify(c.chainID) })
	}
	return c.verifyOnce(voteKey(v), func() error { return v.Verify(c.chainID) })
}

// verifyShared runs check, remembering nothing: while a VerifyMemo is installed (ShareVerification) it remembers
// every outcome for all the caches of the OS process, so a cache of its own would only hold the same answers
// again, once per node (a simulated network of N nodes would keep N copies of every vote's and transaction's).
func (c *SigCache) verifyShared(check func() error) error {
	c.checks.Add(1)
	return check()
}

// verifyOnce runs check unless key is remembered, and remembers key when check passes.
func (c *SigCache) verifyOnce(key Hash, check func() error) error {
	if c.has(key) {
		return nil
	}
	c.checks.Add(1)
	if err := check(); err != nil {
		return err
	}
	c.add(key)
	return nil
}

// Checks returns how many signatures the cache has checked (those it remembered cost none).
func (c *SigCache) Checks() uint64 { return c.checks.Load() }

// voteKey is the cache's key of a vote: SHA-256 of a domain tag and the vote's 176-byte encoding, so that it can
// never equal a transaction ID (the hash of an encoding without the tag).
func voteKey(v *Vote) Hash {
	h := sha256.New()
	h.Write([]byte("posnode/sigcache/vote"))
	h.Write(v.Encode())
	return Hash(h.Sum(nil))
}

func (c *SigCache) has(id Hash) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	_, ok := c.ids[id]
	return ok
}

// add remembers id, forgetting the oldest ID when the cache is full.
func (c *SigCache) add(id Hash) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.ids[id]; ok {
		return
	}
	c.ids[id] = struct{}{}
	if len(c.order) < c.capacity {
		c.order = append(c.order, id)
		return
	}
	delete(c.ids, c.order[c.oldest])
	c.order[c.oldest] = id
	c.oldest = (c.oldest + 1) % len(c.order)
}

// VerifyAll checks the signatures of txs (PROTOCOL.md §3) with one ZIP-215 batch over those not verified before,
// and remembers them when they all verify. It returns ErrBadSignature naming the first bad one.
func (c *SigCache) VerifyAll(txs []Tx) error {
	if memo.Load() != nil {
		return c.verifyShared(func() error { return VerifyTxs(c.chainID, txs) })
	}
	ids := make([]Hash, len(txs))
	var todo []Tx
	for i := range txs {
		ids[i] = txs[i].ID()
		if !c.has(ids[i]) {
			todo = append(todo, txs[i])
		}
	}
	if err := VerifyTxs(c.chainID, todo); err != nil {
		return err
	}
	for _, id := range ids {
		c.add(id)
	}
	return nil
}
