package chain

import (
	"maps"
	"slices"
)

// The snapshot of a floor's rise, shared by a StateMemo. When the floor rises (Tree.raise) a node encodes the
// floor's snapshot (PROTOCOL.md §13), which holds every account, the stake tables and the finality's counted votes;
// N simulated nodes that finalize the same checkpoint encode the same record N times, O(N²) in all. With a
// StateMemo installed the first node's encoding serves every node whose record is the same, checked field by field
// against its own tree, so a node keeps an encoding of exactly the record it would have encoded. (The anchor kept
// at a rise is shared by the memo too, by its block and number of headers: statememo.go.)
//
// A snapshot's encoding is not canonical: gob and the packed maps (snapshotpack.go) write map entries in Go's map
// order, so two encodings of one record, even by one node, may differ in order; a shared one decodes to the
// node's record.

// riseKept is how many floors' snapshots a StateMemo keeps: the nodes of a run finalize the same checkpoints
// about together, and a node that finalizes a floor after it left the memo encodes its own.
const riseKept = 8

// sharedSnapshot is a floor's snapshot record and its encoding. rec's accounts and stake tables are dropped once
// encoded: the floor header's state root covers them.
type sharedSnapshot struct {
	rec snapshotRecord
	fin *Finality // the floor's finality, of which rec.Fin is the record: a tree whose floor has it has that record
	enc []byte
}

// riseMemo holds the last riseKept floors' snapshots, by the floor block's hash; the StateMemo's mutex guards it.
type riseMemo struct {
	snapshots map[Hash]*sharedSnapshot
	order     []Hash // the floors kept, oldest first
}

// keep remembers floor h, dropping the oldest floor's snapshot beyond riseKept.
func (r *riseMemo) keep(h Hash) {
	if slices.Contains(r.order, h) {
		return
	}
	r.order = append(r.order, h)
	if len(r.order) > riseKept {
		delete(r.snapshots, r.order[0])
		r.order = slices.Delete(r.order, 0, 1)
	}
}

// snapshot returns the encoding of t's floor snapshot (Tree.encodeSnapshot): the memo's for the same record, else
// t's own, which the memo keeps when it has none for that floor.
func (m *StateMemo) snapshot(t *Tree) []byte {
	h := t.floor.hash
	m.mu.Lock()
	s := m.rise.snapshots[h]
	m.mu.Unlock()
	if s != nil && s.sameFloor(t) {
		return s.enc
	}
	r := t.floorRecord()
	enc := encodeRecord(&r)
	if s == nil {
		r.Accounts, r.Tables = nil, nil
		m.mu.Lock()
		if m.rise.snapshots[h] == nil {
			m.rise.snapshots[h] = &sharedSnapshot{rec: r, fin: t.floor.fin, enc: enc}
			m.rise.keep(h)
		}
		m.mu.Unlock()
	}
	return enc
}

// sameFloor reports whether s's record, without accounts and stake tables, is the record of t's floor
// (Tree.floorRecord): the floor header's state root covers the accounts and the tables.
func (s *sharedSnapshot) sameFloor(t *Tree) bool {
	r, f, st := &s.rec, t.floor, t.floor.state
	if r.Floor != (stubRecord{f.header, f.mix}) || r.Epoch != st.epoch || r.Supply != st.supply || r.Oldest != t.oldest ||
		(s.fin != f.fin && !r.Fin.same(f.fin)) || len(r.Old) != len(t.old) {
		return false
	}
	i := 0
	for s := f.lastBefore; s != nil; s, i = s.lastBefore, i+1 {
		if i == len(r.Stubs) || r.Stubs[i] != (stubRecord{s.header, s.mix}) {
			return false
		}
	}
	if i != len(r.Stubs) {
		return false
	}
	for e, o := range t.old {
		ro, ok := r.Old[e]
		if !ok || ro.Ckpt != o.ckpt || !slices.Equal([]Stake(ro.Table), o.table) {
			return false
		}
	}
	return true
}

// same reports whether r is the record of f (tallyOut).
func (r *finRecord) same(f *Finality) bool {
	return r.Justified == f.Justified && r.Finalized == f.Finalized && slices.Equal(r.JustifiedAll, f.justified) &&
		slices.Equal(r.Slashed, f.slashed) && r.Cur.same(f.cur) && r.Prev.same(f.prev)
}

// same reports whether r is the record of t (tallyOut); nil records nil.
func (r *tallyRecord) same(t *epochTally) bool {
	if r == nil || t == nil {
		return r == nil && t == nil
	}
	if r.Target != t.target || r.Total != t.total || len(r.Voted) != t.voted.size() || !maps.Equal(r.Links, t.links) ||
		!maps.Equal(map[Address]Amount(r.Stake), map[Address]Amount(t.stake)) {
		return false
	}
	for a, c := range r.Voted {
		if got, ok := t.voted.get(a); !ok || got != c {
			return false
		}
	}
	return true
}
