package chain

import (
	"fmt"
	"testing"
)

// cloneBenchState returns a settled state of n accounts, each with a balance and a stake.
func cloneBenchState(n int) (*State, []Address) {
	s := &State{params: Params{BlockReward: 1, EpochLength: 1 << 40}, accounts: newAccounts(nil)}
	addrs := make([]Address, n)
	for i := range n {
		addrs[i] = Address(HashBytes(fmt.Appendf(nil, "acct-%d", i)))
		s.set(nil, addrs[i], Account{Balance: Amount(1000 + i), Stake: Amount(i)})
		s.supply += Amount(1000 + 2*i)
	}
	s.settleRoot()
	return s, addrs
}

// BenchmarkCloneApply measures what a process spends on each block's state: a Clone of the parent's state, an
// empty block applied to it (the proposer's reward) and its state root.
func BenchmarkCloneApply(b *testing.B) {
	for _, n := range []int{1024, 10000} {
		b.Run(fmt.Sprintf("accounts=%d", n), func(b *testing.B) {
			s, addrs := cloneBenchState(n)
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				c := s.Clone()
				blk := &Block{Header: Header{Slot: Slot(i + 1), Proposer: addrs[i%n]}}
				if err := c.ApplyBlock(blk); err != nil {
					b.Fatal(err)
				}
				c.settleRoot()
				s = c
				i++
			}
		})
	}
}

// BenchmarkFinalityNext measures the finality of each block of an epoch in which 1,024 validators vote, 128 votes a
// block, as a branch's blocks carry them: each op is one block's Next.
func BenchmarkFinalityNext(b *testing.B) {
	const validators, perBlock = 1024, 128
	g := Checkpoint{Hash: Hash{1}}
	table := make([]Stake, validators)
	votes := make([]Vote, validators)
	for i := range table {
		table[i] = Stake{Addr: Address(HashBytes(fmt.Appendf(nil, "val-%d", i))), Amount: 1}
		votes[i] = Vote{Validator: table[i].Addr, Source: g, Target: g}
	}
	rules := FinalityRules{Supermajority: func(_, _ Amount) bool { return false },
		Finalizes: func(_, _ Checkpoint) bool { return false }}
	b.ReportAllocs()
	var f *Finality
	i := 0
	for b.Loop() {
		if i%(validators/perBlock) == 0 {
			f = GenesisFinality(g.Hash, table)
		}
		k := i % (validators / perBlock) * perBlock
		var err error
		if f, err = f.Next(0, g.Hash, nil, nil, votes[k:k+perBlock], rules); err != nil {
			b.Fatal(err)
		}
		i++
	}
}
