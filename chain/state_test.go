package chain

import (
	"errors"
	"math"
	"reflect"
	"slices"
	"strings"
	"testing"
)

func TestApplyTx(t *testing.T) {
	chainID := testGenesis().Hash()
	a0, a1, a9 := testAddr(0), testAddr(1), testAddr(9)
	tx := func(i int, kind TxKind, nonce Nonce, to Address, value uint64, fee Amount) Tx {
		return signedTx(chainID, i, kind, nonce, to, value, fee)
	}
	tests := []struct {
		name  string
		setup []Tx // applied first; must succeed
		tx    Tx
		want  error
		check map[Address]Account // accounts after a successful tx
	}{
		{name: "transfer to new account", tx: tx(0, TxTransfer, 0, a9, 100, 2),
			check: map[Address]Account{a0: {Balance: 898, Stake: 1000, Nonce: 1}, a9: {Balance: 100}}},
		{name: "transfer to existing account", tx: tx(0, TxTransfer, 0, a1, 999, 1),
			check: map[Address]Account{a0: {Balance: 0, Stake: 1000, Nonce: 1}, a1: {Balance: 1999, Stake: 1000}}},
		{name: "stake", tx: tx(0, TxStake, 0, Address{}, 500, 1),
			check: map[Address]Account{a0: {Balance: 499, Stake: 1500, Nonce: 1}}},
		{name: "unstake locks the tokens", tx: tx(0, TxUnstake, 0, Address{}, 1000, 1),
			check: map[Address]Account{a0: {Balance: 999, Stake: 0, Nonce: 1, Unbonding: 1000, UnbondEpoch: UnbondingEpochs}}},
		{name: "bpm pays the fee only", tx: tx(0, TxBPM, 0, Address{}, 72, 3),
			check: map[Address]Account{a0: {Balance: 997, Stake: 1000, Nonce: 1}}},
		{name: "second tx uses nonce 1", setup: []Tx{tx(0, TxBPM, 0, Address{}, 72, 1)}, tx: tx(0, TxBPM, 1, Address{}, 80, 1),
			check: map[Address]Account{a0: {Balance: 998, Stake: 1000, Nonce: 2}}},
		{name: "new account can spend", setup: []Tx{tx(0, TxTransfer, 0, a9, 100, 1)}, tx: tx(9, TxTransfer, 0, a1, 99, 1),
			check: map[Address]Account{a9: {Balance: 0, Nonce: 1}, a1: {Balance: 1099, Stake: 1000}}},
		{name: "overspend", tx: tx(0, TxTransfer, 0, a1, 1000, 1), want: ErrInsufficientBalance},
		{name: "stake more than balance", tx: tx(0, TxStake, 0, Address{}, 1000, 1), want: ErrInsufficientBalance},
		{name: "fee beyond balance", tx: tx(0, TxBPM, 0, Address{}, 60, 1001), want: ErrInsufficientBalance},
		{name: "nonce ahead", tx: tx(0, TxBPM, 1, Address{}, 60, 1), want: ErrBadNonce},
		{name: "replay", setup: []Tx{tx(0, TxTransfer, 0, a1, 5, 1)}, tx: tx(0, TxTransfer, 0, a1, 5, 1), want: ErrBadNonce},
		{name: "unstake more than staked", tx: tx(0, TxUnstake, 0, Address{}, 1001, 1), want: ErrInsufficientStake},
		{name: "fee too low", tx: tx(0, TxTransfer, 0, a1, 5, 0), want: ErrFeeTooLow},
		{name: "unknown sender", tx: tx(9, TxBPM, 0, Address{}, 60, 1), want: ErrUnknownAccount},
		{name: "emptied account is unknown", setup: []Tx{tx(0, TxTransfer, 0, a9, 100, 1), tx(9, TxTransfer, 0, a1, 99, 1)},
			tx: tx(9, TxBPM, 1, Address{}, 60, 1), want: ErrUnknownAccount},
		{name: "unbonding account still sends", setup: []Tx{tx(0, TxUnstake, 0, Address{}, 1000, 1), tx(0, TxTransfer, 1, a1, 997, 1)},
			tx: tx(0, TxBPM, 2, Address{}, 60, 1), check: map[Address]Account{a0: {Balance: 0, Nonce: 3, Unbonding: 1000, UnbondEpoch: UnbondingEpochs}}},
		{name: "invalid tx", tx: tx(0, TxBPM, 0, Address{}, 0, 1), want: ErrInvalidTx},
		{name: "value plus fee overflows", tx: tx(0, TxTransfer, 0, a1, math.MaxUint64, 1), want: ErrOverflow},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := testGenesis().State()
			for i := range tt.setup {
				if err := s.ApplyTx(&tt.setup[i]); err != nil {
					t.Fatalf("setup tx %d: %v", i, err)
				}
			}
			before, beforeN := s.Root(), s.Accounts()
			err := s.ApplyTx(&tt.tx)
			if tt.want != nil {
				if !errors.Is(err, tt.want) {
					t.Fatalf("got %v, want %v", err, tt.want)
				}
				if s.Root() != before || s.Accounts() != beforeN {
					t.Errorf("state changed by a failed tx")
				}
				return
			}
			if err != nil {
				t.Fatalf("got %v, want nil", err)
			}
			for addr, want := range tt.check {
				if got := s.Account(addr); got != want {
					t.Errorf("account %s: got %+v, want %+v", addr.Short(), got, want)
				}
			}
		})
	}
}

