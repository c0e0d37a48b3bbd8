package chain

import (
	"bytes"
	"errors"
	"path/filepath"
	"slices"
	"testing"
)

func TestTreeExtend(t *testing.T) {
	tr := openTestTree(t, testGenesis(), NewMemStore())
	if got, want := tr.Head(), testGenesis().Tip(); got != want {
		t.Fatalf("head of a new tree: got %+v, want genesis %+v", got, want)
	}
	var txs []Tx
	for i := range 5 {
		head := tr.Head()
		b := build(t, tr, head.Hash, head.Slot+1+Slot(i%2), transfers(tr.ChainID(), tr.HeadState(), 2))
		ch, err := tr.Insert(b, b.Header.Slot)
		if err != nil {
			t.Fatalf("insert block %d: %v", i+1, err)
		}
		if ch.Head != b.Tip() || len(ch.Reverted) != 0 || len(ch.Applied) != 1 || ch.Applied[0] != b {
			t.Errorf("change of block %d: got head %+v, %d reverted, %d applied; want head %+v, 0, [b]",
				i+1, ch.Head, len(ch.Reverted), len(ch.Applied), b.Tip())
		}
		if got := tr.HeadState().Root(); got != b.Header.StateRoot {
			t.Errorf("head state root after block %d: got %s, want %s", i+1, got, b.Header.StateRoot)
		}
		txs = append(txs, b.Txs...)
	}
	for h := Height(1); h <= 5; h++ {
		b, err := tr.BlockAt(h)
		if err != nil || b.Header.Height != h {
			t.Errorf("block at %d: got %v, %v", h, b, err)
			continue
		}
		if hash, ok := tr.CanonicalHash(h); !ok || hash != b.Hash() {
			t.Errorf("canonical hash at %d: got %s, %t; want %s", h, hash, ok, b.Hash())
		}
		id := b.Txs[0].ID()
		if gotH, gotHash, ok := tr.TxHeight(id); !ok || gotH != h || gotHash != b.Hash() {
			t.Errorf("tx height of a tx at %d: got %d, %s, %t", h, gotH, gotHash.Short(), ok)
		}
	}
	if len(txs) != 10 {
		t.Errorf("got %d txs in 5 blocks, want 10", len(txs))
	}
	if _, err := tr.BlockAt(0); !errors.Is(err, ErrNotFound) {
		t.Errorf("block at 0: got %v, want ErrNotFound", err)
	}
	if _, err := tr.Block(tr.ChainID()); !errors.Is(err, ErrNotFound) {
		t.Errorf("block of the genesis hash: got %v, want ErrNotFound", err)
	}
	if _, ok := tr.CanonicalHash(6); ok {
		t.Errorf("canonical hash above the head: got ok")
	}
}

// TestTreeTie inserts two blocks at height 1 in both orders: the chooser picks the same head.
func TestTreeTie(t *testing.T) {
	g := testGenesis()
	probe := openTestTree(t, g, NewMemStore())
	gen := g.Hash()
	slot1 := build(t, probe, gen, 1, nil)
	slot2 := build(t, probe, gen, 2, nil)
	// two blocks of one leader in one slot (equivocation): only the hash tells them apart
	same1 := build(t, probe, gen, 1, transfers(probe.ChainID(), probe.HeadState(), 1))
	same2 := build(t, probe, gen, 1, transfers(probe.ChainID(), probe.HeadState(), 2))
	lower := same1
	if h1, h2 := same1.Hash(), same2.Hash(); bytes.Compare(h2[:], h1[:]) < 0 {
		lower = same2
	}
	tests := []struct {
		name       string
		first, sec *Block
		want       *Block
	}{
		{"lower slot second", slot2, slot1, slot1},
		{"lower slot first", slot1, slot2, slot1},
		{"same slot", same1, same2, lower},
		{"same slot reversed", same2, same1, lower},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tr := openTestTree(t, g, NewMemStore())
			if _, err := tr.Insert(tc.first, 10); err != nil {
				t.Fatalf("insert first: %v", err)
			}
			ch, err := tr.Insert(tc.sec, 10)
			if err != nil {
				t.Fatalf("insert second: %v", err)
			}
			if got := tr.Head(); got != tc.want.Tip() {
				t.Fatalf("head: got %+v, want %+v", got, tc.want.Tip())
			}
			switched := tc.want == tc.sec
			wantRev, wantApp := 0, 0
			if switched {
				wantRev, wantApp = 1, 1
			}
			if len(ch.Reverted) != wantRev || len(ch.Applied) != wantApp || ch.Head != tc.want.Tip() {
				t.Fatalf("change: got %d reverted, %d applied, head %+v; want %d, %d, %+v",
					len(ch.Reverted), len(ch.Applied), ch.Head, wantRev, wantApp, tc.want.Tip())
			}
			if switched && (ch.Reverted[0].Hash() != tc.first.Hash() || ch.Applied[0] != tc.sec) {
				t.Errorf("change: got reverted %s applied %s, want %s and %s", ch.Reverted[0].Hash().Short(),
					ch.Applied[0].Hash().Short(), tc.first.Hash().Short(), tc.sec.Hash().Short())
			}
		})
	}
}

