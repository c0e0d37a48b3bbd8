package node

import (
	"bytes"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/posnode/posnode/chain"
)

// Mempool errors. Admission also refuses with the ledger's own errors (chain.ErrUnknownAccount,
// chain.ErrFeeTooLow, chain.ErrInsufficientBalance, chain.ErrInsufficientStake, chain.ErrOverflow), checked
// against the sender's pending state.
var (
	// ErrDuplicateTx: the transaction, or another of its sender with its nonce, is already pending.
	ErrDuplicateTx = errors.New("transaction already pending")
	// ErrStaleTx: the sender's account nonce has moved past the transaction's nonce.
	ErrStaleTx = errors.New("transaction nonce already used")
	// ErrNonceGap: the nonce is too far beyond the sender's run of pending nonces.
	ErrNonceGap = errors.New("nonce gap")
	// ErrBreaksLater: admitting the transaction would leave a later pending transaction of its sender unable to
	// apply (e.g. a transfer that spends the fees of records already waiting behind it).
	ErrBreaksLater = errors.New("would make later pending transactions unapplicable")
	// ErrPoolFull: the pool, or the sender's share of it, is at its bound, and nothing pays less.
	ErrPoolFull = errors.New("mempool full")
)

// Mempool bounds (PROTOCOL.md §3: how spam is bounded).
const (
	maxPoolTxs   = 50_000 // transactions in the pool
	maxSenderTxs = 10_000 // transactions of one sender
	// maxNonceGap is how far beyond the sender's pending run a nonce may be: transactions reach a node out of
	// order (gossip validates its batches of up to chain.MaxTxBatch concurrently; clients submit concurrently),
	// so a gap waits to be filled. It spans four whole batches: with a window smaller than one batch, a batch
	// validated before the one ahead of it lost its tail, and every later batch of the sender fell beyond the
	// window too, so the node never again held the sender's transactions (BENCHMARKS.md, profiling).
	maxNonceGap = 4 * chain.MaxTxBatch
	// gapWait is how long a transaction behind a nonce gap waits for the gap to be filled before it is dropped.
	gapWait = 30 * time.Second
	// maxTxAge is how long a transaction may stay pending before it is dropped.
	maxTxAge = time.Hour
)

// poolTx is a pending transaction.
type poolTx struct {
	tx    chain.Tx
	id    chain.Hash
	added time.Time
}

// mempool holds signed transactions that can apply on top of the head, deduplicated by ID and indexed per sender
// by nonce (PROTOCOL.md §3). For each sender, the pending nonces from its account nonce on form a run that
// applies in order, funded by the sender's own balance (its pending transfers to itself do not count), then up to
// maxNonceGap nonces of transactions waiting for a gap to be filled. It is owned by the node's event loop and has
// no lock.
type mempool struct {
	minFee  chain.Amount // genesis tx_fee
	maxTxs  int          // maxPoolTxs; smaller in tests
	byID    map[chain.Hash]*poolTx
	senders map[chain.Address]*senderTxs
	dropped *dropLog
	now     func() time.Time
}

func newMempool(minFee chain.Amount, now func() time.Time) *mempool {
	return &mempool{minFee: minFee, maxTxs: maxPoolTxs, byID: map[chain.Hash]*poolTx{}, senders: map[chain.Address]*senderTxs{},
		dropped: newDropLog(maxDropped), now: now}
}

// Len returns the number of pending transactions.
func (p *mempool) Len() int { return len(p.byID) }

// Has reports whether a transaction is pending.
func (p *mempool) Has(id chain.Hash) bool {
	_, ok := p.byID[id]
	return ok
}

// Add admits a transaction whose stateless checks and signature have passed, if it can apply after its sender's
// pending ones on st, the head state (PROTOCOL.md §3): its sender exists, the fee is at least the minimum, the
// nonce is not used and is at most maxNonceGap beyond the sender's run, and the sender's balance covers every
// pending transaction of the sender with it. A second transaction with the same sender and nonce replaces
// nothing: the first one stays (ErrDuplicateTx).
func (p *mempool) Add(tx chain.Tx, st *chain.State) error {
	id := tx.ID()
	if p.Has(id) {
		return ErrDuplicateTx
	}
	if tx.Fee < p.minFee {
		return fmt.Errorf("%w: fee %d, minimum %d", chain.ErrFeeTooLow, tx.Fee, p.minFee)
	}
	s := p.sender(tx.From, st)
	pr, err := s.admits(&tx)
	if err != nil {
		p.forgetIfEmpty(tx.From, s)
		return err
	}
	if len(p.byID) >= p.maxTxs && !p.evictFor(tx) {
		p.forgetIfEmpty(tx.From, s)
		return fmt.Errorf("%w: %d transactions, none pays less than %d", ErrPoolFull, len(p.byID), tx.Fee)
	}
	pt := &poolTx{tx: tx, id: id, added: p.now()}
	s.insert(pt, pr)
	p.byID[id] = pt
	return nil
}

// Readmit puts back a transaction of a block that left the canonical chain (PROTOCOL.md §3, §8); st is the new
// head state. It is not held to the pool's bounds: it was valid before the reorg and is older than every pending
// transaction of its sender, which could not apply without it, so a reorg can take the pool over its bounds by
// the transactions of the blocks it reverted, and new admissions wait until blocks drain it. A transaction whose
// nonce st has used is not put back (ErrStaleTx). Nothing else is checked here: call Revalidate with st after the
// last Readmit, which checks each sender once, however many of its transactions came back, and drops, with the
// reason, what can no longer apply.
func (p *mempool) Readmit(tx chain.Tx, st *chain.State) error {
	id := tx.ID()
	acct := st.Account(tx.From)
	switch {
	case p.Has(id):
		return ErrDuplicateTx
	case tx.Nonce < acct.Nonce:
		return fmt.Errorf("%w: nonce %d, account is at %d", ErrStaleTx, tx.Nonce, acct.Nonce)
	}
	s, ok := p.senders[tx.From]
	if !ok {
		s = newSenderTxs(acct)
		p.senders[tx.From] = s
	}
	if s.txs[tx.Nonce] != nil {
		return fmt.Errorf("%w: sender already has nonce %d pending", ErrDuplicateTx, tx.Nonce)
	}
	pt := &poolTx{tx: tx, id: id, added: p.now()}
	if len(s.txs) == 0 || tx.Nonce > s.top {
		s.top = tx.Nonce
	}
	s.txs[tx.Nonce] = pt
	s.dirty = true
	p.byID[id] = pt
	return nil
}

