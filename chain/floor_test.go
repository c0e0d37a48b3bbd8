package chain

import (
	"errors"
	"testing"
)

// finalChain returns n blocks on genesis g, one per slot, whose first block of each epoch holds the votes of keys
// 0 to 2 from the justified checkpoint to the epoch's checkpoint, so that every epoch is justified and the one
// before it finalized (PROTOCOL.md §8a). Neither the blocks nor the votes are signed: they are meant for a store
// that a tree replays, which checks state roots, not signatures.
func finalChain(tb testing.TB, g *Genesis, n int) []*Block { return newChainGen(g).next(tb, n) }

// chainGen makes finalChain's blocks a chunk at a time.
type chainGen struct {
	g   *Genesis
	st  *State
	tip Tip
	fin *Finality
	// signed: each block and vote is signed, as Tree.Insert checks (finalChain's are not: replay trusts them).
	signed bool
}

func newChainGen(g *Genesis) *chainGen {
	st := g.State()
	return &chainGen{g: g, st: st, tip: g.Tip(), fin: GenesisFinality(g.Hash(), st.Validators(0))}
}

// next returns the next n blocks of the chain.
func (c *chainGen) next(tb testing.TB, n int) []*Block {
	tb.Helper()
	blocks := make([]*Block, 0, n)
	for range n {
		blocks = append(blocks, c.block(tb))
	}
	return blocks
}

func (c *chainGen) block(tb testing.TB) *Block {
	id, tip, st := c.g.Hash(), c.tip, c.st
	slot := tip.Slot + 1
	e := c.g.EpochOf(slot)
	entered, err := c.fin.Next(e, tip.Hash, st, nil, nil, testFinality)
	if err != nil {
		tb.Fatal(err)
	}
	var votes []Vote
	if target, ok := entered.Target(e); ok && e > 0 && !entered.IsJustified(target) {
		for i := range 3 {
			v := Vote{Validator: testAddr(i), Source: entered.Justified, Target: target}
			if c.signed {
				v.Sign(id, testKey(i))
			}
			votes = append(votes, v)
		}
	}
	leader, _ := treeElect(st.Validators(e), tip.Hash, slot)
	b := &Block{Header: Header{Height: tip.Height + 1, Slot: slot, Parent: tip.Hash, Proposer: leader,
		TxRoot: TxRoot(nil), VoteRoot: VoteRoot(votes), EvRoot: EvidenceRoot(nil),
		VRFProof: ProveVRF(testKey(keyIndex(tb, leader)), id, slot)}, Votes: votes}
	out, err := b.Header.VRFProof.Output()
	if err != nil {
		tb.Fatal(err)
	}
	b.Header.Mix = NextMix(tip.Mix, out)
	if c.fin, err = c.fin.Next(e, tip.Hash, st, nil, votes, testFinality); err != nil {
		tb.Fatalf("block %d: %v", b.Header.Height, err)
	}
	if err := st.ApplyBlock(b); err != nil {
		tb.Fatalf("block %d: %v", b.Header.Height, err)
	}
	b.Header.StateRoot = st.Root()
	if c.signed {
		b.Sign(id, testKey(keyIndex(tb, leader)))
	}
	c.tip = b.Tip()
	return b
}

// openFinalChain stores blocks in s and opens a tree over it with the retention window retain.
func openFinalChain(tb testing.TB, g *Genesis, s Store, blocks []*Block, retain uint64) *Tree {
	tb.Helper()
	for lo := 0; lo < len(blocks); lo += 1024 {
		if err := s.PutBlocks(blocks[lo:min(lo+1024, len(blocks))]); err != nil {
			tb.Fatal(err)
		}
	}
	return reopen(tb, g, s, retain)
}

func reopen(tb testing.TB, g *Genesis, s Store, retain uint64) *Tree {
	tb.Helper()
	tr, err := OpenTree(TreeConfig{Genesis: g, Store: s, Elect: treeElect, Better: treeBetter, Finality: testFinality,
		RetainEpochs: retain})
	if err != nil {
		tb.Fatalf("open tree: %v", err)
	}
	return tr
}

// TestPruneBelowFinality: once a block is finalized the tree keeps nothing below it in memory, yet answers for
// every canonical height from the store, and keeps the checkpoints and stake tables evidence needs (PROTOCOL.md
// §8b, §13).
func TestPruneBelowFinality(t *testing.T) {
	g := richGenesis()
	blocks := finalChain(t, g, 300)
	tr := openFinalChain(t, g, NewMemStore(), blocks, 0)
	_, fin := tr.Finality()
	if fin.Epoch < 25 {
		t.Fatalf("finalized epoch %d, want at least 25 of 30", fin.Epoch)
	}
	if tr.floor.hash != fin.Hash || tr.base < 250 {
		t.Fatalf("floor at height %d (%s), want the finalized checkpoint %s", tr.base, tr.floor.hash.Short(), fin)
	}
	if got := len(tr.nodes); got > 3*int(g.EpochLength)+2 {
		t.Errorf("%d blocks in memory, want at most those of three epochs above the floor", got)
	}
	for i, b := range blocks {
		h := Height(i + 1)
		if c, ok := tr.CanonicalHash(h); !ok || c != b.Hash() {
			t.Fatalf("height %d: canonical %s (%v), want %s", h, c.Short(), ok, b.Hash().Short())
		}
		if got, err := tr.BlockAt(h); err != nil || got.Hash() != b.Hash() {
			t.Fatalf("height %d: block %v", h, err)
		}
		if !tr.Has(b.Hash()) || (h <= tr.base) != tr.IsFinal(b.Hash()) {
			t.Fatalf("height %d: Has %v IsFinal %v", h, tr.Has(b.Hash()), tr.IsFinal(b.Hash()))
		}
	}
	ref := neverFinal(t, g) // the same chain in a tree that never prunes
	for _, b := range blocks {
		if err := ref.replay(b); err != nil {
			t.Fatal(err)
		}
	}
	for e := Epoch(1); e <= fin.Epoch; e++ {
		if got, want := tr.Checkpoint(e), ref.checkpointOf(ref.canon[len(ref.canon)-1], e).hash; got.Hash != want {
			t.Errorf("checkpoint of epoch %d: %s, want %s", e, got.Hash.Short(), want.Short())
		}
		if table, err := tr.StakeTable(e); err != nil || len(table) != 3 {
			t.Errorf("stake table of epoch %d: %d stakes, %v", e, len(table), err)
		}
	}
	if _, err := tr.Insert(blocks[10], blocks[10].Header.Slot); !errors.Is(err, ErrKnownBlock) {
		t.Errorf("insert of a block below the floor: %v, want ErrKnownBlock", err)
	}
}

// neverFinal opens a tree of g on an empty store whose votes never justify anything, so that it never prunes.
func neverFinal(tb testing.TB, g *Genesis) *Tree {
	tb.Helper()
	never := FinalityRules{Supermajority: func(_, _ Amount) bool { return false }, Finalizes: testFinality.Finalizes}
	tr, err := OpenTree(TreeConfig{Genesis: g, Store: NewMemStore(), Elect: treeElect, Better: treeBetter, Finality: never})
	if err != nil {
		tb.Fatal(err)
	}
	return tr
}
