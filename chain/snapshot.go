package chain

import (
	"bytes"
	"encoding/gob"
	"fmt"
	"sync"
)

// State snapshots (PROTOCOL.md §13): the store keeps one, of the tree's floor, replaced in the write that raises
// the floor (Store.Finalize). It is a local record, never sent to a peer: encoding/gob of snapshotRecord. OpenTree
// loads it as the floor, checks the state against the floor header's state root, and replays the blocks above it.

// snapshotVersion is the version of snapshotRecord. Versions 1 and 2 (snapshotRecordV1, snapshotRecordV2) are
// still read; a store with another version fails to open with ErrCorruptStore.
const snapshotVersion = 3

// snapshotRecord is the stored form of the tree's floor; its large containers are packed (snapshotpack.go).
type snapshotRecord struct {
	Version  int
	Floor    stubRecord   // the floor block
	Stubs    []stubRecord // its lastBefore ancestors, newest first (floorStubs at most)
	Epoch    Epoch        // the floor's state: epoch, supply, stake tables, accounts
	Supply   Amount
	Tables   stakeTables
	Accounts accountMap
	Fin      finRecord // the floor branch's finality after the floor
	Old      oldTables // the kept epochs: each one's checkpoint and stake table, each distinct table once
	Oldest   Height
}

type stubRecord struct {
	Header Header
	Mix    Hash
}

type oldRecord struct {
	Ckpt  Hash
	Table stakeList
}

type finRecord struct {
	Justified, Finalized Checkpoint
	JustifiedAll         []Checkpoint
	Cur, Prev            *tallyRecord
	Slashed              []Address
}

type tallyRecord struct {
	Target Checkpoint
	Stake  amountMap
	Total  Amount
	Voted  votedMap
	Links  map[Checkpoint]Amount
}

func tallyOut(t *epochTally) *tallyRecord {
	if t == nil {
		return nil
	}
	return &tallyRecord{Target: t.target, Stake: amountMap(t.stake), Total: t.total, Voted: t.voted.flat(), Links: t.links}
}

func tallyIn(r *tallyRecord) *epochTally {
	if r == nil {
		return nil
	}
	t := &epochTally{target: r.Target, stake: stakeIndex(r.Stake), total: r.Total, voted: cowMapOf(map[Address]Checkpoint(r.Voted)),
		links: r.Links}
	if t.stake == nil {
		t.stake = map[Address]Amount{}
	}
	if t.links == nil {
		t.links = map[Checkpoint]Amount{}
	}
	return t
}

// encodeSnapshot returns the snapshot of the tree's floor.
func (t *Tree) encodeSnapshot() []byte {
	if m := stateMemo.Load(); m != nil {
		return m.snapshot(t)
	}
	r := t.floorRecord()
	return encodeRecord(&r)
}

// A gob stream describes each type before the first value of it; a fresh encoder, as a snapshot needs, sends the
// descriptions and grows its buffers from nothing at every rise, a tenth of the simulator's 64-process run. A
// snapEncoder has sent them already, in a warm-up value: its output for a record is only the record's message,
// and a snapshot is snapTypes, the descriptions a fresh encoder sends, followed by it — the very bytes a fresh
// encoder writes. Its gob buffer keeps its room from one snapshot to the next.
type snapEncoder struct {
	enc  *gob.Encoder
	out  bytes.Buffer // the snapshot being written
	last int          // the length of the last one: the next is about as long
}

var (
	snapTypes []byte    // the type descriptions a fresh encoder writes before a snapshotRecord
	snapPool  sync.Pool // of warm *snapEncoder; nil New: warmSnapEncoder makes one
	snapOnce  sync.Once
)

// warmSnapEncoder returns a snapEncoder that has written a snapshotRecord, and the descriptions it wrote first.
func warmSnapEncoder() (*snapEncoder, []byte) {
	e := &snapEncoder{}
	e.enc = gob.NewEncoder(&e.out)
	mustEncode(e.enc, &snapshotRecord{})
	first := bytes.Clone(e.out.Bytes())
	e.out.Reset()
	mustEncode(e.enc, &snapshotRecord{})
	if !bytes.HasSuffix(first, e.out.Bytes()) { // a value's message is the same with or without descriptions
		panic("chain: gob wrote a snapshot record's message differently after its type descriptions")
	}
	return e, first[:len(first)-e.out.Len()]
}

