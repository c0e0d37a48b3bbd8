package mempool

import (
	"bytes"
	"fmt"
	"sort"
	"time"

	"github.com/posnode/posnode/chain"
)

// Revalidate brings the pool up to date with a new head state st (PROTOCOL.md §3, §8): for every sender whose
// account changed, transactions whose nonce is used are dropped, and so is any that can no longer apply (the
// balance no longer covers it, the account is gone), with its followers; transactions older than maxTxAge, or
// waiting longer than gapWait behind a nonce gap, are dropped too. Every drop is recorded with its reason. Call
// Remove for the transactions of newly applied blocks first, or they are recorded as replaced.
//
// The work is O(senders) comparisons plus, for a sender whose account moved as the pool projected (a block applied
// the bottom of its run), one step; only a sender whose account moved otherwise (a transfer to it, a reorg, a
// removal above the bottom) has its pending transactions walked. Expiry looks only at the oldest transactions and
// at those waiting behind a gap.
func (p *Pool) Revalidate(st *chain.State) {
	for from, s := range p.senders {
		p.refresh(from, s, st.Account(from))
	}
	p.expire()
}

// refresh brings from's run up to date with its account acct on the head: in one step if it can (catchUp), else
// by a walk (resync).
func (p *Pool) refresh(from chain.Address, s *senderTxs, acct chain.Account) {
	if s.stale(acct) && !s.catchUp(acct) {
		p.resync(from, s, acct)
	}
}

// resync recomputes from's run against its account acct, dropping what can no longer apply.
func (p *Pool) resync(from chain.Address, s *senderTxs, acct chain.Account) {
	s.base, s.run, s.after, s.tail, s.cut, s.dirty = acct, acct.Nonce, acct, acct, 0, false
	for _, nonce := range s.noncesBelow(acct.Nonce) {
		pt := p.remove(s.txs[nonce].id)
		p.dropped.add(pt.id, fmt.Sprintf("%v: nonce %d was used by another transaction", ErrStaleTx, nonce), p.now())
	}
	s.cut, s.dirty, s.exact = 0, false, true // the stale removals above were below the new base
	if len(s.txs) == 0 {
		p.forgetIfEmpty(from, s)
		return
	}
	if acct.Balance == 0 && acct.Stake == 0 {
		p.dropFrom(from, s, acct.Nonce, fmt.Errorf("%w: %s", chain.ErrUnknownAccount, from))
		s.cut, s.dirty = 0, false // every pending transaction left: the run is empty and up to date
		return
	}
	inRun := true
	for n := acct.Nonce; n <= s.top; n++ {
		pt := s.txs[n]
		if pt == nil {
			inRun = false
			continue
		}
		next, err := spend(acct, &pt.tx)
		if err != nil {
			p.dropFrom(from, s, n, err)
			break
		}
		pt.before, acct = acct, next
		s.tail = acct
		if inRun {
			s.run, s.after = n+1, acct
		}
		p.setWaiting(pt, !inRun)
	}
	s.cut, s.dirty, s.exact = 0, false, true // the drops above only removed transactions after the run
}

// noncesBelow returns the pending nonces below n.
func (s *senderTxs) noncesBelow(n chain.Nonce) []chain.Nonce {
	var out []chain.Nonce
	for nonce := range s.txs {
		if nonce < n {
			out = append(out, nonce)
		}
	}
	return out
}

// expire drops transactions that waited too long: behind a nonce gap for gapWait, or pending for maxTxAge; each
// with its sender's later transactions, from the sender's lowest such nonce on. It looks at the transactions that
// wait behind a gap (at most maxWaitingTxs but after a reorg) and at the oldest ones, not at the whole pool. The
// runs must be up to date.
func (p *Pool) expire() {
	now := p.now()
	first := map[chain.Address]expiry{}
	for pt := range p.waiting { // the choice below does not depend on the order
		if age := now.Sub(pt.added); age > gapWait {
			s := p.senders[pt.tx.From]
			first[pt.tx.From] = first[pt.tx.From].lower(pt.tx.Nonce, true, fmt.Errorf(
				"%w: nonce %d waited %s for nonce %d", ErrNonceGap, pt.tx.Nonce, age.Round(time.Second), s.run))
		}
	}
	for pt := p.ages.oldest; pt != nil && now.Sub(pt.added) > maxTxAge; pt = pt.newer {
		first[pt.tx.From] = first[pt.tx.From].lower(pt.tx.Nonce, false, fmt.Errorf("expired: pending for %s",
			now.Sub(pt.added).Round(time.Second)))
	}
	froms := make([]chain.Address, 0, len(first))
	for from := range first {
		froms = append(froms, from)
	}
	sort.Slice(froms, func(i, j int) bool { return bytes.Compare(froms[i][:], froms[j][:]) < 0 })
	for _, from := range froms {
		e := first[from]
		p.dropFrom(from, p.senders[from], e.nonce, e.why)
	}
}

