package chain

import (
	"encoding/binary"
	"errors"
	"fmt"
	"maps"
	"slices"
)

// The snapshot's large containers — accounts, stake tables, the tallies' maps, the kept epochs — are packed as runs
// of fixed-size records (version 2 of snapshotRecord; the kept epochs since version 3): encoding/gob writes a [32]byte address element by element, which made a
// snapshot of N accounts and validators cost thousands of reflective calls per rise. Each packed form is a count
// (u32, big-endian) and then its records, integers big-endian; its GobDecode refuses any other length.

// errPacked: a packed container of a snapshot has the wrong length.
var errPacked = errors.New("packed snapshot field has the wrong length")

// Sizes of the packed records.
const (
	packedStakeSize   = 32 + 8               // address | amount
	packedAccountSize = 32 + 5*8 + 1         // address | balance | stake | nonce | unbonding | unbond epoch | slashed
	packedVotedSize   = 32 + 8 + len(Hash{}) // address | checkpoint epoch | checkpoint hash
)

// stakeList is a stake table in a snapshot: address | amount, in the table's order.
type stakeList []Stake

// stakeTables are the stake tables of a state, each a stakeList.
type stakeTables [][]Stake

// accountMap is a state's accounts in a snapshot.
type accountMap map[Address]Account

// amountMap is a tally's stake per validator in a snapshot: address | amount.
type amountMap map[Address]Amount

// votedMap is a tally's counted vote per validator in a snapshot: address | source checkpoint.
type votedMap map[Address]Checkpoint

// oldTables are the kept epochs of a snapshot (version 3), each epoch's checkpoint and stake table. Consecutive
// epochs mostly have the same table, which version 2 wrote again for each (14 copies were 55 % of a 64-validator
// snapshot's bytes): this form writes each table once. Packed: n_tables u32 | n_tables × (n u32 | n × (address |
// amount u64)) | n_epochs u32 | n_epochs × (epoch u64 | checkpoint hash | table index u32), the epochs increasing.
// A table equal to the previous epoch's is written once; decoded, the epochs that name one table share its slice.
type oldTables map[Epoch]oldRecord

const packedOldSize = 8 + len(Hash{}) + 4 // epoch | checkpoint hash | table index

func (m oldTables) GobEncode() ([]byte, error) {
	epochs := slices.Sorted(maps.Keys(m))
	var tables []stakeList // distinct, in the order the epochs first name them
	index := make([]uint32, len(epochs))
	size := 8 + len(epochs)*packedOldSize
	for i, e := range epochs {
		t := m[e].Table
		if n := len(tables); n > 0 && sameTable(tables[n-1], t) {
			index[i] = uint32(n - 1)
			continue
		}
		index[i], tables = uint32(len(tables)), append(tables, t)
		size += 4 + len(t)*packedStakeSize
	}
	b := binary.BigEndian.AppendUint32(make([]byte, 0, size), uint32(len(tables)))
	for _, t := range tables {
		b = binary.BigEndian.AppendUint32(b, uint32(len(t)))
		for _, s := range t {
			b = binary.BigEndian.AppendUint64(append(b, s.Addr[:]...), uint64(s.Amount))
		}
	}
	b = binary.BigEndian.AppendUint32(b, uint32(len(epochs)))
	for i, e := range epochs {
		ckpt := m[e].Ckpt
		b = binary.BigEndian.AppendUint32(append(binary.BigEndian.AppendUint64(b, uint64(e)), ckpt[:]...), index[i])
	}
	return b, nil
}

// sameTable reports whether two stake tables are equal: at once when they are the same slice, as the tables of a
// tree's consecutive kept epochs are when equal (recordEpochs).
func sameTable(a, b stakeList) bool {
	return len(a) == len(b) && (len(a) == 0 || &a[0] == &b[0] || slices.Equal(a, b))
}

func (m *oldTables) GobDecode(b []byte) error {
	if len(b) < 4 {
		return fmt.Errorf("%w: %d bytes of kept epochs", errPacked, len(b))
	}
	nt, b := binary.BigEndian.Uint32(b), b[4:]
	var tables []stakeList
	for range nt {
		if len(b) < 4 || uint64(len(b)-4) < uint64(binary.BigEndian.Uint32(b))*packedStakeSize {
			return fmt.Errorf("%w: kept stake table in %d bytes", errPacked, len(b))
		}
		size := 4 + int(binary.BigEndian.Uint32(b))*packedStakeSize
		var t stakeList
		if err := t.GobDecode(b[:size]); err != nil {
			return err
		}
		tables, b = append(tables, t), b[size:]
	}
	n, rest, err := unpackHead(b, packedOldSize)
	if err != nil {
		return err
	}
	*m = make(oldTables, n)
	for i := range n {
		r := rest[i*packedOldSize:]
		e, t := Epoch(binary.BigEndian.Uint64(r)), binary.BigEndian.Uint32(r[8+len(Hash{}):])
		if uint64(t) >= uint64(len(tables)) {
			return fmt.Errorf("%w: kept epoch %d names table %d of %d", errPacked, e, t, len(tables))
		}
		(*m)[e] = oldRecord{Ckpt: Hash(r[8 : 8+len(Hash{})]), Table: tables[t]}
	}
	return nil
}