func TestApplyBlockRewardAndFees(t *testing.T) {
	g := testGenesis()
	chainID := g.Hash()
	s := g.State()
	txs := []Tx{
		signedTx(chainID, 0, TxTransfer, 0, testAddr(1), 10, 1),
		signedTx(chainID, 2, TxBPM, 0, Address{}, 60, 3), // the proposer's own tx
		signedTx(chainID, 1, TxStake, 0, Address{}, 5, 2),
	}
	b := &Block{Header: Header{Height: 1, Slot: 1, Proposer: testAddr(2)}, Txs: txs}
	supply := s.Supply()
	if err := s.ApplyBlock(b); err != nil {
		t.Fatalf("ApplyBlock: %v", err)
	}
	// proposer: 1000 - 3 (own fee) + 10 reward + 6 fees
	if got, want := s.Account(testAddr(2)), (Account{Balance: 1013, Stake: 1000, Nonce: 1}); got != want {
		t.Errorf("proposer: got %+v, want %+v", got, want)
	}
	if got, want := s.Account(testAddr(1)), (Account{Balance: 1003, Stake: 1005, Nonce: 1}); got != want {
		t.Errorf("account 1: got %+v, want %+v", got, want)
	}
	if got, want := s.Supply(), supply+g.BlockReward; got != want {
		t.Errorf("supply: got %d, want %d", got, want)
	}
	var sum Amount
	for _, a := range []int{0, 1, 2, 3} {
		acc := s.Account(testAddr(a))
		sum += acc.Balance + acc.Stake
	}
	if sum != s.Supply() {
		t.Errorf("balances and stakes sum to %d, supply is %d", sum, s.Supply())
	}
}

func TestApplyBlockNewProposer(t *testing.T) {
	s := testGenesis().State()
	if err := s.ApplyBlock(&Block{Header: Header{Height: 1, Slot: 1, Proposer: testAddr(7)}}); err != nil {
		t.Fatalf("ApplyBlock: %v", err)
	}
	if got, want := s.Account(testAddr(7)), (Account{Balance: 10}); got != want {
		t.Errorf("got %+v, want %+v", got, want)
	}
}

func TestApplyBlockAtomic(t *testing.T) {
	g := testGenesis()
	chainID := g.Hash()
	tests := []struct {
		name   string
		slot   Slot
		txs    []Tx
		want   error
		substr string
	}{
		{"second tx fails", 25, []Tx{
			signedTx(chainID, 0, TxTransfer, 0, testAddr(9), 10, 1),
			signedTx(chainID, 1, TxBPM, 5, Address{}, 60, 1),
		}, ErrBadNonce, "tx 1"},
		{"replay inside a block", 25, []Tx{
			signedTx(chainID, 0, TxBPM, 0, Address{}, 60, 1),
			signedTx(chainID, 0, TxBPM, 0, Address{}, 60, 1),
		}, ErrBadNonce, "tx 1"},
		{"epoch before state's", 5, nil, ErrSlotNotAfterParent, "epoch"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := g.State()
			if err := s.ApplyBlock(&Block{Header: Header{Height: 1, Slot: 15, Proposer: testAddr(0)}}); err != nil {
				t.Fatal(err)
			}
			before := s.Clone()
			err := s.ApplyBlock(&Block{Header: Header{Height: 2, Slot: tt.slot, Proposer: testAddr(1)}, Txs: tt.txs})
			if !errors.Is(err, tt.want) || !strings.Contains(err.Error(), tt.substr) {
				t.Fatalf("got %v, want %v mentioning %q", err, tt.want, tt.substr)
			}
			if !sameState(s, before) || s.changed != nil || s.acct != before.acct {
				t.Errorf("state changed by a failed block")
			}
		})
	}
}

