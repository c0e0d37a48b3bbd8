package mempool

import (
	"fmt"

	"github.com/posnode/posnode/chain"
)

// senderTxs is one sender's pending transactions and what they do to its account.
type senderTxs struct {
	base  chain.Account // the sender's account at the head the pool last checked against
	txs   map[chain.Nonce]*poolTx
	top   chain.Nonce   // highest pending nonce (meaningless when txs is empty)
	run   chain.Nonce   // first nonce after the run of consecutive pending nonces from base.Nonce
	after chain.Account // base after the run applies
	tail  chain.Account // base after every pending transaction applies, those behind a gap too
	cut   chain.Nonce   // how many nonces from base.Nonce on were removed from the bottom, in order (a block took them)
	dirty bool          // a removal above the bottom broke run and after; resync before use
	// exact: every pending transaction's before is its sender's account after the pending ones below it, so that a
	// head that applied the bottom of the run as the pool projected it needs no walk (catchUp).
	exact bool
}

func newSenderTxs(base chain.Account) *senderTxs {
	return &senderTxs{base: base, txs: map[chain.Nonce]*poolTx{}, run: base.Nonce, after: base, tail: base, exact: true}
}

// projection is where a sender's run would end, and its account after the run and after every pending
// transaction, if a transaction joined it.
type projection struct {
	run   chain.Nonce
	after chain.Account
	tail  chain.Account
}

// admits checks tx against the sender's pending state and returns what the run becomes with it; it changes
// nothing. The run must be up to date (not dirty).
func (s *senderTxs) admits(tx *chain.Tx) (projection, error) {
	switch {
	case s.base.Balance == 0 && s.base.Stake == 0:
		return projection{}, fmt.Errorf("%w: %s", chain.ErrUnknownAccount, tx.From)
	case tx.Nonce < s.base.Nonce:
		return projection{}, fmt.Errorf("%w: nonce %d, account is at %d", ErrStaleTx, tx.Nonce, s.base.Nonce)
	case s.txs[tx.Nonce] != nil:
		return projection{}, fmt.Errorf("%w: sender already has nonce %d pending", ErrDuplicateTx, tx.Nonce)
	case tx.Nonce > s.run+MaxNonceGap:
		return projection{}, fmt.Errorf("%w: nonce %d, the sender's next is %d (at most %d ahead)", ErrNonceGap,
			tx.Nonce, s.run, MaxNonceGap)
	case len(s.txs) >= MaxSenderTxs:
		return projection{}, fmt.Errorf("%w: the sender has %d transactions pending", ErrPoolFull, len(s.txs))
	}
	return s.project(tx)
}

// project applies the sender's pending transactions from its run on, with extra among them, in nonce order: the
// run grows while nonces are consecutive, and the transactions behind a gap are charged too, so the balance must
// cover every pending transaction. A failure of extra is returned as is; a failure of a later transaction is
// ErrBreaksLater.
func (s *senderTxs) project(extra *chain.Tx) (projection, error) {
	pr := projection{run: s.run, after: s.after, tail: s.tail}
	if len(s.txs) > 0 && s.run <= s.top && extra.Nonce > s.top {
		// Behind a gap, after every pending transaction: only extra is charged, so that the transactions that
		// wait for a gap cost one step each, not a walk over the window.
		acct, err := spend(s.tail, extra)
		if err != nil {
			return pr, err
		}
		pr.tail = acct
		return pr, nil
	}
	acct, inRun, hi := s.after, true, extra.Nonce
	if len(s.txs) > 0 {
		hi = max(hi, s.top)
	}
	for n := s.run; n <= hi; n++ {
		tx := s.at(n, extra)
		if tx == nil {
			inRun = false
			continue
		}
		var err error
		if acct, err = spend(acct, tx); err != nil {
			if tx == extra {
				return pr, err
			}
			return pr, fmt.Errorf("%w: nonce %d: %w", ErrBreaksLater, n, err)
		}
		if inRun {
			pr.run, pr.after = n+1, acct
		}
	}
	pr.tail = acct
	return pr, nil
}

// at returns the pending transaction with nonce n, or extra if it has that nonce.
func (s *senderTxs) at(n chain.Nonce, extra *chain.Tx) *chain.Tx {
	if extra != nil && extra.Nonce == n {
		return extra
	}
	if pt := s.txs[n]; pt != nil {
		return &pt.tx
	}
	return nil
}

// insert adds an admitted transaction with the projection admits returned. A transaction after every pending one
// is charged on the tail; one below the top changes what the later ones see, whose before is then stale.
func (s *senderTxs) insert(pt *poolTx, pr projection) {
	if len(s.txs) == 0 || pt.tx.Nonce > s.top {
		s.top = pt.tx.Nonce
		pt.before = s.tail
	} else {
		s.exact = false
	}
	s.txs[pt.tx.Nonce] = pt
	s.run, s.after, s.tail = pr.run, pr.after, pr.tail
}

// delete removes the transaction with nonce n; the run is brought up to date before next use (Pool.sender,
// Revalidate): in one step if n was the bottom of the run and the head applied it as projected, else by a walk.
func (s *senderTxs) delete(n chain.Nonce) {
	delete(s.txs, n)
	if n == s.base.Nonce+s.cut {
		s.cut++
	} else {
		s.dirty = true
	}
	for len(s.txs) > 0 && s.txs[s.top] == nil {
		s.top--
	}
}

// noncesFrom returns the pending nonces ≥ first, in order.
func (s *senderTxs) noncesFrom(first chain.Nonce) []chain.Nonce {
	var out []chain.Nonce
	for n := first; len(s.txs) > 0 && n <= s.top; n++ {
		if s.txs[n] != nil {
			out = append(out, n)
		}
	}
	return out
}

// stale reports whether the sender's run must be brought up to date with acct, its account on the head.
func (s *senderTxs) stale(acct chain.Account) bool { return s.dirty || s.cut > 0 || acct != s.base }

// catchUp brings the run up to date in one step when the head applied exactly the bottom of the run, as the pool
// projected it: the nonces removed from the bottom are those below acct.Nonce, and acct is the account the pool
// projected before the first transaction left. It reports whether it could; if not, the caller walks (resync).
func (s *senderTxs) catchUp(acct chain.Account) bool {
	k := acct.Nonce
	if s.dirty || !s.exact || k < s.base.Nonce || k-s.base.Nonce != s.cut || k > s.run {
		return false
	}
	before := s.after // the account after the whole run
	if k < s.run {
		pt := s.txs[k]
		if pt == nil {
			return false
		}
		before = pt.before
	}
	if before != acct {
		return false
	}
	s.base, s.cut = acct, 0
	return true
}

// waiting returns how many of the sender's transactions wait behind a gap: those at or beyond its run. The run
// must be up to date (not dirty).
func (s *senderTxs) waiting() int { return len(s.txs) - int(s.run-s.base.Nonce) }

// nextRun returns the nonce after the sender's run.
func (s *senderTxs) nextRun() chain.Nonce { return s.run }

// spend applies tx to its sender's account as the ledger does (chain.Spend, PROTOCOL.md §3, rules 3–6), at the
// place of tx in its sender's pending run. The nonce is the caller's concern.
func spend(a chain.Account, tx *chain.Tx) (chain.Account, error) {
	next, err := chain.Spend(a, tx)
	if err != nil {
		return a, fmt.Errorf("nonce %d, after the pending transactions before it: %w", tx.Nonce, err)
	}
	return next, nil
}
