package chain

import (
	"crypto/sha256"
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"
)

// TestAcctTreeMatchesMerkleRoot: the kept tree, built and then updated leaf by leaf, has the root merkleRoot
// gives for every list size from 0 to 130.
func TestAcctTreeMatchesMerkleRoot(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for n := 0; n <= 130; n++ {
		leaves := make([]Hash, n)
		for i := range leaves {
			leaves[i] = sha256.Sum256(fmt.Appendf(nil, "leaf %d %d", n, i))
		}
		tr := &acctTree{addrs: make([]Address, n)}
		if n > 0 {
			tr.root = buildTree(leaves)
		}
		if got, want := tr.rootHash(), merkleRoot(accountsDomain, leaves); got != want {
			t.Fatalf("%d leaves: tree root %s, merkleRoot %s", n, got.Short(), want.Short())
		}
		for range min(n, 5) {
			var ups []leafAt
			for i := range n {
				if rng.IntN(4) == 0 {
					leaves[i] = sha256.Sum256(fmt.Appendf(nil, "changed %d", rng.Uint64()))
					ups = append(ups, leafAt{i, leaves[i]})
				}
			}
			tr.root = withLeaves(tr.root, n, ups)
			if got, want := tr.rootHash(), merkleRoot(accountsDomain, leaves); got != want {
				t.Fatalf("%d leaves, %d replaced: tree root %s, merkleRoot %s", n, len(ups), got.Short(), want.Short())
			}
		}
	}
}

// fullRoot is the state root computed from scratch, as Root did before the accounts tree was kept.
func fullRoot(s *State) Hash {
	_, leaves := s.accountLeaves()
	return stateRootOf(s.epoch, tableRootsFresh(s), merkleRoot(accountsDomain, leaves))
}

func tableRootsFresh(s *State) Hash {
	leaves := make([]Hash, len(s.tables))
	for i, table := range s.tables {
		r := tableRoot(table)
		leaves[i] = merkleLeaf(r[:])
	}
	return merkleRoot(tablesDomain, leaves)
}

// TestSettledRootMatchesFull applies 300 random blocks (transfers between known accounts, transfers and
// proposers that create accounts, stakes, blocks that fail and are undone, branches off older states) and checks
// after each that Root, settleRoot and the root computed from scratch agree, and that no child changed the root
// of its parent.
func TestSettledRootMatchesFull(t *testing.T) {
	g := testGenesis()
	chainID := g.Hash()
	rng := rand.New(rand.NewPCG(3, 4))
	states := []*State{g.State()}
	roots := []Hash{fullRoot(states[0])}
	for h := 1; h <= 300; h++ {
		pi := len(states) - 1
		if rng.IntN(5) == 0 {
			pi = rng.IntN(len(states)) // a branch off an older state
		}
		parent := states[pi]
		s := parent.Clone()
		b := &Block{Header: Header{Height: Height(h), Slot: Slot(h), Proposer: testAddr(rng.IntN(12))}}
		for range rng.IntN(4) {
			from := rng.IntN(4)
			kind, to := TxTransfer, testAddr(rng.IntN(16))
			if rng.IntN(4) == 0 {
				kind, to = TxStake, Address{}
			}
			nonce := s.Account(testAddr(from)).Nonce
			for _, tx := range b.Txs {
				if tx.From == testAddr(from) {
					nonce++
				}
			}
			b.Txs = append(b.Txs, signedTx(chainID, from, kind, nonce, to, uint64(1+rng.IntN(3)), 1))
		}
		if rng.IntN(10) == 0 { // a transaction that fails: the whole block is undone
			b.Txs = append(b.Txs, signedTx(chainID, 0, TxTransfer, 1<<40, testAddr(1), 1, 1))
		}
		if err := s.ApplyBlock(b); err != nil {
			if got, want := s.Root(), roots[pi]; got != want {
				t.Fatalf("block %d failed (%v) and was undone: root %s, parent's %s", h, err, got.Short(), want.Short())
			}
			continue
		}
		want := fullRoot(s)
		if got := s.Root(); got != want {
			t.Fatalf("block %d: Root %s, from scratch %s", h, got.Short(), want.Short())
		}
		if got := s.settleRoot(); got != want {
			t.Fatalf("block %d: settleRoot %s, from scratch %s", h, got.Short(), want.Short())
		}
		if got := parent.Root(); got != roots[pi] {
			t.Fatalf("block %d changed its parent's root from %s to %s", h, roots[pi].Short(), got.Short())
		}
		states, roots = append(states, s), append(roots, want)
		checkIsValidator(t, s)
	}
	if len(states) < 200 {
		t.Fatalf("only %d of 300 blocks applied: the test does not exercise the kept tree", len(states)-1)
	}
}

// checkIsValidator: IsValidator agrees with membership of Validators for the state's epochs and the next few.
func checkIsValidator(t *testing.T, s *State) {
	t.Helper()
	for e := s.epoch - min(s.epoch, 1); e <= s.epoch+StakeLag+1; e++ {
		table := s.Validators(e)
		for i := range 16 {
			a := testAddr(i)
			want := slices.ContainsFunc(table, func(st Stake) bool { return st.Addr == a })
			if got := s.IsValidator(e, a); got != want {
				t.Fatalf("state in epoch %d: IsValidator(%d, key %d) = %v, Validators says %v", s.epoch, e, i, got, want)
			}
		}
	}
}

// sameState reports whether a and b hold the same ledger, whatever roots and trees each has kept to hash it and
// however each one's accounts are laid out in layers (cowMap).
func sameState(a, b *State) bool {
	x, y := *a, *b
	for _, s := range []*State{&x, &y} {
		s.tableRoots, s.rootsOf, s.acct, s.changed = nil, nil, nil, nil
		s.accounts = cowMapOf(s.accounts.flat())
	}
	return reflect.DeepEqual(&x, &y)
}
