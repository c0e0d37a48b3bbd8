package chain

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/bits"
	"os"
	"path/filepath"
	"slices"
	"time"
)

// MinSlotDuration is the shortest slot a genesis may set (PROTOCOL.md §5).
const MinSlotDuration = 10 * time.Millisecond

// genesisDomain separates the genesis hash from every other hash.
const genesisDomain = "posnode/genesis/v2"

// Duration is a time.Duration written in JSON as a Go duration string ("1s", "250ms").
type Duration time.Duration

// String returns the duration as Go writes it ("1s").
func (d Duration) String() string { return time.Duration(d).String() }

// MarshalJSON writes the duration as a string.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(d.String()) }

// UnmarshalJSON reads a duration string such as "1s" or "250ms".
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("%w: duration must be a string such as \"1s\"", ErrBadGenesis)
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("%w: duration %q: %w", ErrBadGenesis, s, err)
	}
	*d = Duration(v)
	return nil
}

// Allocation is an account's holdings at genesis.
type Allocation struct {
	Address Address `json:"address"`
	Balance Amount  `json:"balance"`
	Stake   Amount  `json:"stake"`
}

// Genesis fixes a network: its parameters and initial accounts (PROTOCOL.md §5). Its hash is the
// chain ID that every signature commits to.
type Genesis struct {
	ChainID      string       `json:"chain_id"`
	Time         time.Time    `json:"genesis_time"`        // RFC 3339; hashed as unix milliseconds
	SlotDuration Duration     `json:"slot_duration"`       // JSON "1s", "250ms"
	EpochLength  uint64       `json:"epoch_length"`        // slots per epoch
	BlockReward  Amount       `json:"block_reward"`        // minted to each block's proposer
	MinStake     Amount       `json:"min_stake"`           // stake below this is not in the stake table
	TxFee        Amount       `json:"tx_fee"`              // minimum fee per transaction
	SeedRule     SeedRule     `json:"seed_rule,omitempty"` // lottery seed rule; empty means "randao"
	Allocations  []Allocation `json:"allocations"`
}

// SeedRule names how the lottery seed of a slot is derived (PROTOCOL.md §6).
type SeedRule string

// The seed rules a genesis can choose.
const (
	// SeedRANDAO seeds epoch e's lottery with the RANDAO mix of the last block before epoch e−1: the
	// proposers' VRF outputs, which nobody can grind. The default of every new network.
	SeedRANDAO SeedRule = "randao"
	// SeedParentHash seeds each slot's lottery with the parent block's hash, as the tutorial did. The
	// proposer chooses that hash and so can grind the next slot's winner; it is kept for study (PROTOCOL.md §9).
	SeedParentHash SeedRule = "parent-hash"
)

// Rule returns g's seed rule, SeedRANDAO when the field is empty.
func (g *Genesis) Rule() SeedRule {
	if g.SeedRule == "" {
		return SeedRANDAO
	}
	return g.SeedRule
}

// LoadGenesis reads and validates a genesis file. Unknown fields are an error.
func LoadGenesis(path string) (*Genesis, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read genesis: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var g Genesis
	if err := dec.Decode(&g); err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrBadGenesis, path, err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%w: %s: data after the genesis object", ErrBadGenesis, path)
	}
	if err := g.Validate(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &g, nil
}

// Save validates g and writes it as indented JSON to path, atomically: a crash leaves either the
// old file or the new one.
func (g *Genesis) Save(path string) error {
	if err := g.Validate(); err != nil {
		return err
	}
	data, err := json.MarshalIndent(g, "", "  ")
	if err != nil {
		return fmt.Errorf("encode genesis: %w", err)
	}
	return writeFileAtomic(path, append(data, '\n'))
}

// writeFileAtomic writes data to a temporary file next to path, syncs it and renames it over path.
func writeFileAtomic(path string, data []byte) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	tmp := f.Name()
	defer os.Remove(tmp) // fails harmlessly once renamed
	if _, err := f.Write(data); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("sync %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("close %s: %w", path, err)
	}
	if err := os.Chmod(tmp, 0o644); err != nil {
		return fmt.Errorf("chmod %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("rename %s: %w", path, err)
	}
	if d, err := os.Open(dir); err == nil { // make the rename durable where the OS allows it
		d.Sync()
		d.Close()
	}
	return nil
}

