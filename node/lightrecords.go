package node

import (
	"context"

	"github.com/posnode/posnode/chain"
	"github.com/posnode/posnode/light"
)

// serveLightRecords answers a history request (PROTOCOL.md §14): the account's BPM records in canonical blocks
// below the requested height, newest first, each with its block's header and inclusion proof, read off the event
// loop from the read snapshot within the bounds of a records page (maxRecordBlocks blocks, maxRecordTxs
// transactions). A block's records are not split between answers, except that of a block holding more than the
// limit only the newest limit are served; Next is then the height below that block.
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
	blocks, txs, from := 0, 0, top+1
	for h := top; h > 0 && blocks < maxRecordBlocks && txs < maxRecordTxs && len(out.Records) < int(r.Limit); h-- {
		b, err := n.readBlock(ctx, snap.at(h).hash)
		if err != nil {
			return nil, err
		}
		recs, err := lightRecordsOf(b, r.Address)
		if err != nil {
			return nil, err
		}
		if len(out.Records) > 0 && len(out.Records)+len(recs) > int(r.Limit) {
			break // this block's records go to the next answer, whole
		}
		out.Records = append(out.Records, recs[:min(len(recs), int(r.Limit))]...)
		blocks, txs, from = blocks+1, txs+len(b.Txs), h
	}
	if from > 1 {
		out.Next = from
	}
	return out.Encode(), nil
}

// lightRecordsOf returns the BPM records addr sent in block b, newest (last in the block) first, each with its
// inclusion proof.
func lightRecordsOf(b *chain.Block, addr chain.Address) ([]light.Record, error) {
	var out []light.Record
	for i := len(b.Txs) - 1; i >= 0; i-- {
		if b.Txs[i].Kind != chain.TxBPM || b.Txs[i].From != addr {
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
