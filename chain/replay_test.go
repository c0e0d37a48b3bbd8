package chain

import (
	"crypto/ed25519"
	"crypto/sha256"
	"errors"
	"slices"
	"sort"
	"testing"
	"time"
)

// oldChainLength is the chain length at which the issue measured a block on an old parent.
const oldChainLength = 20_000

// throwawayKey is a key that never held a token.
func throwawayKey() ed25519.PrivateKey {
	seed := sha256.Sum256([]byte("throwaway"))
	return ed25519.NewKeyFromSeed(seed[:])
}

// chainBlocks returns n blocks on genesis g, one per slot, each proposed by its slot's leader and holding the
// transactions txsAt returns for its height and parent state. The blocks are not signed: they are meant for a
// store that a tree then replays, which checks state roots and tx roots but not signatures.
func chainBlocks(tb testing.TB, g *Genesis, n int, txsAt func(h Height, st *State) []Tx) []*Block {
	tb.Helper()
	st, tip := g.State(), g.Tip()
	blocks := make([]*Block, 0, n)
	for range n {
		slot := tip.Slot + 1
		leader, _ := treeElect(st.Validators(g.EpochOf(slot)), tip.Hash, slot)
		var txs []Tx
		if txsAt != nil {
			txs = txsAt(tip.Height+1, st)
		}
		b := &Block{Header: Header{Height: tip.Height + 1, Slot: slot, Parent: tip.Hash, Proposer: leader,
			TxRoot: TxRoot(txs), VoteRoot: VoteRoot(nil), EvRoot: EvidenceRoot(nil),
			VRFProof: ProveVRF(testKey(keyIndex(tb, leader)), g.Hash(), slot)}, Txs: txs}
		out, err := b.Header.VRFProof.Output()
		if err != nil {
			tb.Fatal(err)
		}
		b.Header.Mix = NextMix(tip.Mix, out)
		if err := st.ApplyBlock(b); err != nil {
			tb.Fatalf("block %d: %v", b.Header.Height, err)
		}
		b.Header.StateRoot = st.Root()
		blocks = append(blocks, b)
		tip = b.Tip()
	}
	return blocks
}

// openChain stores blocks in s and opens a tree over it, which replays them.
func openChain(tb testing.TB, g *Genesis, s Store, blocks []*Block) *Tree {
	tb.Helper()
	for lo := 0; lo < len(blocks); lo += 1024 {
		if err := s.PutBlocks(blocks[lo:min(lo+1024, len(blocks))]); err != nil {
			tb.Fatal(err)
		}
	}
	return openTestTree(tb, g, s)
}

// forge returns a block on parent at slot signed by key, which claims to propose it; its state root is made up.
func forge(chainID Hash, parent Tip, slot Slot, key ed25519.PrivateKey) *Block {
	b := &Block{Header: Header{Height: parent.Height + 1, Slot: slot, Parent: parent.Hash,
		Proposer: AddressOf(key.Public().(ed25519.PublicKey)), TxRoot: TxRoot(nil), VoteRoot: VoteRoot(nil),
		EvRoot: EvidenceRoot(nil), StateRoot: HashBytes([]byte("made up"))}}
	b.Sign(chainID, key)
	return b
}

// rejection is what the node does with a gossiped block: the gossip validator checks the signature, then the
// tree validates the block. It returns the error and how many blocks the tree replayed for it.
func rejection(tr *Tree, b *Block, maxSlot Slot) (error, uint64) {
	before := tr.replayed
	err := b.Verify(tr.ChainID())
	if err == nil {
		_, err = tr.Insert(b, maxSlot)
	}
	return err, tr.replayed - before
}

// medianCost returns the median time of rounds rejections of b.
func medianCost(tr *Tree, b *Block, maxSlot Slot, rounds int) time.Duration {
	ds := make([]time.Duration, rounds)
	for i := range ds {
		start := time.Now()
		rejection(tr, b, maxSlot)
		ds[i] = time.Since(start)
	}
	sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
	return ds[rounds/2]
}

