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
const stateDomain = "posnode/state/v2"

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

// State is the ledger after some block: accounts and stake tables (PROTOCOL.md §3, §6).
//
// Stake-table rule: stake changes committed during epoch e count from epoch e+2; the tables of
// epochs 0 and 1 are the genesis stakes. The lottery seed of a slot is known only once its parent
// block exists, so the table it draws from must be fixed by on-chain inputs that every node already
// agrees on before any seed it will meet is known. With the lag, a proposer cannot tune stake in
// its own block (or in the blocks just before a slot) to win that slot, and every node computing a
// leader for epoch e from any parent in epoch e-1 or e uses the same table.
//
// A State is not safe for concurrent mutation; Clone it to keep a version.
type State struct {
	params   Params
	accounts map[Address]Account
	supply   Amount // every balance and stake plus fees in flight; bounds all sums
	epoch    Epoch  // epoch of the last applied block (0 at genesis)
	active   []Stake
	next     []Stake // table of epoch+1; both are replaced, never modified in place
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

// Validators returns the stake table of a block in epoch e whose parent state is s (PROTOCOL.md §6):
// the active table for s's epoch, the next table for the epoch after, and the live stakes for any
// later epoch (all tables in between would equal them). It returns nil for an epoch before s's,
// which no child block can be in. The slice is the caller's.
func (s *State) Validators(e Epoch) []Stake {
	switch {
	case e < s.epoch:
		return nil
	case e == s.epoch:
		return slices.Clone(s.active)
	case e-s.epoch == 1:
		return slices.Clone(s.next)
	default:
		return s.Stakes()
	}
}

// mayStake reports whether a is in one of s's two stake tables or has live stake (at least MinStake) in s:
// whether a can be in the stake table of a child of s without staking again first (PROTOCOL.md §6).
func (s *State) mayStake(a Address) bool {
	if acc := s.accounts[a]; acc.Stake > 0 && acc.Stake >= s.params.MinStake {
		return true
	}
	return inTable(s.active, a) || inTable(s.next, a)
}

// inTable reports whether a is in a stake table sorted by address.
func inTable(table []Stake, a Address) bool {
	_, found := slices.BinarySearchFunc(table, a, func(st Stake, a Address) int { return bytes.Compare(st.Addr[:], a[:]) })
	return found
}

// rotate moves the stake tables forward to epoch e, before the first block of e is applied
// (PROTOCOL.md §6): one epoch on, active=next and next=live; two or more, both are live.
func (s *State) rotate(e Epoch) error {
	switch {
	case e < s.epoch:
		return fmt.Errorf("%w: block in epoch %d, state already in epoch %d", ErrSlotNotAfterParent, e, s.epoch)
	case e == s.epoch:
		return nil
	case e-s.epoch == 1:
		s.active, s.next = s.next, s.Stakes()
	default:
		s.active = s.Stakes()
		s.next = s.active
	}
	s.epoch = e
	return nil
}

// Root returns SHA-256 of the state's canonical encoding (PROTOCOL.md §7): "posnode/state/v2" |
// epoch u64 | active table | next table | accounts sorted by address, where a table is u32 count |
// (address [32] | stake u64)… and an account is address [32] | balance u64 | stake u64 | nonce u64 |
// unbonding u64 | unbond epoch u64 | slashed u8.
func (s *State) Root() Hash {
	h := sha256.New()
	var buf [64]byte
	h.Write([]byte(stateDomain))
	h.Write(binary.BigEndian.AppendUint64(buf[:0], uint64(s.epoch)))
	for _, table := range [][]Stake{s.active, s.next} {
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
