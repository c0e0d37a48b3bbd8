package chain

import (
	"bytes"
	"errors"
	"testing"
)

// TestSharedStatesSameChain: trees opened while a StateMemo is installed accept the blocks of a chain built
// without one, over several epochs and stake-table rotations, to the same head and state roots; they share one
// copy of each stake table, and the shared genesis state is never written by them.
func TestSharedStatesSameChain(t *testing.T) {
	g := richGenesis()
	ref := openTestTree(t, g, NewMemStore())
	blocks := growHead(t, ref, 35, 2) // epochs of 10 slots: four rotations
	genesisRoot := g.State().Root()

	defer ShareStates()()
	a, b := openTestTree(t, g, NewMemStore()), openTestTree(t, g, NewMemStore())
	for _, tr := range []*Tree{a, b} {
		for _, blk := range blocks {
			if _, err := tr.Insert(blk, blk.Header.Slot); err != nil {
				t.Fatalf("insert block at slot %d with shared states: %v", blk.Header.Slot, err)
			}
		}
		if got, want := tr.Head(), ref.Head(); got != want {
			t.Fatalf("head with shared states: got %v, want %v", got, want)
		}
	}
	for _, blk := range blocks {
		sa, sb := stateAt(t, a, blk.Hash()), stateAt(t, b, blk.Hash())
		if sa.Root() != stateAt(t, ref, blk.Hash()).Root() {
			t.Fatalf("state root after slot %d differs with shared states", blk.Header.Slot)
		}
		for i := range sa.tables {
			if len(sa.tables[i]) == 0 || &sa.tables[i][0] != &sb.tables[i][0] {
				t.Fatalf("slot %d: table %d is not shared by the two trees", blk.Header.Slot, i)
			}
		}
	}
	if got := g.State().Root(); got != genesisRoot {
		t.Errorf("genesis state root after the trees ran: got %s, want %s", got.Short(), genesisRoot.Short())
	}
	s1, s2 := g.State(), g.State()
	s1.accounts.put(testAddr(0), Account{Balance: 1})
	if s2.Account(testAddr(0)).Balance == 1 {
		t.Error("a write to one genesis state shows in another")
	}
}

// TestTableIndexFallback: a state whose tables were set without an index (as a snapshot's are) answers membership
// by searching the tables, the same as one with the index.
func TestTableIndexFallback(t *testing.T) {
	g := testGenesis()
	g.Allocations = append(g.Allocations, Allocation{Address: testAddr(4), Balance: 10})
	indexed := g.State()
	plain := *indexed
	plain.tables = make([][]Stake, len(indexed.tables))
	for i, tb := range indexed.tables {
		plain.tables[i] = append([]Stake(nil), tb...)
	}
	if plain.tableIndex(0) != nil || indexed.tableIndex(0) == nil {
		t.Fatal("tableIndex: want an index only for the tables it was built for")
	}
	for i := range 6 {
		a := testAddr(i)
		for e := Epoch(0); e < 4; e++ {
			if got, want := plain.IsValidator(e, a), indexed.IsValidator(e, a); got != want {
				t.Errorf("IsValidator(%d, key %d) without the index: got %v, want %v", e, i, got, want)
			}
		}
		if got, want := plain.Accountable(a), indexed.Accountable(a); got != want {
			t.Errorf("Accountable(key %d) without the index: got %v, want %v", i, got, want)
		}
	}
	if !indexed.IsValidator(0, testAddr(0)) || indexed.IsValidator(0, testAddr(4)) || indexed.IsValidator(0, testAddr(3)) {
		t.Error("IsValidator: want key 0 in the genesis table, key 3 (below the minimum stake) and key 4 (no stake) out")
	}
}

// TestElectSharedRemembers: with a StateMemo installed a slot's leader is drawn once per table, source and slot.
func TestElectSharedRemembers(t *testing.T) {
	calls := 0
	elect := func(stakes []Stake, source Hash, slot Slot) (Address, bool) {
		calls++
		return treeElect(stakes, source, slot)
	}
	st := testGenesis().State()
	want, _ := treeElect(st.Validators(0), Hash{1}, 5)
	for range 2 {
		if got, ok := electShared(elect, st, 0, Hash{1}, 5); !ok || got != want {
			t.Fatalf("electShared without a memo: got %s, want %s", got.Short(), want.Short())
		}
	}
	if calls != 2 {
		t.Fatalf("without a memo: %d draws, want 2", calls)
	}
	defer ShareStates()()
	for range 3 {
		if got, ok := electShared(elect, st, 0, Hash{1}, 5); !ok || got != want {
			t.Fatalf("electShared with a memo: got %s, want %s", got.Short(), want.Short())
		}
	}
	electShared(elect, st, 0, Hash{2}, 5)
	if calls != 4 {
		t.Errorf("with a memo: %d draws in all, want 4 (one per source)", calls)
	}
}

