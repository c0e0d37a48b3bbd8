package chain

import "fmt"

// journal records accounts as they were before a change, so that a failed block can be undone
// without cloning the state.
type journal []undo

type undo struct {
	addr    Address
	prev    Account
	existed bool
}

// set records addr's current account in j (if j is not nil) and then overwrites it.
func (s *State) set(j *journal, addr Address, acc Account) {
	if j != nil {
		prev, ok := s.accounts.get(addr)
		*j = append(*j, undo{addr: addr, prev: prev, existed: ok})
	}
	s.accounts.put(addr, acc)
	if s.acct != nil {
		s.changed = append(s.changed, addr)
	}
}

// rollback restores every account recorded in j, newest change first.
func (s *State) rollback(j journal) {
	for i := len(j) - 1; i >= 0; i-- {
		if j[i].existed {
			s.accounts.put(j[i].addr, j[i].prev)
		} else {
			s.accounts.remove(j[i].addr)
		}
	}
}

// ApplyTx applies one transaction (PROTOCOL.md §3): it checks ValidateBasic, that the sender exists
// (ErrUnknownAccount: it has a balance or a stake), its nonce (ErrBadNonce), the fee (ErrFeeTooLow),
// the balance for value+fee (ErrInsufficientBalance), the stake for an unstake (ErrInsufficientStake)
// and every sum (ErrOverflow). The fee leaves the sender; ApplyBlock pays it to the proposer.
// ApplyTx does not check the signature. On error s is unchanged.
func (s *State) ApplyTx(tx *Tx) error { return s.applyTx(tx, nil) }

func (s *State) applyTx(tx *Tx, j *journal) error {
	if err := tx.ValidateBasic(); err != nil {
		return err
	}
	from, err := s.checkSender(tx)
	if err != nil {
		return err
	}
	if from, err = Spend(from, tx); err != nil {
		return fmt.Errorf("sender %s: %w", tx.From.Short(), err)
	}
	switch tx.Kind {
	case TxTransfer:
		return s.transfer(j, tx, from)
	case TxUnstake:
		// The unbonding tokens return to the balance when epoch current + UnbondingEpochs opens (a second unstake
		// moves the release of all of them to its own date); the stake table still counts the stake until the lag
		// of the stake table has passed (PROTOCOL.md §6, §8b).
		from.UnbondEpoch = s.epoch + UnbondingEpochs
	}
	s.set(j, tx.From, from)
	return nil
}

// Spend returns the sender's account a after tx (PROTOCOL.md §3, rules 3–6): the fee, plus the value of a
// transfer or stake, leaves the balance, and the nonce moves on; a stake moves the value into the stake (never for
// a slashed account); an unstake moves it to the unbonding tokens, whose release epoch (UnbondEpoch) the caller
// sets. It checks neither the nonce, the fee floor nor the recipient: State.ApplyTx does, with this rule, and the
// mempool forecasts a sender's pending run with it. Errors: ErrOverflow, ErrInsufficientBalance, ErrSlashed,
// ErrInsufficientStake.
func Spend(a Account, tx *Tx) (Account, error) {
	cost := tx.Fee
	if tx.Kind == TxTransfer || tx.Kind == TxStake {
		var ok bool
		if cost, ok = addAmount(Amount(tx.Value), tx.Fee); !ok {
			return a, fmt.Errorf("%w: value %d plus fee %d", ErrOverflow, tx.Value, tx.Fee)
		}
	}
	if a.Balance < cost {
		return a, fmt.Errorf("%w: has %d, needs %d", ErrInsufficientBalance, a.Balance, cost)
	}
	a.Balance -= cost
	a.Nonce++
	switch tx.Kind {
	case TxStake:
		if a.Slashed {
			return a, fmt.Errorf("%w: a slashed account cannot stake", ErrSlashed)
		}
		var ok bool
		if a.Stake, ok = addAmount(a.Stake, Amount(tx.Value)); !ok {
			return a, fmt.Errorf("%w: stake", ErrOverflow)
		}
	case TxUnstake:
		if Amount(tx.Value) > a.Stake {
			return a, fmt.Errorf("%w: unstakes %d of %d", ErrInsufficientStake, tx.Value, a.Stake)
		}
		a.Stake -= Amount(tx.Value)
		a.Unbonding += Amount(tx.Value) // stake and unbonding together are within the supply
	}
	return a, nil
}