// RewardHorizon is how many blocks of rewards a valid genesis must be able to mint without its
// supply leaving the range of a uint64 (PROTOCOL.md §5): 2^32 blocks, 136 years of 1-second slots.
const RewardHorizon = 1 << 32

// Validate checks the rules of PROTOCOL.md §5: a chain ID, slots of at least 10ms, epochs of at
// least one slot, a known seed rule, non-zero and unique addresses that are not small-order keys, some stake of
// at least MinStake, and a total supply that still fits in a uint64 after RewardHorizon block rewards. Every sum
// the ledger makes (balances, stakes, fees, the stake table's total) is part of the supply, so none of them can
// overflow before that. Errors wrap ErrBadGenesis.
func (g *Genesis) Validate() error {
	switch {
	case g.ChainID == "":
		return fmt.Errorf("%w: empty chain_id", ErrBadGenesis)
	case time.Duration(g.SlotDuration) < MinSlotDuration:
		return fmt.Errorf("%w: slot_duration %s below %s", ErrBadGenesis, g.SlotDuration, MinSlotDuration)
	case g.EpochLength < 1:
		return fmt.Errorf("%w: epoch_length must be at least 1", ErrBadGenesis)
	case g.Rule() != SeedRANDAO && g.Rule() != SeedParentHash:
		return fmt.Errorf("%w: seed_rule %q, want %q or %q", ErrBadGenesis, g.SeedRule, SeedRANDAO, SeedParentHash)
	}
	seen := make(map[Address]struct{}, len(g.Allocations))
	var supply Amount
	staked := false
	for i, a := range g.Allocations {
		if a.Address.IsZero() {
			return fmt.Errorf("%w: allocation %d has the zero address", ErrBadGenesis, i)
		}
		if a.Address.IsSmallOrder() {
			return fmt.Errorf("%w: allocation %d: %s is a small-order key, which anyone can sign for", ErrBadGenesis, i, a.Address)
		}
		if _, dup := seen[a.Address]; dup {
			return fmt.Errorf("%w: address %s allocated twice", ErrBadGenesis, a.Address)
		}
		seen[a.Address] = struct{}{}
		var ok1, ok2 bool
		supply, ok1 = addAmount(supply, a.Balance)
		supply, ok2 = addAmount(supply, a.Stake)
		if !ok1 || !ok2 {
			return fmt.Errorf("%w: %w: total supply exceeds %d", ErrBadGenesis, ErrOverflow, uint64(math.MaxUint64))
		}
		staked = staked || (a.Stake > 0 && a.Stake >= g.MinStake)
	}
	if !staked {
		return fmt.Errorf("%w: no allocation stakes at least min_stake %d", ErrBadGenesis, g.MinStake)
	}
	return checkRewardHorizon(supply, g.BlockReward)
}

// checkRewardHorizon reports whether supply + RewardHorizon × reward fits in a uint64.
func checkRewardHorizon(supply, reward Amount) error {
	hi, minted := bits.Mul64(uint64(reward), RewardHorizon)
	if _, ok := addAmount(supply, Amount(minted)); hi != 0 || !ok {
		return fmt.Errorf("%w: %w: supply %d plus 2^32 block rewards of %d exceeds %d",
			ErrBadGenesis, ErrOverflow, supply, reward, uint64(math.MaxUint64))
	}
	return nil
}

