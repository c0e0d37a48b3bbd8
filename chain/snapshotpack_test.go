package chain

import (
	"bytes"
	"encoding/gob"
	"errors"
	"reflect"
	"slices"
	"testing"
)

// downgrade returns r as version 1 wrote it: every container a plain map or slice.
func downgrade(r snapshotRecord) snapshotRecordV1 {
	tally := func(t *tallyRecord) *tallyRecordV1 {
		if t == nil {
			return nil
		}
		return &tallyRecordV1{Target: t.Target, Stake: t.Stake, Total: t.Total, Voted: t.Voted, Links: t.Links}
	}
	v1 := snapshotRecordV1{Version: 1, Floor: r.Floor, Stubs: r.Stubs, Epoch: r.Epoch, Supply: r.Supply,
		Tables: r.Tables, Accounts: r.Accounts, Oldest: r.Oldest}
	v1.Fin.Justified, v1.Fin.Finalized, v1.Fin.JustifiedAll = r.Fin.Justified, r.Fin.Finalized, r.Fin.JustifiedAll
	v1.Fin.Cur, v1.Fin.Prev, v1.Fin.Slashed = tally(r.Fin.Cur), tally(r.Fin.Prev), r.Fin.Slashed
	v1.Old = map[Epoch]struct {
		Ckpt  Hash
		Table []Stake
	}{}
	for e, o := range r.Old {
		v1.Old[e] = struct {
			Ckpt  Hash
			Table []Stake
		}{o.Ckpt, o.Table}
	}
	return v1
}

// TestSnapshotVersions: a tree's floor snapshot decodes to the record it encoded, and so does the same record as
// version 2 wrote it (the kept epochs a gob map) and as version 1 wrote it (plain gob maps); a store holding a
// version-2 or version-1 snapshot reopens to the same head and state.
func TestSnapshotVersions(t *testing.T) {
	g := richGenesis()
	blocks := finalChain(t, g, 60)
	s := NewMemStore()
	tr := reopen(t, g, s, 0)
	for _, b := range blocks {
		feed(t, tr, s, b)
	}
	want := tr.floorRecord()
	if len(want.Accounts) == 0 || len(want.Tables) == 0 || want.Fin.Cur == nil || len(want.Fin.Cur.Stake) == 0 {
		t.Fatalf("floor record at height %d holds %d accounts, %d tables: want a risen floor with a tally",
			want.Floor.Header.Height, len(want.Accounts), len(want.Tables))
	}
	got, err := decodeSnapshot(tr.encodeSnapshot())
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("version 3: got %+v, %v; want %+v", got, err, want)
	}
	var v2 bytes.Buffer
	if err := gob.NewEncoder(&v2).Encode(snapshotRecordV2{Version: 2, Floor: want.Floor, Stubs: want.Stubs,
		Epoch: want.Epoch, Supply: want.Supply, Tables: want.Tables, Accounts: want.Accounts, Fin: want.Fin,
		Old: want.Old, Oldest: want.Oldest}); err != nil {
		t.Fatal(err)
	}
	want2 := want
	want2.Version = 2
	if got, err = decodeSnapshot(v2.Bytes()); err != nil || !reflect.DeepEqual(got, want2) {
		t.Fatalf("version 2: got %+v, %v; want %+v", got, err, want2)
	}
	if err := s.Finalize(&Finalization{Snapshot: v2.Bytes()}); err != nil {
		t.Fatal(err)
	}
	if tr2 := reopen(t, g, s, 0); tr2.Head() != tr.Head() || tr2.HeadState().Root() != tr.HeadState().Root() {
		t.Fatalf("reopened from version 2: head %d %s, want %d %s", tr2.Head().Height, tr2.Head().Hash.Short(),
			tr.Head().Height, tr.Head().Hash.Short())
	}
	var buf bytes.Buffer
	if err := gob.NewEncoder(&buf).Encode(downgrade(want)); err != nil {
		t.Fatal(err)
	}
	got, err = decodeSnapshot(buf.Bytes())
	want.Version = 1
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("version 1: got %+v, %v; want %+v", got, err, want)
	}
	if err := s.Finalize(&Finalization{Snapshot: buf.Bytes()}); err != nil {
		t.Fatal(err)
	}
	tr2 := reopen(t, g, s, 0)
	if tr2.Head() != tr.Head() || tr2.HeadState().Root() != tr.HeadState().Root() {
		t.Fatalf("reopened from version 1: head %d %s, want %d %s", tr2.Head().Height, tr2.Head().Hash.Short(),
			tr.Head().Height, tr.Head().Hash.Short())
	}
}

