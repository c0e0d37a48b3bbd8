package chain

import (
	"sync"
	"sync/atomic"
	"weak"
)

// StateMemo holds what every node of one OS process derives alike from the same inputs: a stake table with its
// index by the table's root, the state at height 0 by the genesis hash, and a slot's leader by the table's root,
// the seed source and the slot (an Elector is a function of these alone), the encoding of the anchor at a
// recent floor by its block and number of headers, the state after a recent block by the block's hash, the
// snapshot of a recent floor for the trees whose floor record is the same (risememo.go), and the finality after a
// block by its parent's finality and the block (finmemo.go). A simulator that runs
// many nodes in one process installs one (ShareStates), so that N nodes keep one copy of each instead of N, look
// validators up in the same memory and draw each leader once. Production never installs one. Entries stay until
// it is uninstalled: one per distinct stake table of the run (about one an epoch), one per genesis, and one per
// slot and branch whose leader was asked; of anchors, the memoAnchors highest; of post-states, memoPosts at most;
// of snapshots, those of the last riseKept floors; of finalities, those some tree still holds.
type StateMemo struct {
	mu      sync.Mutex
	tables  map[Hash]sharedTable
	genesis map[Hash]*State
	leaders map[leaderKey]leaderOutcome
	anchors []memoAnchor // the anchors of the latest floors, memoAnchors at most
	posts   map[Hash]memoPost
	rise    riseMemo // the snapshots of the last floors (risememo.go)
	fin     finMemo  // the finality after each block and at genesis (finmemo.go)
}

// memoPosts is how many blocks' post-states a StateMemo keeps at most: the processes of a run validate a block
// within about a second of each other, so those of the last few dozen heights serve nearly every check.
const memoPosts = 256

// memoPost is the state after a block, and the block's height.
type memoPost struct {
	st     *State
	height Height
}

// memoAnchors is how many anchor encodings a StateMemo keeps: the processes of a run raise their floors to the
// same checkpoint within about a slot of each other, so a few recent ones serve nearly every rise, and a
// process that rises late encodes its own.
const memoAnchors = 8

// memoAnchor is the encoding of the anchor at a block with a given number of ancestor headers.
type memoAnchor struct {
	block  Hash
	height Height
	heads  int
	enc    []byte
}

type leaderKey struct {
	root, source Hash
	slot         Slot
}

type leaderOutcome struct {
	leader Address
	ok     bool
}

type sharedTable struct {
	table []Stake
	idx   stakeIndex
}

// stateMemo is the installed StateMemo; nil in production.
var stateMemo atomic.Pointer[StateMemo]

// ShareStates installs a new StateMemo for every state of this process until the returned function is called.
// For simulators only.
func ShareStates() (uninstall func()) {
	m := &StateMemo{tables: map[Hash]sharedTable{}, genesis: map[Hash]*State{}, leaders: map[leaderKey]leaderOutcome{},
		posts: map[Hash]memoPost{}, rise: riseMemo{snapshots: map[Hash]*sharedSnapshot{}},
		fin: finMemo{after: map[finKey]weak.Pointer[Finality]{}, genesis: map[Hash]*Finality{}}}
	stateMemo.Store(m)
	return func() { stateMemo.CompareAndSwap(m, nil) }
}

// indexedTable returns table, whose tableRoot is root, and its index: with a StateMemo installed the copy of the
// first table of that root it was handed (the same entries, by the root), else table and a new index.
func indexedTable(table []Stake, root Hash) ([]Stake, stakeIndex) {
	m := stateMemo.Load()
	if m == nil {
		return table, newStakeIndex(table)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if e, ok := m.tables[root]; ok {
		return e.table, e.idx
	}
	e := sharedTable{table: table, idx: newStakeIndex(table)}
	m.tables[root] = e
	return e.table, e.idx
}

// electShared returns elect(table, source, slot) for the stake table of epoch e in ps, which it shares, not copies
// (an Elector never modifies it). With a StateMemo installed and a table ps keeps, it is the outcome of the first
// such call of the process for that table's root, source and slot.
func electShared(elect Elector, ps *State, e Epoch, source Hash, slot Slot) (Address, bool) {
	table := ps.table(e)
	m := stateMemo.Load()
	if m == nil || e < ps.epoch || e-ps.epoch >= Epoch(len(ps.tables)) {
		return elect(table, source, slot)
	}
	k := leaderKey{root: ps.tableRootCached(int(e - ps.epoch)), source: source, slot: slot}
	m.mu.Lock()
	o, seen := m.leaders[k]
	m.mu.Unlock()
	if !seen {
		o.leader, o.ok = elect(table, source, slot)
		m.mu.Lock()
		m.leaders[k] = o
		m.mu.Unlock()
	}
	return o.leader, o.ok
}

// sharedAnchor returns encode(), the encoding of the anchor at block h of height height with heads ancestor
// headers (Tree.encodedAnchor says why those fix it). With a StateMemo installed it is the encoding the memo
// holds for them if it holds one, else the memo keeps this one in place of its lowest, if that is lower: callers
// share it and must not modify it (the Store keeps it as it is handed, Store.Finalize).
func sharedAnchor(h Hash, height Height, heads int, encode func() []byte) []byte {
	m := stateMemo.Load()
	if m == nil {
		return encode()
	}
	m.mu.Lock()
	for _, a := range m.anchors {
		if a.block == h && a.heads == heads {
			m.mu.Unlock()
			return a.enc
		}
	}
	m.mu.Unlock()
	enc := encode()
	m.mu.Lock()
	defer m.mu.Unlock()
	a := memoAnchor{block: h, height: height, heads: heads, enc: enc}
	if len(m.anchors) < memoAnchors {
		m.anchors = append(m.anchors, a)
		return enc
	}
	low := 0
	for i := range m.anchors {
		if m.anchors[i].height < m.anchors[low].height {
			low = i
		}
	}
	if m.anchors[low].height < height {
		m.anchors[low] = a
	}
	return enc
}

// post returns the state after block h that a process computed and validated (keepPost), or nil. The state is
// shared: like every state of a tree, it is never modified, only cloned.
func (m *StateMemo) post(h Hash) *State {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.posts[h].st
}

// keepPost keeps st, the validated state after block h of height height. With memoPosts states kept it first
// forgets those more than memoPosts/8 heights below h; if none is, it keeps nothing.
func (m *StateMemo) keepPost(h Hash, height Height, st *State) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.posts) >= memoPosts {
		for k, p := range m.posts {
			if p.height+memoPosts/8 < height {
				delete(m.posts, k)
			}
		}
		if len(m.posts) >= memoPosts {
			return
		}
	}
	m.posts[h] = memoPost{st: st, height: height}
}