// TestSharedAnchors: trees under one StateMemo keep, at each rise of their floors, the same anchor bytes as a tree
// without one, and the second tree keeps the first one's array; a memo that holds more than memoAnchors floors
// forgets the lowest.
func TestSharedAnchors(t *testing.T) {
	g := richGenesis()
	blocks := finalChain(t, g, 60)
	refStore := NewMemStore()
	ref := reopen(t, g, refStore, 0)
	var floors []Hash
	for _, b := range blocks {
		base := ref.base
		feed(t, ref, refStore, b)
		if ref.base != base {
			floors = append(floors, ref.floor.hash)
		}
	}
	if len(floors) < 2 {
		t.Fatalf("%d rises of the floor, want at least 2", len(floors))
	}

	defer ShareStates()()
	sa, sb := NewMemStore(), NewMemStore()
	a, b := reopen(t, g, sa, 0), reopen(t, g, sb, 0)
	for _, blk := range blocks {
		feed(t, a, sa, blk)
		feed(t, b, sb, blk)
	}
	for _, h := range floors {
		want, err := refStore.Anchor(h)
		if err != nil {
			t.Fatalf("anchor %s without the memo: %v", h.Short(), err)
		}
		ea, errA := sa.Anchor(h)
		eb, errB := sb.Anchor(h)
		if errA != nil || errB != nil {
			t.Fatalf("anchor %s under the memo: %v, %v", h.Short(), errA, errB)
		}
		if !bytes.Equal(ea, want) || !bytes.Equal(eb, want) {
			t.Errorf("anchor %s: the bytes under the memo differ from those without it", h.Short())
		}
		if &ea[0] != &eb[0] {
			t.Errorf("anchor %s: the two trees keep two copies", h.Short())
		}
	}

	m := stateMemo.Load()
	for i := range memoAnchors + 1 {
		sharedAnchor(Hash{byte(i)}, Height(100+i), 3, func() []byte { return []byte{byte(i)} })
	}
	if len(m.anchors) != memoAnchors {
		t.Fatalf("the memo holds %d anchors, want %d", len(m.anchors), memoAnchors)
	}
	for _, e := range m.anchors {
		if e.block == (Hash{0}) {
			t.Errorf("the memo kept the lowest of %d floors", memoAnchors+1)
		}
	}
	if got := sharedAnchor(Hash{byte(memoAnchors)}, Height(100+memoAnchors), 3, func() []byte { return nil }); !bytes.Equal(got, []byte{memoAnchors}) {
		t.Errorf("the highest floor's anchor: got %x, want the memo's %x", got, []byte{memoAnchors})
	}
}

// TestSharedPostStates: of two trees under one StateMemo, the second takes the post-states the first validated
// (the same states, the roots of a tree without a memo: TestSharedStatesSameChain); a block whose state root is
// wrong is refused by both, and no state is kept for it; a memo holding memoPosts states forgets the lowest
// heights first.
func TestSharedPostStates(t *testing.T) {
	g := richGenesis()
	ref := openTestTree(t, g, NewMemStore())
	blocks := growHead(t, ref, 12, 2)

	defer ShareStates()()
	a, b := openTestTree(t, g, NewMemStore()), openTestTree(t, g, NewMemStore())
	for _, tr := range []*Tree{a, b} {
		for _, blk := range blocks {
			if _, err := tr.Insert(blk, blk.Header.Slot); err != nil {
				t.Fatalf("insert block at slot %d: %v", blk.Header.Slot, err)
			}
		}
	}
	shared := 0
	for _, blk := range blocks {
		sa, sb := a.nodes[blk.Hash()].state, b.nodes[blk.Hash()].state
		if sa != nil && sa == sb {
			shared++
		}
	}
	if shared == 0 {
		t.Fatalf("the trees share none of the %d blocks' post-states", len(blocks))
	}

	bad := *blocks[len(blocks)-1]
	bad.Header.StateRoot[0] ^= 1
	ps := stateAt(t, a, bad.Header.Parent)
	for range 2 {
		if _, err := transition(ps, &bad); !errors.Is(err, ErrBadStateRoot) {
			t.Fatalf("a block with a wrong state root: got %v, want ErrBadStateRoot", err)
		}
	}
	m := stateMemo.Load()
	if m.post(bad.Hash()) != nil {
		t.Error("the memo kept a post-state for a block that failed its check")
	}

	st := g.State()
	for i := range memoPosts + memoPosts/4 {
		m.keepPost(Hash{byte(i), byte(i >> 8), 0xff}, Height(1000+i), st)
	}
	if len(m.posts) > memoPosts {
		t.Errorf("the memo holds %d post-states, want at most %d", len(m.posts), memoPosts)
	}
	last := memoPosts + memoPosts/4 - 1
	if m.post(Hash{byte(last), byte(last >> 8), 0xff}) == nil || m.post(Hash{0, 0, 0xff}) != nil {
		t.Error("the memo kept the lowest height and not the highest")
	}
}