// expiry is the lowest nonce of a sender that expire drops from, and why.
type expiry struct {
	set   bool
	nonce chain.Nonce
	gap   bool // the reason is the wait behind a gap, which goes first at equal nonces
	why   error
}

// lower returns e or the expiry of nonce, whichever comes first.
func (e expiry) lower(nonce chain.Nonce, gap bool, why error) expiry {
	if e.set && (e.nonce < nonce || e.nonce == nonce && (e.gap || !gap)) {
		return e
	}
	return expiry{set: true, nonce: nonce, gap: gap, why: why}
}

// evictWaiting makes room for tx by dropping a transaction of another sender that waits behind a gap and pays less
// than tx (the lowest fee, the most recent among equals), with its sender's later ones; it reports whether it
// found one. Waiting transactions go first: they pay nothing until their gap is filled.
func (p *Pool) evictWaiting(tx chain.Tx) bool {
	var victim *poolTx
	for pt := range p.waiting { // at most maxWaitingTxs; the choice does not depend on the order
		if pt.tx.From == tx.From || pt.tx.Fee >= tx.Fee {
			continue
		}
		if victim == nil || pt.tx.Fee < victim.tx.Fee || (pt.tx.Fee == victim.tx.Fee && (pt.added.After(victim.added) ||
			pt.added.Equal(victim.added) && bytes.Compare(pt.id[:], victim.id[:]) < 0)) {
			victim = pt
		}
	}
	if victim == nil {
		return false
	}
	from := victim.tx.From
	p.dropFrom(from, p.senders[from], victim.tx.Nonce, fmt.Errorf("%w: a transaction waiting behind a nonce gap, "+
		"evicted for one paying a fee of %d", ErrPoolFull, tx.Fee))
	return true
}

// evictFor makes room for tx, which can apply next, in a pool full of transactions that can too: it drops the last
// pending transaction of the sender whose last one pays the lowest fee below tx's (the most recent among equals);
// a local tx (local: of this node's users) also evicts a gossiped one that pays as much. Ranking by the last
// transaction of each run is ranking by what each run would lose. When nothing pays less, the error says what
// fee would get in.
func (p *Pool) evictFor(tx chain.Tx, local bool) error {
	var victim *poolTx
	need := ^chain.Amount(0) // the least fee that would evict something
	for from, s := range p.senders {
		if from == tx.From || len(s.txs) == 0 {
			continue
		}
		last := s.txs[s.top]
		beats := last.tx.Fee + 1
		if local && !last.local {
			beats = last.tx.Fee
		}
		need = min(need, beats)
		if tx.Fee < beats {
			continue
		}
		if victim == nil || last.tx.Fee < victim.tx.Fee || (last.tx.Fee == victim.tx.Fee && last.added.After(victim.added)) {
			victim = last
		}
	}
	if victim == nil {
		if need == ^chain.Amount(0) {
			return fmt.Errorf("%w: %d transactions, all of the sender's own", ErrPoolFull, len(p.byID))
		}
		return fmt.Errorf("%w: %d transactions, none pays less than %d; a fee of %d would get in", ErrPoolFull,
			len(p.byID), tx.Fee, need)
	}
	from := victim.tx.From
	p.dropFrom(from, p.senders[from], victim.tx.Nonce,
		fmt.Errorf("%w: evicted by a transaction paying a fee of %d", ErrPoolFull, tx.Fee))
	return nil
}
