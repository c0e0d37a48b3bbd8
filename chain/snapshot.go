package chain

import (
	"bytes"
	"encoding/gob"
	"fmt"
)

// State snapshots (PROTOCOL.md §13): the store keeps one, of the tree's floor, replaced in the write that raises
// the floor (Store.Finalize). It is a local record, never sent to a peer: encoding/gob of snapshotRecord. OpenTree
// loads it as the floor, checks the state against the floor header's state root, and replays the blocks above it.

// snapshotVersion is the version of snapshotRecord; a store with another version opens by full replay.
const snapshotVersion = 1

// snapshotRecord is the stored form of the tree's floor.
type snapshotRecord struct {
	Version  int
	Floor    stubRecord   // the floor block
	Stubs    []stubRecord // its lastBefore ancestors, newest first (floorStubs at most)
	Epoch    Epoch        // the floor's state: epoch, supply, stake tables, accounts
	Supply   Amount
	Tables   [][]Stake
	Accounts map[Address]Account
	Fin      finRecord // the floor branch's finality after the floor
	Old      map[Epoch]oldRecord
	Oldest   Height
}

type stubRecord struct {
	Header Header
	Mix    Hash
}

type oldRecord struct {
	Ckpt  Hash
	Table []Stake
}

type finRecord struct {
	Justified, Finalized Checkpoint
	JustifiedAll         []Checkpoint
	Cur, Prev            *tallyRecord
	Slashed              []Address
}

type tallyRecord struct {
	Target Checkpoint
	Stake  map[Address]Amount
	Total  Amount
	Voted  map[Address]Checkpoint
	Links  map[Checkpoint]Amount
}

func tallyOut(t *epochTally) *tallyRecord {
	if t == nil {
		return nil
	}
	return &tallyRecord{Target: t.target, Stake: t.stake, Total: t.total, Voted: t.voted, Links: t.links}
}

func tallyIn(r *tallyRecord) *epochTally {
	if r == nil {
		return nil
	}
	t := &epochTally{target: r.Target, stake: r.Stake, total: r.Total, voted: r.Voted, links: r.Links}
	if t.stake == nil {
		t.stake = map[Address]Amount{}
	}
	if t.voted == nil {
		t.voted = map[Address]Checkpoint{}
	}
	if t.links == nil {
		t.links = map[Checkpoint]Amount{}
	}
	return t
}

// encodeSnapshot returns the snapshot of the tree's floor.
func (t *Tree) encodeSnapshot() []byte {
	f, st := t.floor, t.floor.state
	r := snapshotRecord{Version: snapshotVersion, Floor: stubRecord{f.header, f.mix}, Epoch: st.epoch,
		Supply: st.supply, Tables: st.tables, Accounts: st.accounts, Old: map[Epoch]oldRecord{}, Oldest: t.oldest,
		Fin: finRecord{Justified: f.fin.Justified, Finalized: f.fin.Finalized, JustifiedAll: f.fin.justified,
			Cur: tallyOut(f.fin.cur), Prev: tallyOut(f.fin.prev), Slashed: f.fin.slashed}}
	for s := f.lastBefore; s != nil; s = s.lastBefore {
		r.Stubs = append(r.Stubs, stubRecord{s.header, s.mix})
	}
	for e, o := range t.old {
		r.Old[e] = oldRecord{Ckpt: o.ckpt, Table: o.table}
	}
	var buf bytes.Buffer
	if err := gob.NewEncoder(&buf).Encode(&r); err != nil {
		panic(fmt.Sprintf("chain: encode snapshot: %v", err)) // every field is gob-encodable: a broken invariant
	}
	return buf.Bytes()
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
	var r snapshotRecord
	if err := gob.NewDecoder(bytes.NewReader(enc)).Decode(&r); err != nil {
		return 0, fmt.Errorf("%w: %w: %w", ErrCorruptStore, errSnapshot, err)
	}
	if r.Version != snapshotVersion {
		return 0, fmt.Errorf("%w: %w: version %d", ErrCorruptStore, errSnapshot, r.Version)
	}
	st := &State{params: t.cfg.Genesis.State().params, accounts: r.Accounts, supply: r.Supply, epoch: r.Epoch,
		tables: r.Tables}
	if st.accounts == nil {
		st.accounts = map[Address]Account{}
	}
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
