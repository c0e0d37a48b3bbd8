package chain

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"slices"
)

// Domain separators of the state root and its trees (PROTOCOL.md §4a).
const (
	stateDomain    = "posnode/state/v4"
	accountsDomain = "posnode/accounts/v1"
	tablesDomain   = "posnode/tables/v1"
	stakesDomain   = "posnode/stakes/v1"
)

// accountLeafSize is the size of an account's leaf data: address | five u64 fields | slashed u8.
const accountLeafSize = len(Address{}) + 5*8 + 1

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
	accounts cowMap[Address, Account] // copy-on-write: clones share all but what each changed
	supply   Amount                   // every balance and stake plus fees in flight; bounds all sums
	epoch    Epoch                    // epoch of the last applied block (0 at genesis)
	// tables[i] is the stake table of epoch epoch+i, for i below the lag; the slice and the tables are
	// replaced, never modified in place.
	tables [][]Stake
	// tableRoots[i] is tableRoot(rootsOf[i]), set where tables is (rotate, Genesis.State): a table changes once an
	// epoch at most, so Root hashes it once, not at every block. A root is used only while tables[i] is the very
	// slice rootsOf[i] (tableRootCached), so a table replaced anywhere else is hashed afresh.
	tableRoots []Hash
	rootsOf    [][]Stake
	// tableIdx[i] is the index of rootsOf[i], set with tableRoots and valid under the same condition (tableIndex).
	tableIdx []stakeIndex
	// acct is the accounts tree as it was when settleRoot last ran (nil: never), and changed the addresses set
	// since then (stateroot.go); both are shared with clones and replaced, never modified in place.
	acct    *acctTree
	changed []Address
}

// Params returns the ledger rules the state follows.
func (s *State) Params() Params { return s.params }

// Epoch returns the epoch of the last applied block (0 at genesis).
func (s *State) Epoch() Epoch { return s.epoch }

// Supply returns the total of all tokens: it grows by BlockReward with every block.
func (s *State) Supply() Amount { return s.supply }

// Clone returns an independent copy of s. It shares the immutable stake tables and the accounts s shares with
// its own ancestors, and copies only the accounts changed since (cowMap), so it costs O(√accounts) amortized.
// It only reads s.
func (s *State) Clone() *State {
	c := *s
	c.accounts = s.accounts.clone()
	c.changed = slices.Clip(s.changed) // appends to the clone's list must not write into s's
	return &c
}

// Account returns a's account; the zero Account if a has never held tokens.
func (s *State) Account(a Address) Account { return s.accounts.at(a) }

// Accounts returns the number of accounts.
func (s *State) Accounts() int { return s.accounts.size() }