// TestTreeChooserDecides checks that the tree asks cfg.Better, not a rule of its own.
func TestTreeChooserDecides(t *testing.T) {
	g := testGenesis()
	laterSlot := func(a, b Tip) bool { return a.Height > b.Height || a.Height == b.Height && a.Slot > b.Slot }
	tr, err := OpenTree(TreeConfig{Genesis: g, Store: NewMemStore(), Elect: treeElect, Better: laterSlot, Finality: testFinality})
	if err != nil {
		t.Fatal(err)
	}
	slot2 := grow(t, tr, g.Hash(), 2, nil)
	grow(t, tr, g.Hash(), 1, nil)
	if got := tr.Head(); got != slot2.Tip() {
		t.Errorf("head with a chooser preferring later slots: got slot %d, want 2", got.Slot)
	}
}

// TestTreeReorg switches to a longer branch and checks the change exactly.
func TestTreeReorg(t *testing.T) {
	tr := openTestTree(t, testGenesis(), NewMemStore())
	id := tr.ChainID()
	base := growHead(t, tr, 2, 1)
	anc := base[1].Tip()
	st := tr.HeadState()
	x := signedTx(id, 0, TxTransfer, st.Account(testAddr(0)).Nonce, testAddr(3), 5, 1) // branch A only
	y := signedTx(id, 1, TxBPM, st.Account(testAddr(1)).Nonce, Address{}, 72, 1)       // both branches

	a1 := grow(t, tr, anc.Hash, 3, []Tx{x})
	a2 := grow(t, tr, a1.Hash(), 4, []Tx{y})
	b1 := grow(t, tr, anc.Hash, 5, nil)
	b2 := build(t, tr, b1.Hash(), 6, []Tx{y})
	ch, err := tr.Insert(b2, 6)
	if err != nil || len(ch.Applied) != 0 || ch.Head != a2.Tip() || tr.Head() != a2.Tip() {
		t.Fatalf("insert a block of equal height and later slot: got %+v, %v; want head %+v unchanged", ch, err, a2.Tip())
	}
	b3 := build(t, tr, b2.Hash(), 7, nil)
	ch, err = tr.Insert(b3, 7)
	if err != nil {
		t.Fatalf("insert the block that makes branch B longer: %v", err)
	}
	if got, want := hashes(ch.Reverted), []Hash{a2.Hash(), a1.Hash()}; !slices.Equal(got, want) {
		t.Errorf("reverted: got %v, want %v (newest first)", got, want)
	}
	if got, want := hashes(ch.Applied), []Hash{b1.Hash(), b2.Hash(), b3.Hash()}; !slices.Equal(got, want) {
		t.Errorf("applied: got %v, want %v (oldest first)", got, want)
	}
	if ch.Head != b3.Tip() || tr.Head() != b3.Tip() {
		t.Errorf("head: got %+v and %+v, want %+v", ch.Head, tr.Head(), b3.Tip())
	}
	if got, want := abandoned(ch), []Hash{x.ID()}; !slices.Equal(got, want) {
		t.Errorf("txs of reverted blocks not in applied ones: got %v, want [x %s]", got, x.ID())
	}
	if _, _, ok := tr.TxHeight(x.ID()); ok {
		t.Errorf("tx height of an abandoned tx: got ok")
	}
	if h, hash, ok := tr.TxHeight(y.ID()); !ok || h != 4 || hash != b2.Hash() {
		t.Errorf("tx height of a tx in both branches: got %d, %s, %t; want 4 in branch B", h, hash.Short(), ok)
	}
	for i, want := range []Hash{base[0].Hash(), base[1].Hash(), b1.Hash(), b2.Hash(), b3.Hash()} {
		if got, ok := tr.CanonicalHash(Height(i + 1)); !ok || got != want {
			t.Errorf("canonical hash at %d: got %s, %t; want %s", i+1, got.Short(), ok, want.Short())
		}
	}
	if got := tr.HeadState().Root(); got != b3.Header.StateRoot {
		t.Errorf("head state root: got %s, want %s", got, b3.Header.StateRoot)
	}
}