func TestApplyBlockOverflow(t *testing.T) {
	g := testGenesis()
	g.BlockReward = math.MaxUint64 - 4100
	s := g.State()
	if err := s.ApplyBlock(&Block{Header: Header{Height: 1, Slot: 1, Proposer: testAddr(0)}}); !errors.Is(err, ErrOverflow) {
		t.Errorf("got %v, want ErrOverflow", err)
	}
}

// stakers returns the addresses of a stake table, as key indices 0..9 (-1 for others).
func stakers(table []Stake) []int {
	var out []int
	for _, st := range table {
		idx := -1
		for i := range 10 {
			if testAddr(i) == st.Addr {
				idx = i
			}
		}
		out = append(out, idx)
	}
	return out
}

func TestStakeTableRotation(t *testing.T) {
	g := testGenesis() // epochs of 10 slots; key 3 stakes 50 < MinStake 100
	chainID := g.Hash()
	s := g.State()
	genesisTable := stakers(s.Stakes())
	apply := func(slot Slot, txs ...Tx) {
		t.Helper()
		if err := s.ApplyBlock(&Block{Header: Header{Slot: slot, Proposer: testAddr(0)}, Txs: txs}); err != nil {
			t.Fatalf("slot %d: %v", slot, err)
		}
	}
	type want struct {
		epoch   Epoch
		stakers []int
	}
	check := func(step string, wants ...want) {
		t.Helper()
		for _, w := range wants {
			if got := stakers(s.Validators(w.epoch)); !reflect.DeepEqual(got, w.stakers) {
				t.Errorf("%s: Validators(%d): got %v, want %v", step, w.epoch, got, w.stakers)
			}
		}
	}
	with3 := []int{0, 1, 2, 3}
	if !sortedSame(genesisTable, []int{0, 1, 2}) {
		t.Fatalf("genesis table: got %v, want keys 0, 1, 2", genesisTable)
	}
	check("genesis", want{0, genesisTable}, want{1, genesisTable}, want{2, genesisTable}, want{3, genesisTable})

	apply(5, signedTx(chainID, 3, TxStake, 0, Address{}, 50, 1)) // epoch 0: key 3 reaches 100, counts from epoch 3
	check("stake in epoch 0", want{0, genesisTable}, want{1, genesisTable}, want{2, genesisTable}, want{3, orderOf(with3)})

	apply(12, signedTx(chainID, 1, TxUnstake, 0, Address{}, 1000, 1)) // epoch 1: key 1 leaves from epoch 4
	without1 := orderOf([]int{0, 2, 3})
	check("unstake in epoch 1", want{0, nil}, want{1, genesisTable}, want{2, genesisTable}, want{3, orderOf(with3)},
		want{4, without1})

	apply(20) // epoch 2
	check("epoch 2", want{1, nil}, want{2, genesisTable}, want{3, orderOf(with3)}, want{4, without1}, want{5, without1})

	apply(30) // epoch 3
	check("epoch 3", want{3, orderOf(with3)}, want{4, without1}, want{5, without1})
	if got := s.Epoch(); got != 3 {
		t.Errorf("Epoch: got %d, want 3", got)
	}
}

// TestStakeTableSkippedEpoch: a block two epochs after its parent's moves the tables two places; the table of
// its own epoch is still the one fixed three epochs before it.
func TestStakeTableSkippedEpoch(t *testing.T) {
	g := testGenesis()
	s := g.State()
	genesisTable := stakers(s.Stakes())
	if err := s.ApplyBlock(&Block{Header: Header{Slot: 5, Proposer: testAddr(0)}, Txs: []Tx{signedTx(g.Hash(), 3, TxStake, 0, Address{}, 50, 1)}}); err != nil {
		t.Fatal(err)
	}
	if err := s.ApplyBlock(&Block{Header: Header{Slot: 25, Proposer: testAddr(0)}}); err != nil { // epoch 2
		t.Fatal(err)
	}
	for e, want := range map[Epoch][]int{2: genesisTable, 3: orderOf([]int{0, 1, 2, 3}), 4: orderOf([]int{0, 1, 2, 3})} {
		if got := stakers(s.Validators(e)); !reflect.DeepEqual(got, want) {
			t.Errorf("Validators(%d): got %v, want %v", e, got, want)
		}
	}
}

func TestStakeTableSkippedEpochs(t *testing.T) {
	g := testGenesis()
	chainID := g.Hash()
	s := g.State()
	if err := s.ApplyBlock(&Block{Header: Header{Slot: 5, Proposer: testAddr(0)}, Txs: []Tx{signedTx(chainID, 3, TxStake, 0, Address{}, 50, 1)}}); err != nil {
		t.Fatal(err)
	}
	if err := s.ApplyBlock(&Block{Header: Header{Slot: 55, Proposer: testAddr(0)}}); err != nil { // epoch 5
		t.Fatal(err)
	}
	for _, e := range []Epoch{5, 6, 7} {
		if got := stakers(s.Validators(e)); !reflect.DeepEqual(got, orderOf([]int{0, 1, 2, 3})) {
			t.Errorf("Validators(%d): got %v, want keys 0..3", e, got)
		}
	}
}

