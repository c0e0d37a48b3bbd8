package node

import (
	"context"

	"github.com/posnode/posnode/chain"
	"github.com/posnode/posnode/light"
)

// serveLightRecords answers a history request (PROTOCOL.md §14): the account's BPM records in canonical blocks
// below the requested height with a nonce below the requested one, newest first, each with its block's header
// and inclusion proof, read off the event loop from the read snapshot within the bounds of a records page
// (maxRecordBlocks blocks, maxRecordTxs transactions). Next is the height of the lowest block read, plus one
// when the page ended inside it.
func (n *Node) serveLightRecords(ctx context.Context, _ string, req []byte) ([]byte, error) {
	r, err := light.DecodeRecordsRequest(req)
	if err != nil {
		return nil, err
	}
	snap, err := n.readSnapshot(ctx)
	if err != nil {
		return nil, err
	}
	top := snap.headHeight()
	if r.Before > 0 {
		top = min(top, r.Before-1)
	}
	var out light.RecordsAnswer
	var proofErr error
	cut := false // the page ended inside a block
	from, err := n.pageWalk(ctx, snap, top, func(b *chain.Block, _ chain.Height) bool {
		recs, err := lightRecordsOf(b, r.Address, r.BelowNonce)
		if err != nil {
			proofErr = err
			return false
		}
		room := int(r.Limit) - len(out.Records)
		out.Records = append(out.Records, recs[:min(len(recs), room)]...)
		cut = len(recs) > room
		return len(out.Records) < int(r.Limit)
	})
	if err == nil {
		err = proofErr
	}
	if err != nil {
		return nil, err
	}
	if cut {
		from++ // the rest of this block's records come next, below the last one's nonce
	}
	if from > 1 {
		out.Next = from
	}
	return out.Encode(), nil
}

// lightRecordsOf returns the BPM records addr sent in block b with a nonce below below (0: any), newest (last in
// the block) first, each with its inclusion proof.
func lightRecordsOf(b *chain.Block, addr chain.Address, below chain.Nonce) ([]light.Record, error) {
	var out []light.Record
	for i := len(b.Txs) - 1; i >= 0; i-- {
		tx := &b.Txs[i]
		if tx.Kind != chain.TxBPM || tx.From != addr || (below > 0 && tx.Nonce >= below) {
			continue
		}
		p, err := chain.TxProof(b.Txs, i)
		if err != nil {
			return nil, err
		}
		out = append(out, light.Record{Tx: b.Txs[i], Header: b.Header, Proof: p})
	}
	return out, nil
}
