package mempool

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
	// ErrNonceGap: the nonce is too far beyond the sender's run of pending nonces, or too many of the sender's
	// transactions already wait behind a gap.
	ErrNonceGap = errors.New("nonce gap")
	// ErrBreaksLater: admitting the transaction would leave a later pending transaction of its sender unable to
	// apply (e.g. a transfer that spends the fees of records already waiting behind it).
	ErrBreaksLater = errors.New("would make later pending transactions unapplicable")
	// ErrPoolFull: the pool, or the sender's share of it, is at its bound, and nothing pays less.
	ErrPoolFull = errors.New("mempool full")
)

// Mempool bounds (PROTOCOL.md §3: how spam is bounded).
const (
	MaxTxs       = 50_000 // transactions in the pool
	MaxSenderTxs = 10_000 // transactions of one sender
	// MaxNonceGap is how far beyond the sender's pending run a nonce may be to wait for the gap to be filled.
	MaxNonceGap = chain.MaxTxBatch
	// MaxSenderWaiting is how many transactions of one sender may wait behind a nonce gap, and maxWaitingTxs how
	// many of all senders: a transaction that cannot apply next pays nothing while it waits, so it gets only a
	// small place of its own, never one that a transaction that can apply needs. Gossip batches of one sender
	// that overtake each other in validation do not need it: they are admitted in the order they arrived
	// (txorder.go).
	MaxSenderWaiting = 16
	maxWaitingTxs    = 1024
	// gapWait is how long a transaction behind a nonce gap waits for the gap to be filled before it is dropped.
	gapWait = 5 * time.Second
	// maxTxAge is how long a transaction may stay pending before it is dropped.
	maxTxAge = time.Hour
)

// poolTx is a pending transaction.
type poolTx struct {
	tx      chain.Tx
	id      chain.Hash
	added   time.Time
	local   bool // submitted by this node's users (prompt, API, journal), not gossiped by a peer
	waiting bool // behind a nonce gap of its sender: it cannot apply next
	// before is the sender's account after its pending transactions below this one apply (senderTxs.exact).
	before chain.Account
	// older and newer link the pool's transactions in the order they were admitted (ages.go).
	older, newer *poolTx
}

// Pool holds signed transactions that can apply on top of the head, deduplicated by ID and indexed per sender
// by nonce (PROTOCOL.md §3). For each sender, the pending nonces from its account nonce on form a run that
// applies in order, funded by the sender's own balance (its pending transfers to itself do not count), then at
// most MaxSenderWaiting transactions, within MaxNonceGap nonces of the run, waiting for a gap to be filled. It is
// owned by the node's event loop and has no lock.
type Pool struct {
	minFee     chain.Amount         // genesis tx_fee
	maxTxs     int                  // MaxTxs; smaller in tests
	maxWaiting int                  // maxWaitingTxs; smaller in tests
	waiting    map[*poolTx]struct{} // the transactions that wait behind a gap
	byID       map[chain.Hash]*poolTx
	byPrefix   idPrefixes // byID's keys by their first four bytes, for prefix searches (ids.go)
	senders    map[chain.Address]*senderTxs
	dropped    *dropLog
	ages       ages // the transactions in the order they were admitted, for expiry
	now        func() time.Time
}

// New returns an empty pool that refuses fees below minFee (the genesis tx_fee) and reads the time (for the
// gap and age expiries) from now.
func New(minFee chain.Amount, now func() time.Time) *Pool {
	return &Pool{minFee: minFee, maxTxs: MaxTxs, maxWaiting: maxWaitingTxs,
		waiting: map[*poolTx]struct{}{}, byID: map[chain.Hash]*poolTx{}, byPrefix: idPrefixes{},
		senders: map[chain.Address]*senderTxs{}, dropped: newDropLog(maxDropped), now: now}
}

// Len returns the number of pending transactions.
func (p *Pool) Len() int { return len(p.byID) }

// Has reports whether a transaction is pending.
func (p *Pool) Has(id chain.Hash) bool {
	_, ok := p.byID[id]
	return ok
}

