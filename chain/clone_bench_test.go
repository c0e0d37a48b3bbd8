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