// encodeRecord returns the gob encoding of r as a fresh encoder writes it.
func encodeRecord(r *snapshotRecord) []byte {
	snapOnce.Do(func() { _, snapTypes = warmSnapEncoder() })
	e, _ := snapPool.Get().(*snapEncoder)
	if e == nil {
		e, _ = warmSnapEncoder()
	}
	e.out = *bytes.NewBuffer(append(make([]byte, 0, len(snapTypes)+e.last+e.last/8), snapTypes...))
	mustEncode(e.enc, r) // the message goes after the descriptions, into the snapshot's own array
	out := e.out.Bytes()
	e.out, e.last = bytes.Buffer{}, len(out)
	snapPool.Put(e)
	return out
}

func mustEncode(enc *gob.Encoder, r *snapshotRecord) {
	if err := enc.Encode(r); err != nil {
		panic(fmt.Sprintf("chain: encode snapshot: %v", err)) // every field is gob-encodable: a broken invariant
	}
}

// floorRecord returns the snapshot record of the tree's floor.
func (t *Tree) floorRecord() snapshotRecord {
	f, st := t.floor, t.floor.state
	r := snapshotRecord{Version: snapshotVersion, Floor: stubRecord{f.header, f.mix}, Epoch: st.epoch,
		Supply: st.supply, Tables: st.tables, Accounts: st.accounts.flat(), Old: map[Epoch]oldRecord{}, Oldest: t.oldest,
		Fin: finRecord{Justified: f.fin.Justified, Finalized: f.fin.Finalized, JustifiedAll: f.fin.justified,
			Cur: tallyOut(f.fin.cur), Prev: tallyOut(f.fin.prev), Slashed: f.fin.slashed}}
	for s := f.lastBefore; s != nil; s = s.lastBefore {
		r.Stubs = append(r.Stubs, stubRecord{s.header, s.mix})
	}
	for e, o := range t.old {
		r.Old[e] = oldRecord{Ckpt: o.ckpt, Table: o.table}
	}
	return r
}

// decodeSnapshot decodes a stored snapshot of version 3, 2 (whose kept epochs gob wrote as a map, each table in
// full) or 1 (whose containers gob wrote as maps and slices): the types differ, so only one decoding succeeds.
func decodeSnapshot(enc []byte) (snapshotRecord, error) {
	var r snapshotRecord
	err := gob.NewDecoder(bytes.NewReader(enc)).Decode(&r)
	if err != nil {
		var v2 snapshotRecordV2
		var v1 snapshotRecordV1
		switch {
		case gob.NewDecoder(bytes.NewReader(enc)).Decode(&v2) == nil && v2.Version == 2:
			r = v2.upgrade()
		case gob.NewDecoder(bytes.NewReader(enc)).Decode(&v1) == nil && v1.Version == 1:
			r = v1.upgrade()
		default:
			return r, err
		}
	}
	if r.Version != snapshotVersion && r.Version != 2 && r.Version != 1 {
		return r, fmt.Errorf("version %d", r.Version)
	}
	return r, nil
}

// resume loads the store's snapshot, if it has one, as the tree's floor, and returns the height replay starts
// from. It fails with ErrCorruptStore when the snapshot does not decode or its state does not match its header.
func (t *Tree) resume() (Height, error) {
	enc, err := t.cfg.Store.Snapshot()
	if err != nil {
		return 0, fmt.Errorf("read snapshot: %w", err)
	}
	if enc == nil {
		return 0, nil
	}
	r, err := decodeSnapshot(enc)
	if err != nil {
		return 0, fmt.Errorf("%w: %w: %w", ErrCorruptStore, errSnapshot, err)
	}
	st := &State{params: t.cfg.Genesis.State().params, accounts: cowMapOf(r.Accounts), supply: r.Supply,
		epoch: r.Epoch, tables: r.Tables}
	hd := r.Floor.Header
	if root := st.Root(); root != hd.StateRoot {
		return 0, fmt.Errorf("%w: %w: state root %s, floor header %s", ErrCorruptStore, errSnapshot, root.Short(),
			hd.StateRoot.Short())
	}
	t.restoreFloor(&r, st)
	return hd.Height + 1, nil
}

