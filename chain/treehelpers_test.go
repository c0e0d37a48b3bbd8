package chain

import (
	"bytes"
	"testing"
)

// treeElect is the tests' Elector: the leader of slot is stakes[slot mod len(stakes)]. The package
// cannot import consensus, and the tests want leaders they can predict.
func treeElect(stakes []Stake, _ Hash, slot Slot) (Address, bool) {
	if len(stakes) == 0 {
		return Address{}, false
	}
	return stakes[uint64(slot)%uint64(len(stakes))].Addr, true
}

// treeBetter is the tree tests' chooser, NOT the fork-choice rule of PROTOCOL.md §8: higher height, then lower
// slot, then lower hash bytes (the rule of protocol version 2). The tree tests want a total order whose winner of
// every tie they can predict, without justification, and this package cannot import consensus (consensus imports
// chain). The real rule (consensus.Better: justification, then height plus the timely bonus, ties to the block
// that extends the other or to the first seen) is tested in consensus/forkchoice_test.go, over the real tree in
// the sim package's tests and chain's TestStakeGrindingBounded, and in the node package
// (TestLateBlockDoesNotOrphanTimelyHead, TestReorgReturnsTransactionsToThePool).
func treeBetter(a, b Tip) bool {
	if a.Height != b.Height {
		return a.Height > b.Height
	}
	if a.Slot != b.Slot {
		return a.Slot < b.Slot
	}
	return bytes.Compare(a.Hash[:], b.Hash[:]) < 0
}

// richGenesis is testGenesis with balances large enough for long chains of full blocks.
func richGenesis() *Genesis {
	g := testGenesis()
	for i := range g.Allocations {
		g.Allocations[i].Balance = 1 << 40
	}
	return g
}

// openTestTree opens a tree of g over s with the tests' elector and chooser.
func openTestTree(t testing.TB, g *Genesis, s Store) *Tree {
	t.Helper()
	tr, err := OpenTree(TreeConfig{Genesis: g, Store: s, Elect: treeElect, Better: treeBetter, Finality: testFinality})
	if err != nil {
		t.Fatalf("open tree: %v", err)
	}
	return tr
}

// keyIndex returns i such that testKey(i) owns a.
func keyIndex(t testing.TB, a Address) int {
	t.Helper()
	for i := range 8 {
		if testAddr(i) == a {
			return i
		}
	}
	t.Fatalf("no test key for %s", a.Short())
	return -1
}

// transfers returns n signed transfers that apply in order on st: keys 0, 1 and 2 in turn send one
// token to key 3.
func transfers(chainID Hash, st *State, n int) []Tx {
	var sent [3]Nonce
	txs := make([]Tx, 0, n)
	for i := range n {
		from := i % 3
		nonce := st.Account(testAddr(from)).Nonce + sent[from]
		sent[from]++
		txs = append(txs, signedTx(chainID, from, TxTransfer, nonce, testAddr(3), 1, 1))
	}
	return txs
}

// leaderAt returns the key index of the leader of slot on top of block parent of tr.
func leaderAt(t testing.TB, tr *Tree, parent Hash, slot Slot) int {
	t.Helper()
	st := stateAt(t, tr, parent)
	leader, ok := treeElect(st.Validators(tr.Genesis().EpochOf(slot)), parent, slot)
	if !ok {
		t.Fatalf("slot %d has no leader", slot)
	}
	return keyIndex(t, leader)
}

// stateAt returns the state after block h of tr, rebuilding it if needed.
func stateAt(t testing.TB, tr *Tree, h Hash) *State {
	t.Helper()
	n, ok := tr.nodes[h]
	if !ok {
		t.Fatalf("block %s not in tree", h.Short())
	}
	st, err := tr.stateOf(n)
	if err != nil {
		t.Fatalf("state of %s: %v", h.Short(), err)
	}
	return st
}

// build returns a block at slot on block parent of tr, proposed by the slot's leader, holding txs;
// every tx must apply.
func build(t testing.TB, tr *Tree, parent Hash, slot Slot, txs []Tx) *Block {
	t.Helper()
	key := testKey(leaderAt(t, tr, parent, slot))
	b, rejected, err := tr.proposeOn(tr.nodes[parent], slot, key, Body{Txs: txs})
	if err != nil {
		t.Fatalf("propose at slot %d: %v", slot, err)
	}
	if len(rejected) > 0 {
		t.Fatalf("propose at slot %d: %d txs rejected, first: %v", slot, len(rejected), rejected[0].Err)
	}
	return b
}

// grow builds a block like build and inserts it.
func grow(t testing.TB, tr *Tree, parent Hash, slot Slot, txs []Tx) *Block {
	t.Helper()
	b := build(t, tr, parent, slot, txs)
	if _, err := tr.Insert(b, slot); err != nil {
		t.Fatalf("insert block at slot %d: %v", slot, err)
	}
	return b
}

// growBranch adds n blocks on parent at the slots after from, each with k transfers, and returns
// them oldest first.
func growBranch(t testing.TB, tr *Tree, parent Hash, from Slot, n, k int) []*Block {
	t.Helper()
	var bs []*Block
	for i := range n {
		txs := transfers(tr.ChainID(), stateAt(t, tr, parent), k)
		b := grow(t, tr, parent, from+Slot(i)+1, txs)
		bs = append(bs, b)
		parent = b.Hash()
	}
	return bs
}

// growHead adds n blocks on the head at consecutive slots, each with k transfers.
func growHead(t testing.TB, tr *Tree, n, k int) []*Block {
	t.Helper()
	head := tr.Head()
	return growBranch(t, tr, head.Hash, head.Slot, n, k)
}

// hashes returns the hashes of bs.
func hashes(bs []*Block) []Hash {
	hs := make([]Hash, len(bs))
	for i, b := range bs {
		hs[i] = b.Hash()
	}
	return hs
}

// testFinality is consensus.FFGRules, which chain's tests cannot import: two thirds, and Gasper's k = 1 rule.
var testFinality = FinalityRules{
	Supermajority: func(stake, total Amount) bool { return total > 0 && 3*uint64(stake) >= 2*uint64(total) },
	Finalizes:     func(source, target Checkpoint) bool { return target.Epoch == source.Epoch+1 },
}