// Stakes returns the live stake table: every stake of at least MinStake (and above zero) of an account never
// slashed, sorted by address bytes (PROTOCOL.md §6, §8b).
func (s *State) Stakes() []Stake {
	var out []Stake
	for addr, acc := range s.accounts.all() {
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
	if e >= s.epoch && e-s.epoch < Epoch(len(s.tables)) {
		return slices.Clone(s.tables[e-s.epoch])
	}
	return s.table(e)
}

// table is Validators without the copy: a table s keeps is returned as it is, shared and never to be written.
func (s *State) table(e Epoch) []Stake {
	switch {
	case e < s.epoch:
		return nil
	case e-s.epoch < Epoch(len(s.tables)):
		return s.tables[e-s.epoch]
	default:
		return s.Stakes()
	}
}

// IsValidator reports whether a is in Validators(e), without copying a table.
func (s *State) IsValidator(e Epoch, a Address) bool {
	switch {
	case e < s.epoch:
		return false
	case e-s.epoch < Epoch(len(s.tables)):
		return s.inTableAt(int(e-s.epoch), a)
	default:
		acc := s.accounts.at(a)
		return acc.Stake > 0 && acc.Stake >= s.params.MinStake && !acc.Slashed
	}
}

// mayStake reports whether a is in one of s's stake tables or has live stake (at least MinStake) in s:
// whether a can be in the stake table of a child of s without staking again first (PROTOCOL.md §6).
func (s *State) mayStake(a Address) bool {
	for i := range s.tables { // first: a validator is found in one probe of a table's index
		if s.inTableAt(i, a) {
			return true
		}
	}
	acc := s.accounts.at(a)
	return acc.Stake > 0 && acc.Stake >= s.params.MinStake
}

// inTableAt reports whether a is in s.tables[i], by its index when the state keeps one.
func (s *State) inTableAt(i int, a Address) bool {
	if idx := s.tableIndex(i); idx != nil {
		_, ok := idx[a]
		return ok
	}
	return inTable(s.tables[i], a)
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
	roots := make([]Hash, n)
	idxs := make([]stakeIndex, n)
	for i := range n - int(d) {
		roots[i], idxs[i] = s.tableRootCached(i+int(d)), s.tableIndex(i+int(d))
		if idxs[i] == nil {
			idxs[i] = newStakeIndex(tables[i])
		}
	}
	if d > 0 {
		live := s.Stakes()
		liveRoot := tableRoot(live)
		live, liveIdx := indexedTable(live, liveRoot)
		for i := n - int(d); i < n; i++ {
			tables[i], roots[i], idxs[i] = live, liveRoot, liveIdx
		}
	}
	s.tables, s.tableRoots, s.rootsOf, s.tableIdx = tables, roots, tables, idxs
	s.epoch = e
	return nil
}

// Root returns the state root (PROTOCOL.md §4a): H("posnode/state/v4" | epoch u64 | tables root | accounts
// root), where the accounts root is the Merkle root of the accounts sorted by address and the tables root the
// Merkle root of the roots of the stake tables of epochs epoch, epoch+1 and epoch+2; so one account
// (AccountProof) and one stake table (StakeTableProof) are proven by a logarithmic path.
func (s *State) Root() Hash {
	return stateRootOf(s.epoch, s.tablesRoot(), s.accountsRoot())
}

// stateRootOf returns H("posnode/state/v4" | epoch u64 | tables root | accounts root).
func stateRootOf(e Epoch, tablesRoot, accountsRoot Hash) Hash {
	var buf [len(stateDomain) + 8 + 2*len(Hash{})]byte
	b := append(buf[:0], stateDomain...)
	b = binary.BigEndian.AppendUint64(b, uint64(e))
	b = append(b, tablesRoot[:]...)
	return sha256.Sum256(append(b, accountsRoot[:]...))
}

// accountLeaves returns the addresses sorted by their bytes and the leaf hash of each one's account.
func (s *State) accountLeaves() ([]Address, []Hash) {
	addrs := make([]Address, 0, s.accounts.size())
	for a := range s.accounts.all() {
		addrs = append(addrs, a)
	}
	slices.SortFunc(addrs, func(x, y Address) int { return bytes.Compare(x[:], y[:]) })
	leaves := make([]Hash, len(addrs))
	for i, a := range addrs {
		leaves[i] = accountLeaf(a, s.accounts.at(a))
	}
	return addrs, leaves
}

// accountLeaf returns H(0x00 | address [32] | balance u64 | stake u64 | nonce u64 | unbonding u64 |
// unbond_epoch u64 | slashed u8).
func accountLeaf(a Address, acc Account) Hash {
	var buf [accountLeafSize]byte
	b := append(buf[:0], a[:]...)
	b = binary.BigEndian.AppendUint64(b, uint64(acc.Balance))
	b = binary.BigEndian.AppendUint64(b, uint64(acc.Stake))
	b = binary.BigEndian.AppendUint64(b, uint64(acc.Nonce))
	b = binary.BigEndian.AppendUint64(b, uint64(acc.Unbonding))
	b = binary.BigEndian.AppendUint64(b, uint64(acc.UnbondEpoch))
	return merkleLeaf(append(b, boolByte(acc.Slashed)))
}

// tableRoot returns MerkleRoot("posnode/stakes/v1", entries), an entry's leaf being H(0x00 | address | stake u64).
func tableRoot(table []Stake) Hash {
	leaves := make([]Hash, len(table))
	var buf [len(Address{}) + 8]byte
	for i, st := range table {
		b := append(buf[:0], st.Addr[:]...)
		leaves[i] = merkleLeaf(binary.BigEndian.AppendUint64(b, uint64(st.Amount)))
	}
	return merkleRoot(stakesDomain, leaves)
}

// tableLeaves returns the leaves of the tables tree: H(0x00 | table root) of each table the state keeps.
func (s *State) tableLeaves() []Hash {
	leaves := make([]Hash, len(s.tables))
	for i := range s.tables {
		r := s.tableRootCached(i)
		leaves[i] = merkleLeaf(r[:])
	}
	return leaves
}

// derivedFromTable reports whether what the state keeps beside s.tables[i] (its root, its index) was computed for
// that very slice: rootsOf[i] is it.
func (s *State) derivedFromTable(i int) bool {
	t := s.tables[i]
	return i < len(s.rootsOf) && len(s.rootsOf[i]) == len(t) && (len(t) == 0 || &s.rootsOf[i][0] == &t[0])
}

// tableRootCached returns tableRoot(s.tables[i]), from tableRoots while the table is the one it was computed for.
func (s *State) tableRootCached(i int) Hash {
	if i < len(s.tableRoots) && s.derivedFromTable(i) {
		return s.tableRoots[i]
	}
	return tableRoot(s.tables[i])
}

// tablesRoot returns MerkleRoot("posnode/tables/v1", table roots).
func (s *State) tablesRoot() Hash { return merkleRoot(tablesDomain, s.tableLeaves()) }

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
