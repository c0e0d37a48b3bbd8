package node

import (
	"bytes"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/posnode/posnode/chain"
)

// Mempool errors.
var (
	// ErrDuplicateTx: the transaction is already pending.
	ErrDuplicateTx = errors.New("transaction already pending")
	// ErrStaleTx: the sender's account nonce has moved past the transaction's nonce.
	ErrStaleTx = errors.New("transaction nonce already used")
	// ErrPoolFull: the pool, or the sender's share of it, is at its bound.
	ErrPoolFull = errors.New("mempool full")
)

// Mempool bounds (PROTOCOL.md §3: how spam is bounded).
const (
	maxPoolTxs      = 50_000
	maxSenderTxs    = 10_000
	maxNonceAheadBy = maxSenderTxs // a tx may not be further ahead of its account's nonce than this
)

// mempool holds valid, signed transactions waiting for a block: deduplicated by ID, indexed per sender by nonce,
// bounded. It is owned by the node's event loop and has no lock.
type mempool struct {
	byID     map[chain.Hash]chain.Tx
	bySender map[chain.Address]map[chain.Nonce]chain.Hash
	since    map[chain.Hash]time.Time // when each transaction was admitted, for people (the explorer)
	now      func() time.Time         // the clock of admission times; time.Now unless the node sets its own
}

func newMempool() *mempool {
	return &mempool{byID: map[chain.Hash]chain.Tx{}, bySender: map[chain.Address]map[chain.Nonce]chain.Hash{},
		since: map[chain.Hash]time.Time{}, now: time.Now}
}

// Len returns the number of pending transactions.
func (p *mempool) Len() int { return len(p.byID) }

// Has reports whether a transaction is pending.
func (p *mempool) Has(id chain.Hash) bool {
	_, ok := p.byID[id]
	return ok
}

// Add admits a transaction whose stateless checks and signature have passed. A second transaction with the same
// sender and nonce replaces nothing: the first one stays (ErrDuplicateTx).
func (p *mempool) Add(tx chain.Tx, st *chain.State) error {
	id := tx.ID()
	if p.Has(id) {
		return ErrDuplicateTx
	}
	next := st.Account(tx.From).Nonce
	switch {
	case tx.Nonce < next:
		return fmt.Errorf("%w: nonce %d, account is at %d", ErrStaleTx, tx.Nonce, next)
	case tx.Nonce-next >= maxNonceAheadBy:
		return fmt.Errorf("%w: nonce %d is too far ahead of %d", ErrPoolFull, tx.Nonce, next)
	}
	queue := p.bySender[tx.From]
	if _, taken := queue[tx.Nonce]; taken {
		return fmt.Errorf("%w: sender already has nonce %d pending", ErrDuplicateTx, tx.Nonce)
	}
	if len(p.byID) >= maxPoolTxs || len(queue) >= maxSenderTxs {
		return ErrPoolFull
	}
	if queue == nil {
		queue = map[chain.Nonce]chain.Hash{}
		p.bySender[tx.From] = queue
	}
	queue[tx.Nonce] = id
	p.byID[id] = tx
	p.since[id] = p.now()
	return nil
}

// Get returns a pending transaction.
func (p *mempool) Get(id chain.Hash) (chain.Tx, bool) {
	tx, ok := p.byID[id]
	return tx, ok
}

// Oldest returns the transaction that has waited longest and when it was admitted; ok is false for an empty pool.
// It looks at every entry (at most maxPoolTxs).
func (p *mempool) Oldest() (tx chain.Tx, since time.Time, ok bool) {
	var oldest chain.Hash
	for id, t := range p.since {
		if !ok || t.Before(since) || t.Equal(since) && bytes.Compare(id[:], oldest[:]) < 0 {
			oldest, since, ok = id, t, true
		}
	}
	return p.byID[oldest], since, ok
}

// Remove drops the transactions with these IDs, if pending.
func (p *mempool) Remove(txs []chain.Tx) {
	for i := range txs {
		p.remove(txs[i].ID())
	}
}

func (p *mempool) remove(id chain.Hash) {
	tx, ok := p.byID[id]
	if !ok {
		return
	}
	delete(p.byID, id)
	delete(p.since, id)
	queue := p.bySender[tx.From]
	delete(queue, tx.Nonce)
	if len(queue) == 0 {
		delete(p.bySender, tx.From)
	}
}

// Prune drops every transaction whose nonce the state has passed (included in a block, or replaced).
func (p *mempool) Prune(st *chain.State) {
	for from, queue := range p.bySender {
		next := st.Account(from).Nonce
		for nonce, id := range queue {
			if nonce < next {
				p.remove(id)
			}
		}
	}
}

// NextNonce returns the nonce a new transaction of addr should carry: the account's nonce plus the run of
// consecutive nonces already pending.
func (p *mempool) NextNonce(addr chain.Address, st *chain.State) chain.Nonce {
	n := st.Account(addr).Nonce
	for {
		if _, ok := p.bySender[addr][n]; !ok {
			return n
		}
		n++
	}
}

// Select returns up to max transactions that can go into the next block on top of st: for each sender the run of
// consecutive nonces from its account nonce, taken round-robin over senders in address order so that no sender
// crowds out the others.
func (p *mempool) Select(st *chain.State, max int) []chain.Tx {
	senders := make([]chain.Address, 0, len(p.bySender))
	for a := range p.bySender {
		senders = append(senders, a)
	}
	sort.Slice(senders, func(i, j int) bool { return bytes.Compare(senders[i][:], senders[j][:]) < 0 })
	next := make([]chain.Nonce, len(senders))
	for i, a := range senders {
		next[i] = st.Account(a).Nonce
	}
	var out []chain.Tx
	for progress := true; progress && len(out) < max; {
		progress = false
		for i, a := range senders {
			id, ok := p.bySender[a][next[i]]
			if !ok || len(out) >= max {
				continue
			}
			out = append(out, p.byID[id])
			next[i]++
			progress = true
		}
	}
	return out
}

// All returns every pending transaction, in no particular order.
func (p *mempool) All() []chain.Tx {
	out := make([]chain.Tx, 0, len(p.byID))
	for _, tx := range p.byID {
		out = append(out, tx)
	}
	return out
}

// Run returns up to max pending transactions of one sender in nonce order, from its account nonce on.
func (p *mempool) Run(addr chain.Address, st *chain.State, max int) []chain.Tx {
	var out []chain.Tx
	for n := st.Account(addr).Nonce; len(out) < max; n++ {
		id, ok := p.bySender[addr][n]
		if !ok {
			break
		}
		out = append(out, p.byID[id])
	}
	return out
}