// restoreFloor makes the snapshot r, whose state is st, the tree's floor and head.
func (t *Tree) restoreFloor(r *snapshotRecord, st *State) {
	var below *node
	for i := len(r.Stubs) - 1; i >= 0; i-- {
		s := r.Stubs[i]
		below = &node{hash: s.Header.Hash(), header: s.Header, mix: s.Mix, lastBefore: below}
	}
	fin := &Finality{Justified: r.Fin.Justified, Finalized: r.Fin.Finalized, justified: r.Fin.JustifiedAll,
		cur: tallyIn(r.Fin.Cur), prev: tallyIn(r.Fin.Prev), slashed: r.Fin.Slashed}
	f := &node{hash: r.Floor.Header.Hash(), header: r.Floor.Header, state: st, mix: r.Floor.Mix, fin: fin,
		lastBefore: below}
	t.floor, t.base, t.head, t.oldest = f, f.height(), f, r.Oldest
	t.nodes[f.hash] = f
	t.levels, t.canon = [][]*node{{f}}, []*node{f}
	t.swept = t.base + 1
	t.old = make(map[Epoch]oldEpoch, len(r.Old))
	for e, o := range r.Old {
		t.old[e] = oldEpoch{ckpt: o.Ckpt, table: o.Table}
	}
}

// snapshotRecordV2 is version 2 of snapshotRecord, read from stores written before version 3: the same but for
// the kept epochs, a gob map that holds each epoch's stake table in full.
type snapshotRecordV2 struct {
	Version  int
	Floor    stubRecord
	Stubs    []stubRecord
	Epoch    Epoch
	Supply   Amount
	Tables   stakeTables
	Accounts accountMap
	Fin      finRecord
	Old      map[Epoch]oldRecord
	Oldest   Height
}

// upgrade returns r as a snapshotRecord, its version still 2.
func (r *snapshotRecordV2) upgrade() snapshotRecord {
	return snapshotRecord{Version: r.Version, Floor: r.Floor, Stubs: r.Stubs, Epoch: r.Epoch, Supply: r.Supply,
		Tables: r.Tables, Accounts: r.Accounts, Fin: r.Fin, Old: r.Old, Oldest: r.Oldest}
}

// snapshotRecordV1 is version 1 of snapshotRecord, read from stores written before version 2.
type snapshotRecordV1 struct {
	Version  int
	Floor    stubRecord
	Stubs    []stubRecord
	Epoch    Epoch
	Supply   Amount
	Tables   [][]Stake
	Accounts map[Address]Account
	Fin      struct {
		Justified, Finalized Checkpoint
		JustifiedAll         []Checkpoint
		Cur, Prev            *tallyRecordV1
		Slashed              []Address
	}
	Old map[Epoch]struct {
		Ckpt  Hash
		Table []Stake
	}
	Oldest Height
}

type tallyRecordV1 struct {
	Target Checkpoint
	Stake  map[Address]Amount
	Total  Amount
	Voted  map[Address]Checkpoint
	Links  map[Checkpoint]Amount
}

// upgrade returns r as a snapshotRecord, its version still 1.
func (r *snapshotRecordV1) upgrade() snapshotRecord {
	tally := func(t *tallyRecordV1) *tallyRecord {
		if t == nil {
			return nil
		}
		return &tallyRecord{Target: t.Target, Stake: t.Stake, Total: t.Total, Voted: t.Voted, Links: t.Links}
	}
	f := r.Fin
	out := snapshotRecord{Version: r.Version, Floor: r.Floor, Stubs: r.Stubs, Epoch: r.Epoch, Supply: r.Supply,
		Tables: r.Tables, Accounts: r.Accounts, Oldest: r.Oldest, Old: map[Epoch]oldRecord{},
		Fin: finRecord{Justified: f.Justified, Finalized: f.Finalized, JustifiedAll: f.JustifiedAll, Cur: tally(f.Cur),
			Prev: tally(f.Prev), Slashed: f.Slashed}}
	for e, o := range r.Old {
		out.Old[e] = oldRecord{Ckpt: o.Ckpt, Table: o.Table}
	}
	return out
}