// packHead returns a buffer for n records of size bytes, its count written.
func packHead(n, size int) []byte {
	return binary.BigEndian.AppendUint32(make([]byte, 0, 4+n*size), uint32(n))
}

// unpackHead returns the record count of b and its records, checking that b holds exactly that many of size.
func unpackHead(b []byte, size int) (int, []byte, error) {
	if len(b) < 4 {
		return 0, nil, fmt.Errorf("%w: %d bytes", errPacked, len(b))
	}
	n, rest := binary.BigEndian.Uint32(b), b[4:]
	if uint64(len(rest)) != uint64(n)*uint64(size) {
		return 0, nil, fmt.Errorf("%w: %d records in %d bytes", errPacked, n, len(rest))
	}
	return int(n), rest, nil
}

func (l stakeList) GobEncode() ([]byte, error) {
	b := packHead(len(l), packedStakeSize)
	for _, s := range l {
		b = binary.BigEndian.AppendUint64(append(b, s.Addr[:]...), uint64(s.Amount))
	}
	return b, nil
}

func (l *stakeList) GobDecode(b []byte) error {
	n, rest, err := unpackHead(b, packedStakeSize)
	if err != nil {
		return err
	}
	*l = make(stakeList, n)
	for i := range *l {
		r := rest[i*packedStakeSize:]
		(*l)[i] = Stake{Addr: Address(r[:32]), Amount: Amount(binary.BigEndian.Uint64(r[32:]))}
	}
	return nil
}

func (ts stakeTables) GobEncode() ([]byte, error) {
	var b []byte
	b = binary.BigEndian.AppendUint32(b, uint32(len(ts)))
	for _, t := range ts {
		p, _ := stakeList(t).GobEncode()
		b = append(binary.BigEndian.AppendUint32(b, uint32(len(p))), p...)
	}
	return b, nil
}

func (ts *stakeTables) GobDecode(b []byte) error {
	if len(b) < 4 {
		return fmt.Errorf("%w: %d bytes", errPacked, len(b))
	}
	n, b := binary.BigEndian.Uint32(b), b[4:]
	out := stakeTables{}
	for range n {
		if len(b) < 4 || uint64(len(b)-4) < uint64(binary.BigEndian.Uint32(b)) {
			return fmt.Errorf("%w: stake table of %d bytes", errPacked, len(b))
		}
		size := binary.BigEndian.Uint32(b)
		var l stakeList
		if err := l.GobDecode(b[4 : 4+size]); err != nil {
			return err
		}
		out, b = append(out, l), b[4+size:]
	}
	if len(b) != 0 {
		return fmt.Errorf("%w: %d bytes after the stake tables", errPacked, len(b))
	}
	*ts = out
	return nil
}

func (m accountMap) GobEncode() ([]byte, error) {
	b := packHead(len(m), packedAccountSize)
	for a, acc := range m {
		b = append(b, a[:]...)
		for _, v := range [5]uint64{uint64(acc.Balance), uint64(acc.Stake), uint64(acc.Nonce), uint64(acc.Unbonding),
			uint64(acc.UnbondEpoch)} {
			b = binary.BigEndian.AppendUint64(b, v)
		}
		b = append(b, boolByte(acc.Slashed))
	}
	return b, nil
}

func (m *accountMap) GobDecode(b []byte) error {
	n, rest, err := unpackHead(b, packedAccountSize)
	if err != nil {
		return err
	}
	*m = make(accountMap, n)
	for i := range n {
		r := rest[i*packedAccountSize:]
		u := func(k int) uint64 { return binary.BigEndian.Uint64(r[32+8*k:]) }
		if r[72] > 1 {
			return fmt.Errorf("%w: slashed flag %d", errPacked, r[72])
		}
		(*m)[Address(r[:32])] = Account{Balance: Amount(u(0)), Stake: Amount(u(1)), Nonce: Nonce(u(2)),
			Unbonding: Amount(u(3)), UnbondEpoch: Epoch(u(4)), Slashed: r[72] == 1}
	}
	return nil
}

func (m amountMap) GobEncode() ([]byte, error) {
	b := packHead(len(m), packedStakeSize)
	for a, v := range m {
		b = binary.BigEndian.AppendUint64(append(b, a[:]...), uint64(v))
	}
	return b, nil
}

func (m *amountMap) GobDecode(b []byte) error {
	n, rest, err := unpackHead(b, packedStakeSize)
	if err != nil {
		return err
	}
	*m = make(amountMap, n)
	for i := range n {
		r := rest[i*packedStakeSize:]
		(*m)[Address(r[:32])] = Amount(binary.BigEndian.Uint64(r[32:]))
	}
	return nil
}

func (m votedMap) GobEncode() ([]byte, error) {
	b := packHead(len(m), packedVotedSize)
	for a, c := range m {
		b = append(binary.BigEndian.AppendUint64(append(b, a[:]...), uint64(c.Epoch)), c.Hash[:]...)
	}
	return b, nil
}

func (m *votedMap) GobDecode(b []byte) error {
	n, rest, err := unpackHead(b, packedVotedSize)
	if err != nil {
		return err
	}
	*m = make(votedMap, n)
	for i := range n {
		r := rest[i*packedVotedSize:]
		(*m)[Address(r[:32])] = Checkpoint{Epoch: Epoch(binary.BigEndian.Uint64(r[32:])), Hash: Hash(r[40:72])}
	}
	return nil
}
