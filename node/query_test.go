package node

import (
	"testing"
	"time"

	"github.com/posnode/posnode/chain"
	"github.com/posnode/posnode/node/view"
)

// A block's evidence shows as the offence, its offender and the offence's epoch (PROTOCOL.md §8b).
func TestViewBlockShowsEvidence(t *testing.T) {
	c := newCluster(t, []uint64{10}, time.Second, -time.Hour)
	n := &Node{cfg: Config{Genesis: c.gen}}
	proposer, voter := chain.Address{1}, chain.Address{2}
	b := &chain.Block{Evidence: []chain.Evidence{
		{Kind: chain.EvidenceDoubleProposal, HeaderA: chain.Header{Proposer: proposer, Slot: 17}, HeaderB: chain.Header{Proposer: proposer, Slot: 17}},
		{Kind: chain.EvidenceDoubleVote, VoteA: chain.Vote{Validator: voter, Target: chain.Checkpoint{Epoch: 3}},
			VoteB: chain.Vote{Validator: voter, Target: chain.Checkpoint{Epoch: 4}}},
	}}
	got := n.viewBlock(b).Evidence
	want := []view.Evidence{{Kind: "double-proposal", Offender: proposer, Epoch: 17 / c.gen.EpochLength}, {Kind: "double-vote", Offender: voter, Epoch: 4}}
	if len(got) != len(want) || got[0] != want[0] || got[1] != want[1] {
		t.Errorf("got %+v, want %+v", got, want)
	}
	if blank := n.viewBlock(&chain.Block{}); blank.Evidence != nil {
		t.Errorf("a block without evidence shows %+v", blank.Evidence)
	}
}