// TestPackedLengths: a packed container whose length does not match its count is refused, whatever its type.
func TestPackedLengths(t *testing.T) {
	a := Address{7}
	goods := map[string]interface {
		GobEncode() ([]byte, error)
	}{
		"stakes":   stakeList{{a, 5}, {Address{8}, 6}},
		"tables":   stakeTables{{{a, 5}}, {}},
		"accounts": accountMap{a: {Balance: 1, Stake: 2, Nonce: 3, Unbonding: 4, UnbondEpoch: 5, Slashed: true}},
		"amounts":  amountMap{a: 9},
		"voted":    votedMap{a: {Epoch: 3, Hash: Hash{1}}},
		"old": oldTables{4: {Ckpt: Hash{4}, Table: stakeList{{a, 5}}}, 5: {Ckpt: Hash{5}, Table: stakeList{{a, 5}}},
			6: {Ckpt: Hash{6}, Table: stakeList{{a, 6}, {Address{8}, 1}}}, 7: {Ckpt: Hash{7}, Table: stakeList{}}},
	}
	decoders := map[string]func() interface{ GobDecode([]byte) error }{
		"stakes":   func() interface{ GobDecode([]byte) error } { return new(stakeList) },
		"tables":   func() interface{ GobDecode([]byte) error } { return new(stakeTables) },
		"accounts": func() interface{ GobDecode([]byte) error } { return new(accountMap) },
		"amounts":  func() interface{ GobDecode([]byte) error } { return new(amountMap) },
		"voted":    func() interface{ GobDecode([]byte) error } { return new(votedMap) },
		"old":      func() interface{ GobDecode([]byte) error } { return new(oldTables) },
	}
	for name, v := range goods {
		b, _ := v.GobEncode()
		d := decoders[name]()
		if err := d.GobDecode(b); err != nil {
			t.Fatalf("%s: decode of its own encoding: %v", name, err)
		}
		if got := reflect.ValueOf(d).Elem().Interface(); !reflect.DeepEqual(got, v) {
			t.Errorf("%s: got %v, want %v", name, got, v)
		}
		for _, bad := range [][]byte{nil, b[:len(b)-1], append(append([]byte{}, b...), 0)} {
			if err := decoders[name]().GobDecode(bad); !errors.Is(err, errPacked) {
				t.Errorf("%s of %d bytes (of %d): got %v, want errPacked", name, len(bad), len(b), err)
			}
		}
	}
}

// TestOldTablesOnce: kept epochs whose stake tables repeat write each run of equal tables once, and decode to
// epochs that share one table; an epoch that names a table the encoding lacks is refused.
func TestOldTablesOnce(t *testing.T) {
	table := make(stakeList, 64)
	for i := range table {
		table[i] = Stake{Addr: Address{byte(i)}, Amount: Amount(1000 + i)}
	}
	changed := slices.Clone(table)
	changed[3].Amount++
	old := oldTables{}
	for e := Epoch(1); e <= 14; e++ {
		tb := table
		switch {
		case e == 9:
			tb = changed
		case e > 9:
			tb = slices.Clone(table) // equal, not the same slice
		}
		old[e] = oldRecord{Ckpt: Hash{byte(e)}, Table: tb}
	}
	b, _ := old.GobEncode()
	if want := 4 + 3*(4+64*packedStakeSize) + 4 + 14*packedOldSize; len(b) != want {
		t.Errorf("got %d bytes for 14 epochs of 3 runs of one table, want %d", len(b), want)
	}
	var got oldTables
	if err := got.GobDecode(b); err != nil || !reflect.DeepEqual(got, old) {
		t.Fatalf("decode: got %v, %v; want the epochs encoded", got, err)
	}
	if &got[1].Table[0] != &got[8].Table[0] || &got[10].Table[0] != &got[14].Table[0] {
		t.Error("decoded epochs of one written table do not share it")
	}
	bad := slices.Clone(b)
	bad[len(bad)-1] = 3 // the last epoch names table 3 of 3
	if err := new(oldTables).GobDecode(bad); !errors.Is(err, errPacked) {
		t.Errorf("an epoch naming a missing table: got %v, want errPacked", err)
	}
}
