package consensus

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/bits"
	"slices"
	"sort"

	"github.com/posnode/posnode/chain"
)

// Stake table errors.
var (
	// ErrDuplicateValidator: a stake table lists the same address more than once.
	ErrDuplicateValidator = errors.New("duplicate validator")
	// ErrStakeOverflow: the stakes of a table sum to more than 2^64-1 tokens.
	ErrStakeOverflow = errors.New("stake overflow")
)

// Seed returns the lottery seed of a slot: SHA-256(source[32] ‖ slot as u64 big-endian), where source is
// what the genesis seed rule takes from the parent's chain — the RANDAO mix at the end of epoch(slot) − 2, or
// the parent's hash (chain.Tree.SeedSource, PROTOCOL.md §6).
func Seed(source chain.Hash, slot chain.Slot) chain.Hash {
	var buf [len(source) + 8]byte
	copy(buf[:], source[:])
	binary.BigEndian.PutUint64(buf[len(source):], uint64(slot))
	return sha256.Sum256(buf[:])
}

// Table is a stake table prepared for the lottery: validators with non-zero stake, sorted by the
// raw bytes of their addresses, with cumulative stakes. Its memory grows with the number of
// validators, never with the number of tokens. The zero Table is empty. A Table is immutable and
// safe to share.
type Table struct {
	addrs []chain.Address
	cum   []uint64 // cum[i] = stake of addrs[0] + … + stake of addrs[i]
}

// NewTable builds the lottery table of a stake table (PROTOCOL.md §6). Zero stakes are dropped.
// Input sorted by address, as the ledger returns it, is used in O(n); other input is sorted first.
// The input slice is never modified. A duplicate address or a total above 2^64-1 is an error.
func NewTable(stakes []chain.Stake) (Table, error) {
	if !slices.IsSortedFunc(stakes, compareStakes) {
		stakes = slices.Clone(stakes)
		slices.SortFunc(stakes, compareStakes)
	}
	n := 0
	for _, s := range stakes {
		if s.Amount > 0 {
			n++
		}
	}
	t := Table{addrs: make([]chain.Address, 0, n), cum: make([]uint64, 0, n)}
	var total, carry uint64
	for _, s := range stakes {
		if s.Amount == 0 {
			continue
		}
		if k := len(t.addrs); k > 0 && t.addrs[k-1] == s.Addr {
			return Table{}, fmt.Errorf("%w: %s", ErrDuplicateValidator, s.Addr)
		}
		total, carry = bits.Add64(total, uint64(s.Amount), 0)
		if carry != 0 {
			return Table{}, fmt.Errorf("%w: total exceeds 2^64-1 at %s", ErrStakeOverflow, s.Addr)
		}
		t.addrs = append(t.addrs, s.Addr)
		t.cum = append(t.cum, total)
	}
	return t, nil
}

// compareStakes orders stakes by the raw bytes of their addresses.
func compareStakes(a, b chain.Stake) int { return bytes.Compare(a.Addr[:], b.Addr[:]) }

// Len returns the number of validators with non-zero stake.
func (t Table) Len() int { return len(t.addrs) }

// Total returns the sum of all stakes.
func (t Table) Total() chain.Amount {
	if len(t.cum) == 0 {
		return 0
	}
	return chain.Amount(t.cum[len(t.cum)-1])
}

// Validators returns a copy of the table's entries, sorted by address bytes.
func (t Table) Validators() []chain.Stake {
	out := make([]chain.Stake, len(t.addrs))
	var prev uint64
	for i, a := range t.addrs {
		out[i] = chain.Stake{Addr: a, Amount: chain.Amount(t.cum[i] - prev)}
		prev = t.cum[i]
	}
	return out
}

// Pick returns the lottery winner for seed: the first validator whose cumulative stake exceeds a
// uniform draw r in [0, Total()), so a validator wins with probability stake/total exactly
// (PROTOCOL.md §6). It runs in O(log n) and does not allocate. It reports false for an empty table.
func (t Table) Pick(seed chain.Hash) (chain.Address, bool) {
	if len(t.cum) == 0 {
		return chain.Address{}, false
	}
	r := draw(seed, uint64(t.Total()))
	i := sort.Search(len(t.cum), func(i int) bool { return t.cum[i] > r })
	return t.addrs[i], true
}

// draw returns an integer in [0, total) derived from seed, uniform without modulo bias, for
// total ≥ 1 (PROTOCOL.md §6): for ctr = 0, 1, 2, …, x is the big-endian u64 of the first 8 bytes
// of SHA-256(seed ‖ ctr as u64 big-endian); the first x below total·floor(2^64/total) gives
// x mod total. Each candidate is rejected with probability below total/2^64 ≤ 1/2.
func draw(seed chain.Hash, total uint64) uint64 {
	top := acceptMax(total)
	var buf [len(seed) + 8]byte
	copy(buf[:], seed[:])
	for ctr := uint64(0); ; ctr++ {
		binary.BigEndian.PutUint64(buf[len(seed):], ctr)
		sum := sha256.Sum256(buf[:])
		if x := binary.BigEndian.Uint64(sum[:8]); x <= top {
			return x % total
		}
	}
}

// acceptMax returns the largest accepted candidate, total·floor(2^64/total) − 1, for total ≥ 1.
// In uint64 arithmetic -total%total is 2^64 mod total, so the product never has to be formed.
func acceptMax(total uint64) uint64 { return math.MaxUint64 - (-total % total) }

// Leader returns the lottery winner of slot for a stake table and the slot's seed source (PROTOCOL.md §6).
// It reports false when the table is empty or invalid. Its signature is chain.Elector's.
func Leader(stakes []chain.Stake, source chain.Hash, slot chain.Slot) (chain.Address, bool) {
	t, err := NewTable(stakes)
	if err != nil {
		return chain.Address{}, false
	}
	return t.Pick(Seed(source, slot))
}