// Add admits a transaction a peer gossiped, whose stateless checks and signature have passed, if it can apply
// after its sender's pending ones on st, the head state (PROTOCOL.md §3): its sender exists, the fee is at least
// the minimum, the nonce is not used, and the sender's balance covers every pending transaction of the sender with
// it. One that cannot apply next waits behind the gap only within MaxNonceGap of the run, with at most
// MaxSenderWaiting of its sender and maxWaitingTxs of all (ErrNonceGap, ErrPoolFull). A second transaction with
// the same sender and nonce replaces nothing: the first one stays (ErrDuplicateTx). A full pool takes it only by
// evicting (evictFor).
func (p *Pool) Add(tx chain.Tx, st *chain.State) error {
	_, err := p.admit(tx, tx.ID(), st, false)
	return err
}

// AddLocal is Add for a transaction of this node's users (prompt, API, journal): at equal fees it may evict a
// gossiped transaction from a full pool (PROTOCOL.md §3).
func (p *Pool) AddLocal(tx chain.Tx, st *chain.State) error {
	_, err := p.admit(tx, tx.ID(), st, true)
	return err
}

// AddLocalID is AddLocal for a transaction whose ID, tx.ID(), the caller has computed already (off the event loop:
// hashing thousands of records is work the loop need not do twice).
func (p *Pool) AddLocalID(tx chain.Tx, id chain.Hash, st *chain.State) error {
	_, err := p.admit(tx, id, st, true)
	return err
}

// AddGossiped is Add for a transaction a peer gossiped; waiting reports that it was admitted behind a nonce gap:
// such a transaction is never forwarded (PROTOCOL.md §10).
func (p *Pool) AddGossiped(tx chain.Tx, st *chain.State) (waiting bool, err error) {
	return p.admit(tx, tx.ID(), st, false)
}

// admit is Add; waiting reports that the admitted transaction cannot apply next (it waits behind a gap).
func (p *Pool) admit(tx chain.Tx, id chain.Hash, st *chain.State, local bool) (waiting bool, err error) {
	if p.Has(id) {
		return false, ErrDuplicateTx
	}
	if tx.Fee < p.minFee {
		return false, fmt.Errorf("%w: fee %d, minimum %d", chain.ErrFeeTooLow, tx.Fee, p.minFee)
	}
	s := p.sender(tx.From, st)
	pr, err := s.admits(&tx)
	if err == nil {
		waiting = tx.Nonce >= pr.run
		err = p.makeRoom(tx, s, waiting, local)
	}
	if err != nil {
		p.forgetIfEmpty(tx.From, s)
		return false, err
	}
	pt := &poolTx{tx: tx, id: id, added: p.now(), local: local}
	first := s.run
	s.insert(pt, pr)
	p.byID[id] = pt
	p.byPrefix.add(id)
	p.ages.push(pt)
	for n := first; n < s.run; n++ { // the run grew through the transactions that waited for tx
		p.setWaiting(s.txs[n], false)
	}
	p.setWaiting(pt, waiting)
	return waiting, nil
}

// makeRoom checks the bounds for tx, which joins s's run or, if waiting, waits behind its gap, and evicts what
// must go for it to enter; an error says why it cannot.
func (p *Pool) makeRoom(tx chain.Tx, s *senderTxs, waiting, local bool) error {
	if waiting {
		if w := s.waiting(); w >= MaxSenderWaiting {
			return fmt.Errorf("%w: nonce %d, the sender's next is %d and %d of its transactions already wait",
				ErrNonceGap, tx.Nonce, s.run, w)
		}
		if len(p.waiting) >= p.maxWaiting || len(p.byID) >= p.maxTxs {
			if !p.evictWaiting(tx) {
				return fmt.Errorf("%w: %d transactions wait behind nonce gaps, none pays less than %d", ErrPoolFull,
					len(p.waiting), tx.Fee)
			}
		}
		return nil
	}
	if len(p.byID) < p.maxTxs || p.evictWaiting(chain.Tx{From: tx.From, Fee: ^chain.Amount(0)}) {
		return nil
	}
	return p.evictFor(tx, local)
}

// setWaiting marks pt as waiting behind a gap, or not, and keeps the count.
func (p *Pool) setWaiting(pt *poolTx, waiting bool) {
	if pt == nil || pt.waiting == waiting {
		return
	}
	pt.waiting = waiting
	if waiting {
		p.waiting[pt] = struct{}{}
	} else {
		delete(p.waiting, pt)
	}
}

