package node

import (
	"context"

	"github.com/posnode/posnode/chain"
	"github.com/posnode/posnode/node/finality"
	"github.com/posnode/posnode/node/view"
)

// The node's answers about finality and evidence; see package view.
type (
	FinalityView = view.Finality
	EvidenceView = view.Evidence
)

// Finality reports the head's justified and finalized checkpoints, how far finality lags the clock, and the
// checkpoint validators vote for now (PROTOCOL.md §8a).
func (n *Node) Finality(ctx context.Context) (FinalityView, error) {
	var v FinalityView
	var err error
	callErr := n.call(ctx, func() {
		g, slot := n.cfg.Genesis, n.currentSlot()
		v.Justified, v.Finalized = n.tree.Finality()
		v.Checkpoint = v.Finalized.Text()
		v.Slot, v.Epoch = uint64(slot), uint64(g.EpochOf(slot))
		v.LagSlots = finality.LagSlots(v.Finalized, slot, g.EpochLength)
		v.Target = n.tree.Checkpoint(g.EpochOf(slot))
		_, oldest, window, _ := n.tree.Retention()
		v.RetainEpochs, v.OldestHeight = window, uint64(oldest)
		if v.Finalized.Hash != n.chainID {
			var b *chain.Block
			if b, err = n.tree.Block(v.Finalized.Hash); err == nil {
				v.FinalizedHeight = uint64(b.Header.Height)
			}
		}
	})
	if callErr != nil {
		return FinalityView{}, callErr
	}
	return v, err
}

// Evidence lists the evidence the node knows (PROTOCOL.md §8b): pending first, in the order a proposer would
// include it, then included, newest first, with what each burned.
func (n *Node) Evidence(ctx context.Context) ([]EvidenceView, error) {
	var out []EvidenceView
	err := n.call(ctx, func() {
		el := n.cfg.Genesis.EpochLength
		for _, e := range n.ffg.Pool().Evidence() {
			out = append(out, evidenceView(e, el, "pending"))
		}
		for _, in := range n.ffg.Pool().Included() {
			v := evidenceView(in.Evidence, el, "included")
			blk := in.Block
			v.Height, v.Block = uint64(in.Height), &blk
			v.Burned, v.Reward = uint64(in.Slashing.Burned), uint64(in.Slashing.Reward)
			out = append(out, v)
		}
	})
	return out, err
}

func evidenceView(e chain.Evidence, epochLength uint64, status string) EvidenceView {
	return EvidenceView{ID: e.ID(), Kind: e.Kind.String(), Offender: e.Offender(), Epoch: uint64(e.Epoch(epochLength)),
		Status: status}
}
