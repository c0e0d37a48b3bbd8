package chain

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"maps"
	"slices"
)

// stateDomain separates the state root from every other hash.
const stateDomain = "posnode/state/v3"

// Params are the ledger rules a genesis fixes (PROTOCOL.md §5).
type Params struct {
	TxFee       Amount // minimum fee per transaction
	BlockReward Amount // minted to each block's proposer
	MinStake    Amount // stake below this is not in the stake table
	EpochLength uint64 // slots per epoch
}

// Account is one address's holdings.
type Account struct {
	Balance     Amount `json:"balance"`
	Stake       Amount `json:"stake"`
	Nonce       Nonce  `json:"nonce"`        // transactions sent so far: the nonce of the next one
	Unbonding   Amount `json:"unbonding"`    // unstaked tokens still locked (PROTOCOL.md §8b)
	UnbondEpoch Epoch  `json:"unbond_epoch"` // the epoch whose first block releases Unbonding
	Slashed     bool   `json:"slashed"`      // punished for an offence: never in a stake table again
}

// exists reports whether the account holds anything a transaction could be charged against or name.
func (a Account) exists() bool { return a.Balance > 0 || a.Stake > 0 || a.Unbonding > 0 }

// StakeLag is the lag of the stake table, in epochs (PROTOCOL.md §6): stake changes committed during epoch e
// count from epoch e+StakeLag, one epoch more than the seed's lag (the seed of epoch e is the mix at the end
// of epoch e-2).
const StakeLag = 3

// tableLag is the lag a new genesis state follows: StakeLag, which only tests change (to measure what the
// lag protects against). A State keeps the lag it was made with.
var tableLag = StakeLag

// State is the ledger after some block: accounts and stake tables (PROTOCOL.md §3, §6).
//
// Stake-table rule: stake changes committed during epoch e count from epoch e+3; the tables of epochs 0, 1
// and 2 are the genesis stakes. The seed of epoch e is the mix at the end of epoch e-2, which the proposer
// of the last block of e-2 knows before it builds that block; the table of e is fixed at the end of e-3,
// before any VRF output of epoch e-2 exists, so no block's contents (a stake, an unstake, evidence) can tune
// the table of an epoch whose seed its proposer knows. Every node computing a leader for epoch e from any
// parent in epochs e-2 to e uses the same table.
//
// A State is not safe for concurrent mutation; Clone it to keep a version.
type State struct {
	params   Params
	accounts map[Address]Account
	supply   Amount // every balance and stake plus fees in flight; bounds all sums
	epoch    Epoch  // epoch of the last applied block (0 at genesis)
	// tables[i] is the stake table of epoch epoch+i, for i below the lag; the slice and the tables are
	// replaced, never modified in place.
	tables [][]Stake
}

// Params returns the ledger rules the state follows.
func (s *State) Params() Params { return s.params }

// Epoch returns the epoch of the last applied block (0 at genesis).
func (s *State) Epoch() Epoch { return s.epoch }

// Supply returns the total of all tokens: it grows by BlockReward with every block.
func (s *State) Supply() Amount { return s.supply }

// Clone returns an independent copy of s. It copies the account map and shares the immutable
// stake tables, so it costs O(accounts).
func (s *State) Clone() *State {
	c := *s
	c.accounts = maps.Clone(s.accounts)
	if c.accounts == nil {
		c.accounts = make(map[Address]Account)
	}
	return &c
}

// Account returns a's account; the zero Account if a has never held tokens.
func (s *State) Account(a Address) Account { return s.accounts[a] }

// Accounts returns the number of accounts.
func (s *State) Accounts() int { return len(s.accounts) }

// Stakes returns the live stake table: every stake of at least MinStake (and above zero) of an account never
// slashed, sorted by address bytes (PROTOCOL.md §6, §8b).
func (s *State) Stakes() []Stake {
	var out []Stake
	for addr, acc := range s.accounts {
		if acc.Stake > 0 && acc.Stake >= s.params.MinStake && !acc.Slashed {
			out = append(out, Stake{Addr: addr, Amount: acc.Stake})
		}
	}
	slices.SortFunc(out, func(x, y Stake) int { return bytes.Compare(x.Addr[:], y.Addr[:]) })
	return out
}

// TotalStake returns the sum of the live stake table. It cannot overflow: it is at most the supply.
func (s *State) TotalStake() Amount {
	var total Amount
	for _, st := range s.Stakes() {
		total += st.Amount
	}
	return total
}