// TestOldParentBoundedReplay reproduces issue class 3 at 20,000 blocks: a block on a parent whose state was
// dropped, signed by a key without stake, is rejected without any replay; one signed by a staked validator that
// did not win costs a replay shorter than the snapshot spacing; a valid block there is still accepted. It
// prints each cost against a normal rejection (a forged block on the head); only replay counts are asserted.
func TestOldParentBoundedReplay(t *testing.T) {
	g := richGenesis()
	tr := openChain(t, g, NewMemStore(), chainBlocks(t, g, oldChainLength, nil))
	head := tr.Head()
	slot := head.Slot + 1
	old := tr.canon[150*snapshotEvery+snapshotEvery-1] // the farthest from its snapshot
	if old.state != nil {
		t.Fatalf("state of height %d kept with the head at %d", old.height(), head.Height)
	}
	normal := forge(tr.ChainID(), head, slot, throwawayKey())
	if err, n := rejection(tr, normal, slot); !errors.Is(err, ErrWrongProposer) || n != 0 {
		t.Fatalf("forged block on the head: got %v after %d replayed blocks, want ErrWrongProposer after 0", err, n)
	}
	throwaway := forge(tr.ChainID(), old.tip(), slot, throwawayKey())
	if err, n := rejection(tr, throwaway, slot); !errors.Is(err, ErrWrongProposer) || n != 0 {
		t.Fatalf("throwaway key on height %d: got %v after %d replayed blocks, want ErrWrongProposer after 0", old.height(), err, n)
	}
	winner := leaderAt(t, tr, old.hash, slot)
	staked := forge(tr.ChainID(), old.tip(), slot, testKey((winner+1)%3))
	if err, n := rejection(tr, staked, slot); !errors.Is(err, ErrWrongProposer) || n >= snapshotEvery {
		t.Fatalf("staked loser on height %d: got %v after %d replayed blocks, want ErrWrongProposer after < %d",
			old.height(), err, n, snapshotEvery)
	}
	rounds := 200
	if raceDetector {
		rounds = 40
	}
	base := medianCost(tr, normal, slot, rounds)
	for _, c := range []struct {
		name string
		b    *Block
	}{{"throwaway key", throwaway}, {"staked loser", staked}} {
		d := medianCost(tr, c.b, slot, rounds)
		t.Logf("%d blocks, parent at height %d: %s %v, normal rejection %v: %.1f×", oldChainLength, old.height(),
			c.name, d, base, float64(d)/float64(base))
	}
	valid := build(t, tr, old.hash, slot, nil)
	before := tr.replayed
	if _, err := tr.Insert(valid, slot); err != nil {
		t.Fatalf("valid block on height %d: %v", old.height(), err)
	}
	if n := tr.replayed - before; n >= snapshotEvery {
		t.Errorf("valid block on height %d: replayed %d blocks, want < %d", old.height(), n, snapshotEvery)
	}
}

// TestMayProposeSound checks the cheap proposer check against the full rule on every old state of a chain where
// stakes come and go: whoever is in a stake table of a block (active, next or live) passes mayPropose, and an
// address that has not staked yet, or never, does not.
func TestMayProposeSound(t *testing.T) {
	g := richGenesis()
	id := g.Hash()
	const stake3, fund4, stake4, unstake1 = 705, 650, 706, 710 // between the snapshots 704 and 768
	blocks := chainBlocks(t, g, 1400, func(h Height, st *State) []Tx {
		tx := func(i int, kind TxKind, to Address, v uint64) []Tx {
			return []Tx{signedTx(id, i, kind, st.Account(testAddr(i)).Nonce, to, v, 1)}
		}
		switch h {
		case stake3:
			return tx(3, TxStake, Address{}, 60) // 50 + 60 ≥ MinStake 100
		case fund4:
			return tx(0, TxTransfer, testAddr(4), 500)
		case stake4:
			return tx(4, TxStake, Address{}, 200)
		case unstake1:
			return tx(1, TxUnstake, Address{}, 950) // left with 50 < MinStake
		}
		return nil
	})
	tr := openChain(t, g, NewMemStore(), blocks)
	checked := 0
	for h := Height(1); h < tr.swept; h++ {
		n := tr.canon[h]
		if n.state != nil {
			continue
		}
		st := stateAt(t, tr, n.hash)
		for i := range 5 {
			a := testAddr(i)
			full := slices.ContainsFunc(st.tables, func(table []Stake) bool { return inTable(table, a) }) || slices.ContainsFunc(st.Stakes(), func(s Stake) bool { return s.Addr == a })
			cheap := tr.mayPropose(n, a)
			if full && !cheap {
				t.Fatalf("height %d: key %d is in a stake table but mayPropose says no", h, i)
			}
			if notYet := (i == 3 && h < stake3) || (i == 4 && h < stake4); notYet && cheap {
				t.Fatalf("height %d: key %d has not staked yet but mayPropose says yes", h, i)
			}
		}
		if tr.mayPropose(n, AddressOf(throwawayKey().Public().(ed25519.PublicKey))) {
			t.Fatalf("height %d: a key without tokens passes mayPropose", h)
		}
		checked++
	}
	if checked < 800 {
		t.Fatalf("checked %d old states, want at least 800", checked)
	}
}

