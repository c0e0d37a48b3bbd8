package client

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/posnode/posnode/chain"
	"github.com/posnode/posnode/consensus"
	"github.com/posnode/posnode/light"
)

// ErrBadRecord: a node's history answer holds a record the client cannot accept: not a BPM record of its
// account, not signed by the account's key, not proven in its header, out of order, or in a header at a
// checkpoint height other than the checkpoint the client trusts there.
var ErrBadRecord = errors.New("bad history record")

// HistoryRecord is one of the account's BPM records, proven (PROTOCOL.md §14): signed by the account's key and
// included in the block of Height by a proof under its tx_root. Final says the block is at or below the
// finalized checkpoint's height and the finalized state has consumed the record's nonce.
type HistoryRecord struct {
	ID     chain.Hash   `json:"id"`
	Nonce  chain.Nonce  `json:"nonce"`
	BPM    uint64       `json:"bpm"`
	Height chain.Height `json:"height"`
	Slot   chain.Slot   `json:"slot"`
	Time   time.Time    `json:"time"`
	Block  chain.Hash   `json:"block"`
	Final  bool         `json:"final"`
}

// History asks a node for the account's BPM records below height before (0: from the head down) with a nonce
// below belowNonce (0: any), newest first, at most limit (1 to light.MaxRecords), and checks each
// (VerifyRecords); a node whose answer fails is a liar and the next is asked. next is the before of the next
// page, 0 when the chain was read down to height 1; the next page's belowNonce is the last record's nonce.
// Errors: ErrNoPeer, the context's.
func (c *Client) History(ctx context.Context, before chain.Height, belowNonce chain.Nonce, limit int) (recs []HistoryRecord, next chain.Height, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if limit < 1 || limit > light.MaxRecords {
		return nil, 0, fmt.Errorf("%w: limit %d, want 1 to %d", ErrBadRecord, limit, light.MaxRecords)
	}
	if err := c.bootstrap(ctx); err != nil {
		return nil, 0, err
	}
	final, err := c.finalNonce(ctx)
	if err != nil {
		return nil, 0, err
	}
	req := light.RecordsRequest{Address: c.Address(), Before: before, BelowNonce: belowNonce, Limit: uint16(limit)}
	err = c.ask(ctx, light.ProtoRecords, req.Encode(), c.followed(), func(resp []byte) error {
		a, err := light.DecodeRecordsAnswer(resp)
		if err != nil {
			return err
		}
		if err := VerifyRecords(c.cfg.Genesis.Hash(), c.st.Trust, req, a); err != nil {
			return err
		}
		recs, next = c.historyOf(a, final), a.Next
		return nil
	})
	return recs, next, err
}

func (c *Client) historyOf(a light.RecordsAnswer, final chain.Nonce) []HistoryRecord {
	g, f := c.cfg.Genesis, c.st.Trust.Finalized
	out := make([]HistoryRecord, 0, len(a.Records))
	for _, r := range a.Records {
		out = append(out, HistoryRecord{ID: r.Tx.ID(), Nonce: r.Tx.Nonce, BPM: r.Tx.Value, Height: r.Header.Height,
			Slot: r.Header.Slot, Time: consensus.SlotStart(g.Time, time.Duration(g.SlotDuration), r.Header.Slot).UTC(),
			Block: r.Header.Hash(), Final: r.Header.Height <= f.Height && r.Tx.Nonce < final})
	}
	return out
}

// VerifyRecords checks a history answer to req (PROTOCOL.md §14): each record is a BPM record from req.Address
// signed by its key on chain chainID, its id is proven under its header's tx_root, heights are below req.Before
// and do not rise, nonces fall and lie below req.BelowNonce, and a header at the height of the justified or
// finalized checkpoint the client trusts is that checkpoint's block; Next lies below req.Before, or at it after
// records (which lowered the nonce). Errors wrap ErrBadRecord, and
// chain.ErrBadSignature or chain.ErrBadProof where those failed.
func VerifyRecords(chainID chain.Hash, t light.Trust, req light.RecordsRequest, a light.RecordsAnswer) error {
	if len(a.Records) > int(req.Limit) {
		return fmt.Errorf("%w: %d records for a limit of %d", ErrBadRecord, len(a.Records), req.Limit)
	}
	if req.Before > 0 && (a.Next > req.Before || a.Next == req.Before && len(a.Records) == 0) {
		return fmt.Errorf("%w: next page below %d after a request below %d", ErrBadRecord, a.Next, req.Before)
	}
	for i := range a.Records {
		r := &a.Records[i]
		if err := verifyRecord(chainID, t, req, r); err != nil {
			return fmt.Errorf("record %d (%s): %w", i, r.Tx.ID().Short(), err)
		}
		if i > 0 && (r.Header.Height > a.Records[i-1].Header.Height || r.Tx.Nonce >= a.Records[i-1].Tx.Nonce) {
			return fmt.Errorf("%w: record %d at height %d nonce %d after height %d nonce %d", ErrBadRecord, i,
				r.Header.Height, r.Tx.Nonce, a.Records[i-1].Header.Height, a.Records[i-1].Tx.Nonce)
		}
	}
	return nil
}

func verifyRecord(chainID chain.Hash, t light.Trust, req light.RecordsRequest, r *light.Record) error {
	switch {
	case r.Tx.From != req.Address:
		return fmt.Errorf("%w: a record of account %s", ErrBadRecord, r.Tx.From.Short())
	case r.Tx.Kind != chain.TxBPM:
		return fmt.Errorf("%w: a %s transaction", ErrBadRecord, r.Tx.Kind)
	case req.BelowNonce > 0 && r.Tx.Nonce >= req.BelowNonce:
		return fmt.Errorf("%w: nonce %d for a request below %d", ErrBadRecord, r.Tx.Nonce, req.BelowNonce)
	case req.Before > 0 && r.Header.Height >= req.Before, r.Header.Height == 0:
		return fmt.Errorf("%w: height %d for a request below %d", ErrBadRecord, r.Header.Height, req.Before)
	}
	for _, p := range []light.Point{t.Finalized, t.Justified} {
		if p.Height > 0 && r.Header.Height == p.Height && r.Header.Hash() != p.Checkpoint.Hash {
			return fmt.Errorf("%w: block %s at height %d, the trusted checkpoint there is %s", ErrBadRecord,
				r.Header.Hash().Short(), p.Height, p.Checkpoint.Hash.Short())
		}
	}
	if err := r.Tx.Verify(chainID); err != nil {
		return fmt.Errorf("%w: %w", ErrBadRecord, err)
	}
	if err := chain.VerifyTxProof(r.Header.TxRoot, r.Tx.ID(), r.Proof); err != nil {
		return fmt.Errorf("%w: %w", ErrBadRecord, err)
	}
	return nil
}