// Hash returns the chain ID of the network (PROTOCOL.md §5): SHA-256("posnode/genesis/v2" |
// encoding), where the encoding is u32 len | chain_id | time as i64 unix ms | slot duration as i64
// ns | epoch length u64 | block reward u64 | min stake u64 | tx fee u64 | u32 len | seed rule (never
// empty: "randao" when the field is) | u32 count | allocations
// (address [32] | balance u64 | stake u64) sorted by address bytes. Integers are big-endian.
func (g *Genesis) Hash() Hash {
	b := make([]byte, 0, 128+len(g.ChainID)+len(g.Allocations)*48)
	b = append(b, genesisDomain...)
	b = binary.BigEndian.AppendUint32(b, uint32(len(g.ChainID)))
	b = append(b, g.ChainID...)
	b = binary.BigEndian.AppendUint64(b, uint64(g.Time.UnixMilli()))
	b = binary.BigEndian.AppendUint64(b, uint64(g.SlotDuration))
	b = binary.BigEndian.AppendUint64(b, g.EpochLength)
	b = binary.BigEndian.AppendUint64(b, uint64(g.BlockReward))
	b = binary.BigEndian.AppendUint64(b, uint64(g.MinStake))
	b = binary.BigEndian.AppendUint64(b, uint64(g.TxFee))
	rule := g.Rule()
	b = binary.BigEndian.AppendUint32(b, uint32(len(rule)))
	b = append(b, rule...)
	allocs := slices.Clone(g.Allocations)
	slices.SortFunc(allocs, func(x, y Allocation) int { return bytes.Compare(x.Address[:], y.Address[:]) })
	b = binary.BigEndian.AppendUint32(b, uint32(len(allocs)))
	for _, a := range allocs {
		b = append(b, a.Address[:]...)
		b = binary.BigEndian.AppendUint64(b, uint64(a.Balance))
		b = binary.BigEndian.AppendUint64(b, uint64(a.Stake))
	}
	return HashBytes(b)
}

// Tip returns the virtual genesis block's fork-choice summary: block 1's Parent is its hash, and its
// Mix is GenesisMix of that hash (PROTOCOL.md §6).
func (g *Genesis) Tip() Tip {
	h := g.Hash()
	return Tip{Hash: h, Height: 0, Slot: 0, Mix: GenesisMix(h)}
}

// EpochOf returns the epoch of slot s: s / EpochLength (PROTOCOL.md §2).
func (g *Genesis) EpochOf(s Slot) Epoch { return epochOf(s, g.EpochLength) }

// epochOf divides s by length, reading a zero length (an invalid genesis) as 1 rather than panicking.
func epochOf(s Slot, length uint64) Epoch {
	if length == 0 {
		length = 1
	}
	return Epoch(uint64(s) / length)
}

// Params returns the ledger parameters g fixes.
func (g *Genesis) Params() Params {
	return Params{TxFee: g.TxFee, BlockReward: g.BlockReward, MinStake: g.MinStake, EpochLength: g.EpochLength}
}

// State returns the state at height 0: the allocations, epoch 0, and the genesis stakes as the stake
// table of epochs 0, 1 and 2 (PROTOCOL.md §5, §6). g should be valid. The state is the caller's; with a StateMemo
// installed (ShareStates) it is a clone of one state per genesis hash, its accounts and their root computed once.
func (g *Genesis) State() *State {
	m := stateMemo.Load()
	if m == nil {
		return g.newState()
	}
	h := g.Hash()
	m.mu.Lock()
	st, ok := m.genesis[h]
	m.mu.Unlock()
	if !ok {
		st = g.newState()
		st.settleRoot() // before any clone: the clones share the accounts tree
		m.mu.Lock()
		if first, ok := m.genesis[h]; ok {
			st = first
		} else {
			m.genesis[h] = st
		}
		m.mu.Unlock()
	}
	return st.Clone()
}

// newState builds the state at height 0 afresh.
func (g *Genesis) newState() *State {
	s := &State{params: g.Params()}
	accounts := make(map[Address]Account, len(g.Allocations))
	for _, a := range g.Allocations {
		if a.Balance == 0 && a.Stake == 0 {
			continue
		}
		accounts[a.Address] = Account{Balance: a.Balance, Stake: a.Stake}
		s.supply += a.Balance + a.Stake // Validate ensures the sum fits
	}
	s.accounts = cowMapOf(accounts)
	s.tables = make([][]Stake, tableLag)
	live := s.Stakes()
	root := tableRoot(live)
	live, idx := indexedTable(live, root)
	s.tableRoots, s.tableIdx = make([]Hash, tableLag), make([]stakeIndex, tableLag)
	for i := range s.tables {
		s.tables[i], s.tableRoots[i], s.tableIdx[i] = live, root, idx
	}
	s.rootsOf = s.tables
	return s
}
