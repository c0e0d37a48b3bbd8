package votepool

import (
	"testing"

	"github.com/posnode/posnode/chain"
)

// BenchmarkVoteCheck is what a node spends on one gossiped vote before the event loop's stake table lookup:
// decode, stateless rule, signature, and the pool (PROTOCOL.md §10), with 1,000 validators voting.
func BenchmarkVoteCheck(b *testing.B) {
	const validators = 1000
	encoded := make([][]byte, validators)
	for i := range encoded {
		v := vote(i, cp(4, 0), cp(5, 0))
		encoded[i] = v.Encode()
	}
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		if i%validators == 0 {
			b.StopTimer()
			p := poolAt(5)
			b.StartTimer()
			benchPool = p
		}
		v, err := chain.DecodeVote(encoded[i%validators])
		if err == nil {
			err = v.ValidateBasic()
		}
		if err == nil {
			err = v.Verify(chainID)
		}
		if err == nil {
			_, err = benchPool.AddVote(v)
		}
		if err != nil {
			b.Fatal(err)
		}
	}
}

var benchPool *Pool

// BenchmarkVotesForBlock is the proposer's cost of collecting the pool's votes for a block, with 1,000 validators
// voting in each of two epochs.
func BenchmarkVotesForBlock(b *testing.B) {
	p := poolAt(5)
	for i := range 1000 {
		for _, e := range []chain.Epoch{4, 5} {
			if _, err := p.AddVote(vote(i, cp(e-1, 0), cp(e, 0))); err != nil {
				b.Fatal(err)
			}
		}
	}
	for b.Loop() {
		if len(p.Votes()) != 2000 {
			b.Fatal("votes lost")
		}
	}
}