// Readmit puts back a transaction of a block that left the canonical chain (PROTOCOL.md §3, §8); st is the new
// head state. It is not held to the pool's bounds: it was valid before the reorg and is older than every pending
// transaction of its sender, which could not apply without it, so a reorg can take the pool over its bounds by
// the transactions of the blocks it reverted, and new admissions wait until blocks drain it. A transaction whose
// nonce st has used is not put back (ErrStaleTx). Nothing else is checked here: call Revalidate with st after the
// last Readmit, which checks each sender once, however many of its transactions came back, and drops, with the
// reason, what can no longer apply.
func (p *Pool) Readmit(tx chain.Tx, st *chain.State) error {
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
	p.byPrefix.add(id)
	p.ages.push(pt)
	return nil
}

// sender returns from's pending transactions, brought up to date with its account on st.
func (p *Pool) sender(from chain.Address, st *chain.State) *senderTxs {
	s, ok := p.senders[from]
	if !ok {
		s = newSenderTxs(st.Account(from))
		p.senders[from] = s
		return s
	}
	if acct := st.Account(from); s.stale(acct) {
		p.refresh(from, s, acct)
		p.senders[from] = s // resync forgets a sender it empties
	}
	return s
}

func (p *Pool) forgetIfEmpty(from chain.Address, s *senderTxs) {
	if len(s.txs) == 0 {
		delete(p.senders, from)
	}
}

// Remove takes transactions out of the pool because a block holds them.
func (p *Pool) Remove(txs []chain.Tx) {
	for i := range txs {
		p.remove(txs[i].ID())
	}
}

// RemoveIDs is Remove for the IDs of the transactions (chain.Tx.ID), computed already.
func (p *Pool) RemoveIDs(ids []chain.Hash) {
	for _, id := range ids {
		p.remove(id)
	}
}

func (p *Pool) remove(id chain.Hash) *poolTx {
	pt, ok := p.byID[id]
	if !ok {
		return nil
	}
	delete(p.byID, id)
	p.byPrefix.remove(id)
	p.ages.unlink(pt)
	p.setWaiting(pt, false)
	if s := p.senders[pt.tx.From]; s != nil {
		s.delete(pt.tx.Nonce)
		p.forgetIfEmpty(pt.tx.From, s)
	}
	return pt
}

// Drop takes a transaction out of the pool because it cannot apply, with everything its sender has pending after
// it (whose nonces it held up), and records why for Tx queries.
func (p *Pool) Drop(tx chain.Tx, reason error) {
	s := p.senders[tx.From]
	if s == nil || s.txs[tx.Nonce] == nil || s.txs[tx.Nonce].id != tx.ID() {
		return
	}
	p.dropFrom(tx.From, s, tx.Nonce, reason)
}