// Validators returns the stake table of a block in epoch e whose parent state is s (PROTOCOL.md §6): the
// table s keeps for e when e is less than StakeLag epochs after s's epoch, and the live stakes for any later
// epoch (all tables in between would equal them). It returns nil for an epoch before s's, which no child
// block can be in. The slice is the caller's.
func (s *State) Validators(e Epoch) []Stake {
	switch {
	case e < s.epoch:
		return nil
	case e-s.epoch < Epoch(len(s.tables)):
		return slices.Clone(s.tables[e-s.epoch])
	default:
		return s.Stakes()
	}
}

// mayStake reports whether a is in one of s's stake tables or has live stake (at least MinStake) in s:
// whether a can be in the stake table of a child of s without staking again first (PROTOCOL.md §6).
func (s *State) mayStake(a Address) bool {
	if acc := s.accounts[a]; acc.Stake > 0 && acc.Stake >= s.params.MinStake {
		return true
	}
	for _, table := range s.tables {
		if inTable(table, a) {
			return true
		}
	}
	return false
}

// inTable reports whether a is in a stake table sorted by address.
func inTable(table []Stake, a Address) bool {
	_, found := slices.BinarySearchFunc(table, a, func(st Stake, a Address) int { return bytes.Compare(st.Addr[:], a[:]) })
	return found
}

// rotate moves the stake tables forward to epoch e, before the first block of e is applied
// (PROTOCOL.md §6): each table moves d = e - epoch places towards the front, and the d places freed at
// the back take the live stakes (the stakes at the end of the last epoch with a block, which every later
// epoch's table equals until another block changes them).
func (s *State) rotate(e Epoch) error {
	switch {
	case e < s.epoch:
		return fmt.Errorf("%w: block in epoch %d, state already in epoch %d", ErrSlotNotAfterParent, e, s.epoch)
	case e == s.epoch:
		return nil
	}
	n := len(s.tables)
	tables := make([][]Stake, n)
	d := min(e-s.epoch, Epoch(n))
	copy(tables, s.tables[d:])
	live := s.Stakes()
	for i := n - int(d); i < n; i++ {
		tables[i] = live
	}
	s.tables = tables
	s.epoch = e
	return nil
}

// Root returns SHA-256 of the state's canonical encoding (PROTOCOL.md §4): "posnode/state/v3" |
// epoch u64 | the tables of epochs epoch, epoch+1 and epoch+2 | accounts sorted by address, where a table is u32 count |
// (address [32] | stake u64)… and an account is address [32] | balance u64 | stake u64 | nonce u64 |
// unbonding u64 | unbond epoch u64 | slashed u8.
func (s *State) Root() Hash {
	h := sha256.New()
	var buf [64]byte
	h.Write([]byte(stateDomain))
	h.Write(binary.BigEndian.AppendUint64(buf[:0], uint64(s.epoch)))
	for _, table := range s.tables {
		h.Write(binary.BigEndian.AppendUint32(buf[:0], uint32(len(table))))
		for _, st := range table {
			b := append(buf[:0], st.Addr[:]...)
			h.Write(binary.BigEndian.AppendUint64(b, uint64(st.Amount)))
		}
	}
	addrs := slices.SortedFunc(maps.Keys(s.accounts), func(x, y Address) int { return bytes.Compare(x[:], y[:]) })
	h.Write(binary.BigEndian.AppendUint32(buf[:0], uint32(len(addrs))))
	for _, a := range addrs {
		acc := s.accounts[a]
		b := append(buf[:0], a[:]...)
		b = binary.BigEndian.AppendUint64(b, uint64(acc.Balance))
		b = binary.BigEndian.AppendUint64(b, uint64(acc.Stake))
		b = binary.BigEndian.AppendUint64(b, uint64(acc.Nonce))
		b = binary.BigEndian.AppendUint64(b, uint64(acc.Unbonding))
		b = binary.BigEndian.AppendUint64(b, uint64(acc.UnbondEpoch))
		h.Write(append(b, boolByte(acc.Slashed)))
	}
	var out Hash
	h.Sum(out[:0])
	return out
}

func boolByte(b bool) byte {
	if b {
		return 1
	}
	return 0
}

// addAmount returns a+b and whether it fits in an Amount.
func addAmount(a, b Amount) (Amount, bool) {
	sum := a + b
	return sum, sum >= a
}
