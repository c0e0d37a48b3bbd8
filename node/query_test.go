package node

import (
	"testing"
	"time"

	"github.com/posnode/posnode/chain"
	"github.com/posnode/posnode/node/view"
)

// A block's evidence shows as included there: the offence, its offender and the offence's epoch (PROTOCOL.md §8b).
func TestViewBlockShowsEvidence(t *testing.T) {
	c := newCluster(t, []uint64{10}, time.Second, -time.Hour)
	n := &Node{cfg: Config{Genesis: c.gen}}
	proposer, voter := chain.Address{1}, chain.Address{2}
	b := &chain.Block{Evidence: []chain.Evidence{
		{Kind: chain.EvidenceDoubleProposal, HeaderA: chain.Header{Proposer: proposer, Slot: 17}, HeaderB: chain.Header{Proposer: proposer, Slot: 17}},
		{Kind: chain.EvidenceDoubleVote, VoteA: chain.Vote{Validator: voter, Target: chain.Checkpoint{Epoch: 3}},
			VoteB: chain.Vote{Validator: voter, Target: chain.Checkpoint{Epoch: 4}}},
	}}
	b.Header.Height = 9
	v := n.viewBlock(b)
	want := []view.Evidence{
		{ID: b.Evidence[0].ID(), Kind: "double-proposal", Offender: proposer, Epoch: 17 / c.gen.EpochLength, Status: "included", Height: 9},
		{ID: b.Evidence[1].ID(), Kind: "double-vote", Offender: voter, Epoch: 4, Status: "included", Height: 9}}
	if len(v.Evidence) != len(want) {
		t.Fatalf("got %d pieces of evidence, want %d", len(v.Evidence), len(want))
	}
	for i, got := range v.Evidence {
		if got.Block == nil || *got.Block != v.Hash {
			t.Errorf("evidence %d: block %v, want the block's own hash", i, got.Block)
		}
		got.Block = nil
		if got != want[i] {
			t.Errorf("evidence %d: got %+v, want %+v", i, got, want[i])
		}
	}
	if blank := n.viewBlock(&chain.Block{}); blank.Evidence != nil {
		t.Errorf("a block without evidence shows %+v", blank.Evidence)
	}
}
