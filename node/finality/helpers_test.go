package finality

import (
	"crypto/ed25519"
	"errors"

	"github.com/posnode/posnode/chain"
	"github.com/posnode/posnode/internal/chaintest"
)

const epochLen = 8

var keys = chaintest.Keys("finality")

var chainID = keys.ChainID()

func key(i int) ed25519.PrivateKey { return keys.Key(i) }

func addr(i int) chain.Address { return keys.Addr(i) }

func cp(e chain.Epoch, tag byte) chain.Checkpoint { return chaintest.Checkpoint(e, tag) }

// vote returns validator i's signed vote source→target.
func vote(i int, source, target chain.Checkpoint) chain.Vote { return keys.Vote(i, source, target) }

// staked are the validators of the test network: 0 to 3 with stakes 10, 20, 30, 40; 4 holds only a balance.
var staked = []chain.Amount{10, 20, 30, 40}

func genesis() *chain.Genesis {
	g := &chain.Genesis{ChainID: "finality-test", EpochLength: epochLen, MinStake: 1}
	for i, s := range staked {
		g.Allocations = append(g.Allocations, chain.Allocation{Address: addr(i), Stake: s})
	}
	g.Allocations = append(g.Allocations, chain.Allocation{Address: addr(4), Balance: 100})
	return g
}

// fakeChain is a head's branch as the duty reads it.
type fakeChain struct {
	head      chain.Tip
	state     *chain.State
	justified chain.Checkpoint
	finalized chain.Checkpoint
	tableErr  error
	holds     map[chain.Address]bool // whose votes the branch holds, for every target
}

func newChain() *fakeChain {
	return &fakeChain{state: genesis().State(), holds: map[chain.Address]bool{}}
}

func (c *fakeChain) Head() chain.Tip                           { return c.head }
func (c *fakeChain) HeadState() *chain.State                   { return c.state }
func (c *fakeChain) Finality() (j, f chain.Checkpoint)         { return c.justified, c.finalized }
func (c *fakeChain) Checkpoint(e chain.Epoch) chain.Checkpoint { return cp(e, 0) }

func (c *fakeChain) InStakeTable(e chain.Epoch, a chain.Address) (bool, error) {
	table, err := c.StakeTable(e)
	for _, st := range table {
		if st.Addr == a {
			return true, nil
		}
	}
	return false, err
}

func (c *fakeChain) StakeTable(chain.Epoch) ([]chain.Stake, error) {
	if c.tableErr != nil {
		return nil, c.tableErr
	}
	var table []chain.Stake
	for i, s := range staked {
		table = append(table, chain.Stake{Addr: addr(i), Amount: s})
	}
	return table, nil
}

func (c *fakeChain) HoldsVote(_ chain.Checkpoint, a chain.Address) bool { return c.holds[a] }

var errDisk = errors.New("disk")

// dutyOf returns validator i's duty at epoch now on c.
func dutyOf(i int, c *fakeChain, now chain.Epoch) *Duty { return New(genesis(), addr(i), c, now) }

// doubleVote is evidence that validator i signed two votes for target epoch e.
func doubleVote(i int, e chain.Epoch) chain.Evidence {
	return chain.NewDoubleVote(vote(i, cp(e-1, 0), cp(e, 0)), vote(i, cp(e-1, 0), cp(e, 1)))
}