// abandoned returns the IDs of the transactions of ch.Reverted that are not in ch.Applied: those a
// node must put back into its mempool.
func abandoned(ch Change) []Hash {
	in := make(map[Hash]bool)
	for _, b := range ch.Applied {
		for i := range b.Txs {
			in[b.Txs[i].ID()] = true
		}
	}
	var out []Hash
	for _, b := range ch.Reverted {
		for i := range b.Txs {
			if id := b.Txs[i].ID(); !in[id] {
				out = append(out, id)
			}
		}
	}
	return out
}

func TestTreeInsertErrors(t *testing.T) {
	g := testGenesis()
	s := NewMemStore()
	tr := openTestTree(t, g, s)
	base := growHead(t, tr, 3, 1)
	head := tr.Head()
	st := tr.HeadState()
	slot := head.Slot + 1
	leader := leaderAt(t, tr, head.Hash, slot)
	other := (leader + 1) % 3

	orphan := buildBlock(t, tr.ChainID(), Tip{Hash: Hash{7}, Height: 3, Slot: 3}, st, slot, leader, nil)
	badRoot := buildBlock(t, tr.ChainID(), head, st, slot, leader, nil)
	badRoot.Header.StateRoot = Hash{1}
	badRoot.Sign(tr.ChainID(), testKey(leader))
	tests := []struct {
		name    string
		b       *Block
		maxSlot Slot
		want    error
	}{
		{"known block", base[2], slot, ErrKnownBlock},
		{"unknown parent", orphan, slot, ErrUnknownParent},
		{"wrong proposer", buildBlock(t, tr.ChainID(), head, st, slot, other, nil), slot, ErrWrongProposer},
		{"future slot", buildBlock(t, tr.ChainID(), head, st, slot, leader, nil), slot - 1, ErrFutureSlot},
		{"bad state root", badRoot, slot, ErrBadStateRoot},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ch, err := tr.Insert(tc.b, tc.maxSlot)
			if !errors.Is(err, tc.want) {
				t.Fatalf("insert: got %v, want %v", err, tc.want)
			}
			if len(ch.Applied) != 0 || tr.Head() != head {
				t.Errorf("after a failed insert: got head %+v and %d applied, want head %+v and none", tr.Head(), len(ch.Applied), head)
			}
			if tc.want == ErrKnownBlock {
				return
			}
			if tr.Has(tc.b.Hash()) {
				t.Errorf("a rejected block is in the tree")
			}
			if _, err := s.Block(tc.b.Hash()); !errors.Is(err, ErrNotFound) {
				t.Errorf("a rejected block in the store: got %v, want ErrNotFound", err)
			}
		})
	}
}

// TestTreeReplay reopens a tree over its bolt store and checks that it comes back the same.
func TestTreeReplay(t *testing.T) {
	g := testGenesis()
	path := filepath.Join(t.TempDir(), "chain.db")
	s := openBoltAt(t, path)
	tr := openTestTree(t, g, s)
	growHead(t, tr, 12, 2)
	side := growBranch(t, tr, mustCanon(t, tr, 6), 30, 3, 1)
	growHead(t, tr, 3, 1)
	head, root := tr.Head(), tr.HeadState().Root()
	s.Close()

	re := openTestTree(t, g, openBoltAt(t, path))
	if got := re.Head(); got != head {
		t.Errorf("head after replay: got %+v, want %+v", got, head)
	}
	if got := re.HeadState().Root(); got != root {
		t.Errorf("head state root after replay: got %s, want %s", got, root)
	}
	if !sameState(re.HeadState(), tr.HeadState()) {
		t.Errorf("head state after replay differs")
	}
	if got, want := len(re.nodes), len(tr.nodes); got != want {
		t.Errorf("blocks after replay: got %d, want %d", got, want)
	}
	for h := range Height(len(tr.canon)) {
		got, _ := re.CanonicalHash(h)
		want, _ := tr.CanonicalHash(h)
		if got != want {
			t.Errorf("canonical hash at %d after replay: got %s, want %s", h, got.Short(), want.Short())
		}
	}
	if !re.Has(side[2].Hash()) {
		t.Errorf("side branch block missing after replay")
	}
}