// dropFrom drops from's transactions with nonces ≥ first, the first for reason, the others as its followers.
func (p *Pool) dropFrom(from chain.Address, s *senderTxs, first chain.Nonce, reason error) {
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
func (p *Pool) NextNonce(addr chain.Address, st *chain.State) chain.Nonce {
	return p.NextFree(addr, st, nil)
}

// NextFree is NextNonce that also skips every nonce held reports taken (nil: none), and every nonce the pool holds
// a waiting transaction of addr at, from the end of the run up: the lowest nonce, from the account's, that no
// transaction known to the caller or to the pool may still take. A node signs its own transactions with it, held
// being its pending-transaction log, so that it never gives an acknowledged transaction's nonce to another
// (PROTOCOL.md §11): a transaction can be in the log but not in the pool (expired, evicted, not admitted again
// after a restart or a reorg).
func (p *Pool) NextFree(addr chain.Address, st *chain.State, held func(chain.Nonce) bool) chain.Nonce {
	pooled := func(chain.Nonce) bool { return false }
	next := st.Account(addr).Nonce
	if _, ok := p.senders[addr]; ok {
		s := p.sender(addr, st)
		defer p.forgetIfEmpty(addr, s)
		pooled = func(n chain.Nonce) bool { return s.txs[n] != nil }
		next = s.nextRun()
	}
	for pooled(next) || held != nil && held(next) {
		next++
	}
	return next
}

// Select returns up to max transactions that can go into the next block on top of st: for each sender its run
// of consecutive nonces from its account nonce, taken round-robin over senders in address order so that no
// sender crowds out the others.
func (p *Pool) Select(st *chain.State, max int) []chain.Tx {
	txs, _ := p.SelectIDs(st, max)
	return txs
}

// SelectIDs is Select with the ID (chain.Tx.ID) of each transaction, ids[i] of txs[i], as the pool holds them.
func (p *Pool) SelectIDs(st *chain.State, max int) (txs []chain.Tx, ids []chain.Hash) {
	senders := make([]chain.Address, 0, len(p.senders))
	for a := range p.senders {
		senders = append(senders, a)
	}
	sort.Slice(senders, func(i, j int) bool { return bytes.Compare(senders[i][:], senders[j][:]) < 0 })
	next := make([]chain.Nonce, len(senders))
	for i, a := range senders {
		next[i] = st.Account(a).Nonce
	}
	for progress := true; progress && len(txs) < max; {
		progress = false
		for i, a := range senders {
			pt, ok := p.senders[a].txs[next[i]]
			if !ok || len(txs) >= max {
				continue
			}
			txs, ids = append(txs, pt.tx), append(ids, pt.id)
			next[i]++
			progress = true
		}
	}
	return txs, ids
}

// All returns every pending transaction, in no particular order.
func (p *Pool) All() []chain.Tx {
	out := make([]chain.Tx, 0, len(p.byID))
	for _, pt := range p.byID {
		out = append(out, pt.tx)
	}
	return out
}

// Run returns up to max pending transactions of one sender in nonce order, from its account nonce on.
func (p *Pool) Run(addr chain.Address, st *chain.State, max int) []chain.Tx {
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
func (p *Pool) DropReason(id chain.Hash) (string, bool) { return p.dropped.reason(id) }

// Get returns a pending transaction.
func (p *Pool) Get(id chain.Hash) (chain.Tx, bool) {
	pt, ok := p.byID[id]
	if !ok {
		return chain.Tx{}, false
	}
	return pt.tx, true
}

// Oldest returns the transaction that has waited longest and when it was admitted; ok is false for an empty pool.
// Among those admitted at the same time it is the one with the lowest ID. It reads the head of the admission
// order (ages.go), not the whole pool, so that a reader asking often costs the event loop nothing that grows with
// the pool.
func (p *Pool) Oldest() (tx chain.Tx, since time.Time, ok bool) {
	oldest := p.ages.oldest
	if oldest == nil {
		return chain.Tx{}, time.Time{}, false
	}
	for pt := oldest.newer; pt != nil && pt.added.Equal(oldest.added); pt = pt.newer {
		if bytes.Compare(pt.id[:], oldest.id[:]) < 0 {
			oldest = pt
		}
	}
	return oldest.tx, oldest.added, true
}

// Stale returns up to max transactions of the senders' runs on st (those that can apply next, in nonce order),
// sender by sender, the sender whose next transaction was admitted first going first; a sender whose next
// transaction was admitted after before is left out, unless before is the zero time.
func (p *Pool) Stale(st *chain.State, before time.Time, max int) []chain.Tx {
	type head struct {
		from  chain.Address
		first *poolTx
	}
	var heads []head
	for from, s := range p.senders {
		first := s.txs[st.Account(from).Nonce]
		if first != nil && (before.IsZero() || !first.added.After(before)) {
			heads = append(heads, head{from, first})
		}
	}
	sort.Slice(heads, func(i, j int) bool {
		a, b := heads[i].first, heads[j].first
		if !a.added.Equal(b.added) {
			return a.added.Before(b.added)
		}
		return bytes.Compare(heads[i].from[:], heads[j].from[:]) < 0
	})
	var out []chain.Tx
	for _, h := range heads {
		if len(out) >= max {
			break
		}
		out = append(out, p.Run(h.from, st, max-len(out))...)
	}
	return out
}

// Senders lists the senders with pending transactions, sorted by address bytes.
func (p *Pool) Senders() []chain.Address {
	out := make([]chain.Address, 0, len(p.senders))
	for a := range p.senders {
		out = append(out, a)
	}
	sort.Slice(out, func(i, j int) bool { return bytes.Compare(out[i][:], out[j][:]) < 0 })
	return out
}

// From returns the pending transactions of sender a, in nonce order: its run first, then those waiting behind a
// gap.
func (p *Pool) From(a chain.Address) []chain.Tx {
	s := p.senders[a]
	if s == nil {
		return nil
	}
	nonces := make([]chain.Nonce, 0, len(s.txs))
	for n := range s.txs {
		nonces = append(nonces, n)
	}
	sort.Slice(nonces, func(i, j int) bool { return nonces[i] < nonces[j] })
	out := make([]chain.Tx, len(nonces))
	for i, n := range nonces {
		out[i] = s.txs[n].tx
	}
	return out
}