// checkSender returns the sender's account if it exists, the nonce matches and the fee suffices.
func (s *State) checkSender(tx *Tx) (Account, error) {
	from, ok := s.accounts.get(tx.From)
	if !ok || !from.exists() {
		return from, fmt.Errorf("%w: %s", ErrUnknownAccount, tx.From)
	}
	if tx.Nonce != from.Nonce {
		return from, fmt.Errorf("%w: got %d, want %d", ErrBadNonce, tx.Nonce, from.Nonce)
	}
	if tx.Fee < s.params.TxFee {
		return from, fmt.Errorf("%w: got %d, want at least %d", ErrFeeTooLow, tx.Fee, s.params.TxFee)
	}
	return from, nil
}

// transfer credits the recipient and stores both accounts; from is already debited.
func (s *State) transfer(j *journal, tx *Tx, from Account) error {
	to := s.accounts.at(tx.To)
	var ok bool
	if to.Balance, ok = addAmount(to.Balance, Amount(tx.Value)); !ok {
		return fmt.Errorf("%w: balance of %s", ErrOverflow, tx.To.Short())
	}
	s.set(j, tx.From, from)
	s.set(j, tx.To, to)
	return nil
}

// ApplyBlock applies a block to s (PROTOCOL.md §6, §7, §8b): when the block opens a new epoch it releases the
// unbonding tokens due and rotates the stake tables; it applies every transaction in order (the first that
// fails is returned, wrapped with its index), then every piece of evidence, and credits the proposer
// BlockReward plus the fees. It checks neither signatures
// nor roots nor the header against a parent: see ValidateBlock. On error s is unchanged.
func (s *State) ApplyBlock(b *Block) error {
	saved := *s // the scalar fields and table slices; accounts are undone by the journal
	j := make(journal, 0, 2*len(b.Txs)+1)
	err := s.applyBlock(b, &j, nil)
	if err != nil {
		s.rollback(j)
		accounts := s.accounts
		*s = saved
		s.accounts = accounts
	}
	return err
}

// applyBlock is ApplyBlock without the undo; it appends what each piece of evidence did to slashed, if set.
func (s *State) applyBlock(b *Block, j *journal, slashed *[]Slashing) error {
	epoch := epochOf(b.Header.Slot, s.params.EpochLength)
	if epoch > s.epoch {
		s.releaseUnbonding(j, epoch)
	}
	if err := s.rotate(epoch); err != nil {
		return err
	}
	var fees Amount
	for i := range b.Txs {
		if err := s.applyTx(&b.Txs[i], j); err != nil {
			return fmt.Errorf("tx %d: %w", i, err)
		}
		var ok bool
		if fees, ok = addAmount(fees, b.Txs[i].Fee); !ok {
			return fmt.Errorf("tx %d: %w: fees of the block", i, ErrOverflow)
		}
	}
	for i := range b.Evidence {
		sl, err := s.applyEvidence(j, &b.Evidence[i], b.Header.Proposer, epoch)
		if err != nil {
			return fmt.Errorf("evidence %d: %w", i, err)
		}
		if slashed != nil {
			*slashed = append(*slashed, sl)
		}
	}
	return s.reward(j, b.Header.Proposer, fees)
}

// reward mints BlockReward and pays it with the block's fees to the proposer.
func (s *State) reward(j *journal, proposer Address, fees Amount) error {
	supply, ok := addAmount(s.supply, s.params.BlockReward)
	if !ok {
		return fmt.Errorf("%w: total supply", ErrOverflow)
	}
	acc := s.accounts.at(proposer)
	pay, ok1 := addAmount(s.params.BlockReward, fees)
	bal, ok2 := addAmount(acc.Balance, pay)
	if !ok1 || !ok2 {
		return fmt.Errorf("%w: balance of proposer %s", ErrOverflow, proposer.Short())
	}
	s.supply = supply
	if pay > 0 { // no empty account for a proposer paid nothing
		acc.Balance = bal
		s.set(j, proposer, acc)
	}
	return nil
}