// mustCanon returns the canonical hash at height h.
func mustCanon(t *testing.T, tr *Tree, h Height) Hash {
	t.Helper()
	hash, ok := tr.CanonicalHash(h)
	if !ok {
		t.Fatalf("no canonical block at %d", h)
	}
	return hash
}

func TestTreeGenesisMismatch(t *testing.T) {
	s := NewMemStore()
	tr := openTestTree(t, testGenesis(), s)
	growHead(t, tr, 2, 0)
	other := testGenesis()
	other.ChainID = "another"
	_, err := OpenTree(TreeConfig{Genesis: other, Store: s, Elect: treeElect, Better: treeBetter, Finality: testFinality})
	if !errors.Is(err, ErrGenesisMismatch) {
		t.Errorf("open a store of another chain: got %v, want ErrGenesisMismatch", err)
	}
}

// TestTreeOldState grows the chain past the state window, then checks that a dropped state is
// rebuilt equal to the original and that a fork from that old ancestor is accepted.
func TestTreeOldState(t *testing.T) {
	g := richGenesis()
	tr := openTestTree(t, g, NewMemStore())
	growHead(t, tr, 10, 1)
	anc, snapshot := tr.Head(), tr.HeadState().Clone()
	growHead(t, tr, keepStates+20, 1)

	if tr.nodes[anc.Hash].state != nil {
		t.Fatalf("state at height %d kept with the head at %d", anc.Height, tr.Head().Height)
	}
	kept := 0
	for _, n := range tr.nodes {
		if n.state != nil {
			kept++
		}
	}
	if kept > keepStates+2 {
		t.Errorf("kept states: got %d, want at most %d", kept, keepStates+2)
	}
	rebuilt := stateAt(t, tr, anc.Hash)
	if !sameState(rebuilt, snapshot) || rebuilt.Root() != snapshot.Root() {
		t.Fatalf("rebuilt state of height %d differs from the original", anc.Height)
	}

	slot := tr.Head().Slot + 1
	i := leaderAt(t, tr, anc.Hash, slot)
	fork := buildBlock(t, tr.ChainID(), anc, snapshot, slot, i, transfers(tr.ChainID(), snapshot, 3))
	head := tr.Head()
	ch, err := tr.Insert(fork, slot)
	if err != nil {
		t.Fatalf("insert a fork from height %d: %v", anc.Height, err)
	}
	if len(ch.Applied) != 0 || tr.Head() != head {
		t.Errorf("a short fork moved the head")
	}
	if tr.nodes[fork.Hash()].state == nil {
		t.Errorf("the tip of an old fork dropped its state")
	}
	child := grow(t, tr, fork.Hash(), slot+1, nil)
	if tr.nodes[fork.Hash()].state != nil || tr.nodes[child.Hash()].state == nil {
		t.Errorf("an old fork keeps states: got parent %t child %t, want only the child's",
			tr.nodes[fork.Hash()].state != nil, tr.nodes[child.Hash()].state != nil)
	}
}

func TestTreeLeader(t *testing.T) {
	tr := openTestTree(t, testGenesis(), NewMemStore())
	growHead(t, tr, 3, 0)
	head := tr.Head()
	for slot := head.Slot + 1; slot < head.Slot+25; slot++ {
		want, _ := treeElect(tr.HeadState().Validators(tr.Genesis().EpochOf(slot)), head.Hash, slot)
		if got, ok := tr.Leader(slot); !ok || got != want {
			t.Errorf("leader of slot %d: got %s, %t; want %s", slot, got.Short(), ok, want.Short())
		}
	}
}
