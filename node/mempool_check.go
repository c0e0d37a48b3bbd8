package node

import (
	"fmt"
	"time"

	"github.com/posnode/posnode/chain"
)

// Revalidate brings the pool up to date with a new head state st (PROTOCOL.md §3, §8): for every sender whose
// account changed, transactions whose nonce is used are dropped, and so is any that can no longer apply (the
// balance no longer covers it, the account is gone), with its followers; transactions older than maxTxAge, or
// waiting longer than gapWait behind a nonce gap, are dropped too. Every drop is recorded with its reason. Call
// Remove for the transactions of newly applied blocks first, or they are recorded as replaced.
func (p *mempool) Revalidate(st *chain.State) {
	for from, s := range p.senders {
		if acct := st.Account(from); s.dirty || acct != s.base {
			p.resync(from, s, acct)
		}
	}
	p.expire()
}

// resync recomputes from's run against its account acct, dropping what can no longer apply.
func (p *mempool) resync(from chain.Address, s *senderTxs, acct chain.Account) {
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
func (p *mempool) expire() {
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

// evictFor makes room for tx in a full pool: it drops the last pending transaction of the sender whose last one
// pays the lowest fee below tx's (the most recent among equals), and reports whether it found one.
func (p *mempool) evictFor(tx chain.Tx) bool {
	var victim *poolTx
	var victimFrom chain.Address
	for from, s := range p.senders {
		if from == tx.From || len(s.txs) == 0 {
			continue
		}
		last := s.txs[s.top]
		if last.tx.Fee >= tx.Fee {
			continue
		}
		if victim == nil || last.tx.Fee < victim.tx.Fee || (last.tx.Fee == victim.tx.Fee && last.added.After(victim.added)) {
			victim, victimFrom = last, from
		}
	}
	if victim == nil {
		return false
	}
	p.dropFrom(victimFrom, p.senders[victimFrom], victim.tx.Nonce,
		fmt.Errorf("%w: evicted by a transaction paying a fee of %d", ErrPoolFull, tx.Fee))
	return true
}
