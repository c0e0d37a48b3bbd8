package adversary

import (
	"context"
	"crypto/ed25519"
	"sync/atomic"
	"time"

	"github.com/posnode/posnode/chain"
)

// FloodStats counts what a flood sent.
type FloodStats struct {
	Sent atomic.Int64 // transactions published
}

// Flood publishes, from keys fresh keys that own nothing on the chain, BPM records with nonces 1..perKey each,
// at most perSecond a second (0: as fast as gossip takes them), until all are sent or ctx ends (PROTOCOL.md §3:
// none of them can ever apply). Records are signed as they are sent.
func (p *Peer) Flood(ctx context.Context, keys, perKey, perSecond int, stats *FloodStats) error {
	ks := make([]ed25519.PrivateKey, keys)
	for i := range ks {
		ks[i] = NewKey()
	}
	var pace <-chan time.Time
	if perSecond > 0 {
		t := time.NewTicker(time.Second / time.Duration(perSecond))
		defer t.Stop()
		pace = t.C
	}
	for nonce := 1; nonce <= perKey; nonce++ {
		for _, k := range ks {
			if pace != nil {
				select {
				case <-pace:
				case <-ctx.Done():
					return ctx.Err()
				}
			}
			tx := p.SignTx(k, chain.TxBPM, chain.Nonce(nonce), chain.Address{}, 60+uint64(nonce%100), p.gen.TxFee)
			if err := p.PublishTx(ctx, tx); err != nil {
				return err
			}
			stats.Sent.Add(1)
		}
	}
	return nil
}

// SignTx signs a transaction of key for the peer's network.
func (p *Peer) SignTx(key ed25519.PrivateKey, kind chain.TxKind, nonce chain.Nonce, to chain.Address, value uint64,
	fee chain.Amount) chain.Tx {
	tx := chain.NewTx(kind, chain.AddressOf(key.Public().(ed25519.PublicKey)), nonce, to, value, fee)
	tx.Sign(p.chainID, key)
	return tx
}

// PublishTx gossips a transaction.
func (p *Peer) PublishTx(ctx context.Context, tx chain.Tx) error {
	return publish(ctx, p.txs, tx.Encode())
}

// TxWithFee returns a BPM record of key at nonce that pays fee, which may be below genesis tx_fee.
func (p *Peer) TxWithFee(key ed25519.PrivateKey, nonce chain.Nonce, fee chain.Amount) chain.Tx {
	return p.SignTx(key, chain.TxBPM, nonce, chain.Address{}, 72, fee)
}

// OverspendBeforeRecords returns, for a funded key whose account is at nonce with balance, a transfer at nonce
// of the whole balance to to (which the fee makes overspend), then records records BPM records after it: the
// sequence that once made a proposer drop the records on their nonces.
func (p *Peer) OverspendBeforeRecords(key ed25519.PrivateKey, nonce chain.Nonce, balance chain.Amount,
	to chain.Address, records int) []chain.Tx {
	out := []chain.Tx{p.SignTx(key, chain.TxTransfer, nonce, to, uint64(balance), p.gen.TxFee)}
	for i := range records {
		out = append(out, p.SignTx(key, chain.TxBPM, nonce+1+chain.Nonce(i), chain.Address{}, 80, p.gen.TxFee))
	}
	return out
}

// PublishTxs gossips txs as one batch (at most chain.MaxTxBatch).
func (p *Peer) PublishTxs(ctx context.Context, txs []chain.Tx) error {
	return publish(ctx, p.txs, chain.EncodeTxBatch(txs))
}
