package sim

import (
	"crypto/ed25519"
	"crypto/sha256"
	"fmt"
	"time"

	"github.com/posnode/posnode/chain"
	"github.com/posnode/posnode/consensus"
)

// Sizes of the simulated network.
const (
	totalStake = 10_000 // tokens staked in all; the adversary holds α of them
	// stakeGrindTotal replaces totalStake in the runs of the stake strategies, so that a grinder's k amounts of at
	// most a few thousand tokens each move its share by a few millionths.
	stakeGrindTotal = 1_000_000_000
	honestCount     = 3 // honest validators, sharing 1 − α equally
	sideAccounts    = 6 // the adversary's funded accounts whose records it reorders: 6! = 720 block versions
	// MaxK is the largest number of block versions the adversary can try per slot.
	MaxK = 720
)

// world is one simulated network: its genesis, keys and lottery table. Only the stake strategies send stake
// transactions; in the others the table of every epoch is the genesis one.
type world struct {
	gen    *chain.Genesis
	adv    ed25519.PrivateKey
	advID  chain.Address
	honest map[chain.Address]ed25519.PrivateKey
	side   []ed25519.PrivateKey
	table  consensus.Table
}

// simKey derives the key named name of run seed.
func simKey(seed int64, name string) ed25519.PrivateKey {
	s := sha256.Sum256(fmt.Appendf(nil, "posnode/sim/%d/%s", seed, name))
	return ed25519.NewKeyFromSeed(s[:])
}

func addrOf(k ed25519.PrivateKey) chain.Address {
	return chain.AddressOf(k.Public().(ed25519.PublicKey))
}

// newWorld builds the genesis of a run: the adversary with alphaPermille/1000 of the stake, three honest
// validators with the rest, and the adversary's side accounts with balances for its records. For a stake grinder
// the stake is stakeGrindTotal instead of totalStake and the adversary has a balance to stake from.
func newWorld(rule chain.SeedRule, alphaPermille int, epochLength uint64, seed int64, stakeGrinder bool) (*world, error) {
	total, balance := chain.Amount(totalStake), chain.Amount(0)
	if stakeGrinder {
		total, balance = stakeGrindTotal, 1<<40
	}
	w := &world{adv: simKey(seed, "adversary"), honest: map[chain.Address]ed25519.PrivateKey{}}
	w.advID = addrOf(w.adv)
	advStake := total * chain.Amount(alphaPermille) / 1000
	g := &chain.Genesis{
		ChainID: fmt.Sprintf("sim-%d", seed), Time: time.Unix(1_700_000_000, 0).UTC(),
		SlotDuration: chain.Duration(time.Second), EpochLength: epochLength,
		BlockReward: 1, MinStake: 1, TxFee: 1, SeedRule: rule,
		Allocations: []chain.Allocation{{Address: w.advID, Stake: advStake, Balance: balance}},
	}
	rest := total - advStake
	for i := range honestCount {
		k := simKey(seed, fmt.Sprintf("honest-%d", i))
		w.honest[addrOf(k)] = k
		share := rest / honestCount
		if i == 0 {
			share += rest % honestCount
		}
		g.Allocations = append(g.Allocations, chain.Allocation{Address: addrOf(k), Stake: share})
	}
	for i := range sideAccounts {
		k := simKey(seed, fmt.Sprintf("side-%d", i))
		w.side = append(w.side, k)
		g.Allocations = append(g.Allocations, chain.Allocation{Address: addrOf(k), Balance: 1 << 40})
	}
	if err := g.Validate(); err != nil {
		return nil, fmt.Errorf("sim genesis: %w", err)
	}
	t, err := consensus.NewTable(g.State().Stakes())
	if err != nil {
		return nil, fmt.Errorf("sim stake table: %w", err)
	}
	w.gen, w.table = g, t
	return w, nil
}

// openTree opens a tree of the world's chain over a fresh in-memory store, with a signature cache as a node
// has, so that a record is verified once however many versions of a block hold it.
func (w *world) openTree() (*chain.Tree, error) {
	return chain.OpenTree(chain.TreeConfig{Genesis: w.gen, Store: chain.NewMemStore(), Elect: consensus.Leader,
		Better: consensus.Better, Finality: consensus.FFGRules(), Sigs: chain.NewSigCache(w.gen.Hash(), 4*sideAccounts)})
}

// leads reports whether the adversary wins slot with seed source src (PROTOCOL.md §6).
func (w *world) leads(src chain.Hash, slot chain.Slot) bool {
	a, ok := w.table.Pick(consensus.Seed(src, slot))
	return ok && a == w.advID
}

// records returns the adversary's records for a block on state st, one per side account, in account order.
func (w *world) records(st *chain.State) []chain.Tx {
	chainID := w.gen.Hash()
	txs := make([]chain.Tx, len(w.side))
	for i, k := range w.side {
		from := addrOf(k)
		txs[i] = chain.NewTx(chain.TxBPM, from, st.Account(from).Nonce, chain.Address{}, uint64(60+i), 1)
		txs[i].Sign(chainID, k)
	}
	return txs
}

// permutation returns the v-th ordering (0 ≤ v < n!) of txs, by the factorial number system.
func permutation(txs []chain.Tx, v int) []chain.Tx {
	pool := append([]chain.Tx(nil), txs...)
	out := make([]chain.Tx, 0, len(txs))
	fact := 1
	for i := 2; i < len(txs); i++ {
		fact *= i
	}
	for n := len(txs) - 1; n >= 0; n-- {
		i := 0
		if n > 0 {
			i, v = v/fact, v%fact
			fact /= max(n, 1)
		}
		out = append(out, pool[i])
		pool = append(pool[:i], pool[i+1:]...)
	}
	return out
}