// TestSnapshotBudget: with a small budget the snapshots thin out, their memory stays within it, and a rebuild
// still replays fewer blocks than the spacing it reached.
func TestSnapshotBudget(t *testing.T) {
	g := richGenesis()
	tr := openChain(t, g, NewMemStore(), chainBlocks(t, g, 4000, nil))
	full := len(tr.snaps.nodes)
	tr2, err := OpenTree(TreeConfig{Genesis: g, Store: tr.cfg.Store, Elect: treeElect, Better: treeBetter, Finality: testFinality,
		snapshotBudget: 12 * 4}) // 12 snapshots of 4 accounts
	if err != nil {
		t.Fatal(err)
	}
	if tr2.snaps.entries > 12*4 || len(tr2.snaps.nodes) > 12 || tr2.snaps.every <= snapshotEvery {
		t.Fatalf("budget of 48 entries: got %d entries in %d snapshots, spacing %d", tr2.snaps.entries,
			len(tr2.snaps.nodes), tr2.snaps.every)
	}
	t.Logf("4000 blocks: %d snapshots every %d without a tight budget, %d every %d with one", full,
		snapshotEvery, len(tr2.snaps.nodes), tr2.snaps.every)
	for h := Height(1); h < tr2.swept; h += 97 {
		before := tr2.replayed
		stateAt(t, tr2, tr2.canon[h].hash)
		if n := tr2.replayed - before; n >= uint64(tr2.snaps.every) {
			t.Fatalf("state at height %d: replayed %d blocks, spacing %d", h, n, tr2.snaps.every)
		}
	}
}

// BenchmarkOldParent measures what a node spends on a gossiped block (signature check, then Tree.Insert) at
// 20,000 blocks in a BoltStore: a forged block on the head (the normal rejection), and on a parent whose state
// is dropped and farthest from its snapshot, signed by a key without stake or by a staked validator that did
// not win the slot. replayed/op is the number of blocks replayed per rejection.
func BenchmarkOldParent(b *testing.B) {
	g := richGenesis()
	s, err := OpenBolt(b.TempDir() + "/chain.db")
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	tr := openChain(b, g, s, chainBlocks(b, g, oldChainLength, nil))
	head := tr.Head()
	slot := head.Slot + 1
	old := tr.canon[150*snapshotEvery+snapshotEvery-1]
	winner := leaderAt(b, tr, old.hash, slot)
	cases := []struct {
		name string
		blk  *Block
	}{
		{"normal", forge(tr.ChainID(), head, slot, throwawayKey())},
		{"old-parent-throwaway-key", forge(tr.ChainID(), old.tip(), slot, throwawayKey())},
		{"old-parent-staked-loser", forge(tr.ChainID(), old.tip(), slot, testKey((winner+1)%3))},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			before := tr.replayed
			for b.Loop() {
				if err, _ := rejection(tr, c.blk, slot); !errors.Is(err, ErrWrongProposer) {
					b.Fatalf("got %v, want ErrWrongProposer", err)
				}
			}
			b.ReportMetric(float64(tr.replayed-before)/float64(b.N), "replayed/op")
		})
	}
}
