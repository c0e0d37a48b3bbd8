package votepool

import (
	"sync"

	"github.com/posnode/posnode/chain"
)

// numbers gives each validator address that any pool of this OS process kept a vote of a number, from 0, for good:
// a pool keeps a validator's votes in a slice at its number. The pools of one OS process share the numbering (the
// simulator's 1,024 processes read one small table the cache keeps), where a map of its own per pool missed the
// cache on most votes. It grows with the validators a chain ever had: a pool keeps votes only of validators of a
// stake table (AddVote's callers check it).
var numbers = struct {
	sync.RWMutex
	of map[chain.Address]int
}{of: map[chain.Address]int{}}

// numberOf returns a's number, and false when a has none yet.
func numberOf(a chain.Address) (int, bool) {
	numbers.RLock()
	n, ok := numbers.of[a]
	numbers.RUnlock()
	return n, ok
}

// number returns a's number, giving it the next one when it has none.
func number(a chain.Address) int {
	if n, ok := numberOf(a); ok {
		return n
	}
	numbers.Lock()
	defer numbers.Unlock()
	n, ok := numbers.of[a]
	if !ok {
		n = len(numbers.of)
		numbers.of[a] = n
	}
	return n
}

// heldOf returns the votes the pool holds of validator a.
func (p *Pool) heldOf(a chain.Address) held {
	if n, ok := numberOf(a); ok && n < len(p.votes) {
		return p.votes[n]
	}
	return held{}
}

// heldAt returns a pointer to the votes of validator a, growing the pool's slice to a's number.
func (p *Pool) heldAt(a chain.Address) *held {
	n := number(a)
	if n >= len(p.votes) {
		p.votes = append(p.votes, make([]held, n+1-len(p.votes))...)
	}
	return &p.votes[n]
}
