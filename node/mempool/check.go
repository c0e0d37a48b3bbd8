package mempool

import (
	"bytes"
	"fmt"
	"time"

	"github.com/posnode/posnode/chain"
)

// Revalidate brings the pool up to date with a new head state st (PROTOCOL.md §3, §8): for every sender whose
// account changed, transactions whose nonce is used are dropped, and so is any that can no longer apply (the
// balance no longer covers it, the account is gone), with its followers; transactions older than maxTxAge, or
// waiting longer than gapWait behind a nonce gap, are dropped too. Every drop is recorded with its reason. Call
// Remove for the transactions of newly applied blocks first, or they are recorded as replaced.
func (p *Pool) Revalidate(st *chain.State) {
	for from, s := range p.senders {
		if acct := st.Account(from); s.dirty || acct != s.base {
			p.resync(from, s, acct)
		}
	}
	p.expire()
}

// resync recomputes from's run against its account acct, dropping what can no longer apply.
func (p *Pool) resync(from chain.Address, s *senderTxs, acct chain.Account) {
	s.base, s.run, s.after, s.tail, s.dirty = acct, acct.Nonce, acct, acct, false
	for _, nonce := range s.noncesBelow(acct.Nonce) {
		pt := p.remove(s.txs[nonce].id)
		p.dropped.add(pt.id, fmt.Sprintf("%v: nonce %d was used by another transaction", ErrStaleTx, nonce), p.now())
	}
	if len(s.txs) == 0 {
		p.forgetIfEmpty(from, s)
		return
	}
	if acct.Balance == 0 && acct.Stake == 0 {
		p.dropFrom(from, s, acct.Nonce, fmt.Errorf("%w: %s", chain.ErrUnknownAccount, from))
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
		acct = next
		s.tail = acct
		if inRun {
			s.run, s.after = n+1, acct
		}
		p.setWaiting(pt, !inRun)
	}
	s.dirty = false // the drops above only removed transactions after the run
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
// with its sender's later transactions. The runs must be up to date.
func (p *Pool) expire() {
	now := p.now()
	for from, s := range p.senders {
		for n := s.base.Nonce; len(s.txs) > 0 && n <= s.top; n++ {
			pt := s.txs[n]
			if pt == nil {
				continue
			}
			age := now.Sub(pt.added)
			if n >= s.run && age > gapWait {
				p.dropFrom(from, s, n, fmt.Errorf("%w: nonce %d waited %s for nonce %d", ErrNonceGap, n,
					age.Round(time.Second), s.run))
				break
			}
			if age > maxTxAge {
				p.dropFrom(from, s, n, fmt.Errorf("expired: pending for %s", age.Round(time.Second)))
				break
			}
		}
	}
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