// sender returns from's pending transactions, brought up to date with its account on st.
func (p *mempool) sender(from chain.Address, st *chain.State) *senderTxs {
	s, ok := p.senders[from]
	if !ok {
		s = newSenderTxs(st.Account(from))
		p.senders[from] = s
		return s
	}
	if acct := st.Account(from); s.dirty || acct != s.base {
		p.resync(from, s, acct)
		p.senders[from] = s // resync forgets a sender it empties
	}
	return s
}

func (p *mempool) forgetIfEmpty(from chain.Address, s *senderTxs) {
	if len(s.txs) == 0 {
		delete(p.senders, from)
	}
}

// Remove takes transactions out of the pool because a block holds them.
func (p *mempool) Remove(txs []chain.Tx) {
	for i := range txs {
		p.remove(txs[i].ID())
	}
}

func (p *mempool) remove(id chain.Hash) *poolTx {
	pt, ok := p.byID[id]
	if !ok {
		return nil
	}
	delete(p.byID, id)
	if s := p.senders[pt.tx.From]; s != nil {
		s.delete(pt.tx.Nonce)
		p.forgetIfEmpty(pt.tx.From, s)
	}
	return pt
}

// Drop takes a transaction out of the pool because it cannot apply, with everything its sender has pending after
// it (whose nonces it held up), and records why for Tx queries.
func (p *mempool) Drop(tx chain.Tx, reason error) {
	s := p.senders[tx.From]
	if s == nil || s.txs[tx.Nonce] == nil || s.txs[tx.Nonce].id != tx.ID() {
		return
	}
	p.dropFrom(tx.From, s, tx.Nonce, reason)
}

// dropFrom drops from's transactions with nonces ≥ first, the first for reason, the others as its followers.
func (p *mempool) dropFrom(from chain.Address, s *senderTxs, first chain.Nonce, reason error) {
	for _, nonce := range s.noncesFrom(first) {
		pt := p.remove(s.txs[nonce].id)
		why := reason
		if nonce != first {
			why = fmt.Errorf("nonce %d before it was dropped: %w", first, reason)
		}
		p.dropped.add(pt.id, why.Error(), p.now())
	}
}

// NextNonce returns the nonce a new transaction of addr should carry: the account's nonce plus the run of
// consecutive nonces already pending.
func (p *mempool) NextNonce(addr chain.Address, st *chain.State) chain.Nonce {
	if _, ok := p.senders[addr]; !ok {
		return st.Account(addr).Nonce // no entry for an address that is only looked at
	}
	s := p.sender(addr, st)
	next := s.nextRun()
	p.forgetIfEmpty(addr, s)
	return next
}

// Select returns up to max transactions that can go into the next block on top of st: for each sender its run
// of consecutive nonces from its account nonce, taken round-robin over senders in address order so that no
// sender crowds out the others.
func (p *mempool) Select(st *chain.State, max int) []chain.Tx {
	senders := make([]chain.Address, 0, len(p.senders))
	for a := range p.senders {
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
			pt, ok := p.senders[a].txs[next[i]]
			if !ok || len(out) >= max {
				continue
			}
			out = append(out, pt.tx)
			next[i]++
			progress = true
		}
	}
	return out
}

// All returns every pending transaction, in no particular order.
func (p *mempool) All() []chain.Tx {
	out := make([]chain.Tx, 0, len(p.byID))
	for _, pt := range p.byID {
		out = append(out, pt.tx)
	}
	return out
}

// Run returns up to max pending transactions of one sender in nonce order, from its account nonce on.
func (p *mempool) Run(addr chain.Address, st *chain.State, max int) []chain.Tx {
	s, ok := p.senders[addr]
	if !ok {
		return nil
	}
	var out []chain.Tx
	for n := st.Account(addr).Nonce; len(out) < max; n++ {
		pt, ok := s.txs[n]
		if !ok {
			break
		}
		out = append(out, pt.tx)
	}
	return out
}

// DropReason tells why a transaction recently left the pool without a block, if it did.
func (p *mempool) DropReason(id chain.Hash) (string, bool) { return p.dropped.reason(id) }

// Get returns a pending transaction.
func (p *mempool) Get(id chain.Hash) (chain.Tx, bool) {
	pt, ok := p.byID[id]
	if !ok {
		return chain.Tx{}, false
	}
	return pt.tx, true
}

// Oldest returns the transaction that has waited longest and when it was admitted; ok is false for an empty pool.
// It looks at every entry (at most maxPoolTxs), for people (the explorer).
func (p *mempool) Oldest() (tx chain.Tx, since time.Time, ok bool) {
	var oldest *poolTx
	for _, pt := range p.byID {
		if oldest == nil || pt.added.Before(oldest.added) ||
			pt.added.Equal(oldest.added) && bytes.Compare(pt.id[:], oldest.id[:]) < 0 {
			oldest = pt
		}
	}
	if oldest == nil {
		return chain.Tx{}, time.Time{}, false
	}
	return oldest.tx, oldest.added, true
}
