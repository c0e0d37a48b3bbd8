package chain

import (
	"reflect"
	"weak"
)

// The finality of a branch, shared by a StateMemo. Each node counts every vote a block carries into its own
// tallies (Finality.Next), so N simulated nodes held N copies of the same counted votes, the largest part of a
// 1,024-node run's heap, and counted each vote N times. With a StateMemo installed the finality after a block is
// computed once for the trees whose parent's finality is the same value: Next is a function of that finality, the
// block (its hash covers its parent, slot, votes and evidence, and the parent's state) and the rules, and a
// Finality attached to a block is never modified. The trees of a process share the finality at genesis, so the
// finality of every block they accept from genesis on is shared; a tree opened from a snapshot or an anchor starts
// a finality of its own, and its blocks' finality is shared only with trees of that lineage.

// finKey names the finality after a block: its parent's finality (weak: once it is collected no tree can ask
// again), the block's hash, and the rules' functions.
type finKey struct {
	parent               weak.Pointer[Finality]
	block                Hash
	supermajority, final uintptr
}

// finMemo holds the shared finalities; the StateMemo's mutex guards it.
type finMemo struct {
	after   map[finKey]weak.Pointer[Finality]
	genesis map[Hash]*Finality
	live    int // the entries after the last sweep
}

// genesisFinalityOf returns the finality at genesis of the chain whose state at genesis is gs: with a StateMemo
// installed, one per genesis hash for the process.
func genesisFinalityOf(g0 Checkpoint, gs *State) *Finality {
	m := stateMemo.Load()
	if m == nil {
		return genesisFinality(g0, tallyOn(g0, gs))
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	f, ok := m.fin.genesis[g0.Hash]
	if !ok {
		f = genesisFinality(g0, tallyOn(g0, gs))
		m.fin.genesis[g0.Hash] = f
	}
	return f
}

// nextShared returns parent.Next(e, ph, ps, slashed, b.Votes, rules) for block b, whose parent (hash ph, post-state
// ps) has the finality parent: with a StateMemo installed, the finality an earlier call returned for the same
// parent finality, block and rules, if some tree still holds it.
func nextShared(parent *Finality, b *Block, e Epoch, ph Hash, ps *State, slashed []Address,
	rules FinalityRules) (*Finality, error) {
	m := stateMemo.Load()
	if m == nil {
		return parent.Next(e, ph, ps, slashed, b.Votes, rules)
	}
	k := finKey{parent: weak.Make(parent), block: b.Hash(), supermajority: reflect.ValueOf(rules.Supermajority).Pointer(),
		final: reflect.ValueOf(rules.Finalizes).Pointer()}
	m.mu.Lock()
	w, ok := m.fin.after[k]
	m.mu.Unlock()
	if f := w.Value(); ok && f != nil {
		return f, nil
	}
	f, err := parent.Next(e, ph, ps, slashed, b.Votes, rules)
	if err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.fin.after[k] = weak.Make(f)
	if len(m.fin.after) > 2*m.fin.live+1024 {
		for k, w := range m.fin.after { // deleting while ranging is allowed; the order does not matter
			if k.parent.Value() == nil || w.Value() == nil {
				delete(m.fin.after, k)
			}
		}
		m.fin.live = len(m.fin.after)
	}
	return f, nil
}