// orderOf returns key indices in the order of their addresses' bytes.
func orderOf(keys []int) []int {
	var table []Stake
	for _, k := range keys {
		table = append(table, Stake{Addr: testAddr(k), Amount: 1})
	}
	s := &State{}
	for _, st := range table {
		s.accounts.put(st.Addr, Account{Stake: 1})
	}
	return stakers(s.Stakes())
}

func sortedSame(a, b []int) bool { return reflect.DeepEqual(orderOf(a), orderOf(b)) }

func TestStakesAndTotal(t *testing.T) {
	s := testGenesis().State()
	st := s.Stakes()
	if len(st) != 3 {
		t.Fatalf("got %d stakes, want 3 (key 3 is below MinStake)", len(st))
	}
	for i := 1; i < len(st); i++ {
		if string(st[i-1].Addr[:]) >= string(st[i].Addr[:]) {
			t.Errorf("stakes not sorted by address at %d", i)
		}
	}
	if got := s.TotalStake(); got != 3000 {
		t.Errorf("TotalStake: got %d, want 3000", got)
	}
	v := s.Validators(0)
	v[0].Amount = 1
	if s.Validators(0)[0].Amount == 1 {
		t.Errorf("Validators returned the state's own slice")
	}
}

func TestClone(t *testing.T) {
	s := testGenesis().State()
	c := s.Clone()
	if c.Root() != s.Root() {
		t.Fatalf("clone has another root")
	}
	tx := signedTx(testGenesis().Hash(), 0, TxTransfer, 0, testAddr(9), 5, 1)
	if err := c.ApplyTx(&tx); err != nil {
		t.Fatal(err)
	}
	if got := s.Account(testAddr(0)).Nonce; got != 0 {
		t.Errorf("original nonce: got %d, want 0", got)
	}
	if s.Accounts() != 4 || c.Accounts() != 5 {
		t.Errorf("accounts: got %d and %d, want 4 and 5", s.Accounts(), c.Accounts())
	}
}

// setTable replaces s's table i without touching the tables a clone shares.
func setTable(s *State, i int, table []Stake) {
	s.tables = slices.Clone(s.tables)
	s.tables[i] = table
}

func TestRootCoversEveryField(t *testing.T) {
	base := testGenesis().State()
	a0 := testAddr(0)
	tests := []struct {
		name   string
		mutate func(*State)
	}{
		{"epoch", func(s *State) { s.epoch++ }},
		{"table of the epoch", func(s *State) { setTable(s, 0, s.tables[0][1:]) }},
		{"table of the next epoch", func(s *State) { setTable(s, 1, s.tables[1][1:]) }},
		{"table of the epoch after", func(s *State) { setTable(s, 2, s.tables[2][1:]) }},
		{"table amount", func(s *State) { setTable(s, 0, []Stake{{Addr: a0, Amount: 1}}) }},
		{"balance", func(s *State) { acc := s.accounts.at(a0); acc.Balance++; s.accounts.put(a0, acc) }},
		{"stake", func(s *State) { acc := s.accounts.at(a0); acc.Stake++; s.accounts.put(a0, acc) }},
		{"nonce", func(s *State) { acc := s.accounts.at(a0); acc.Nonce++; s.accounts.put(a0, acc) }},
		{"empty account", func(s *State) { s.accounts.put(testAddr(9), Account{}) }},
		{"account moved", func(s *State) { s.accounts.put(testAddr(9), s.accounts.at(a0)); s.accounts.remove(a0) }},
	}
	seen := map[Hash]string{base.Root(): "base"}
	for _, tt := range tests {
		s := base.Clone()
		tt.mutate(s)
		r := s.Root()
		if prev, dup := seen[r]; dup {
			t.Errorf("%s: root equals that of %s", tt.name, prev)
		}
		seen[r] = tt.name
	}
}

func TestRootIgnoresInsertionOrder(t *testing.T) {
	build := func(order []int) Hash {
		s := &State{}
		for _, i := range order {
			s.accounts.put(testAddr(i), Account{Balance: Amount(i)})
		}
		return s.Root()
	}
	want := build([]int{0, 1, 2, 3, 4, 5, 6, 7})
	if got := build([]int{7, 3, 5, 1, 0, 6, 2, 4}); got != want {
		t.Errorf("got %s, want %s", got, want)
	}
}
