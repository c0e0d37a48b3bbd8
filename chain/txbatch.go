package chain

import "fmt"

// MaxTxBatch is the most transactions one gossip message of the transaction topic carries (PROTOCOL.md §10):
// 1,024 × 153 bytes = 156,672 bytes, well under the gossip message limit.
const MaxTxBatch = 1024

// EncodeTxBatch returns the gossip encoding of 1 to MaxTxBatch transactions: their 153-byte encodings one after
// the other (PROTOCOL.md §10). One transaction encodes exactly as Tx.Encode.
func EncodeTxBatch(txs []Tx) []byte {
	b := make([]byte, 0, len(txs)*TxSize)
	for i := range txs {
		b = txs[i].AppendTo(b)
	}
	return b
}

// DecodeTxBatch decodes a transaction topic message: a whole number, 1 to MaxTxBatch, of 153-byte transaction
// encodings. It returns ErrMalformed for any other length or for a transaction that does not decode; it checks
// nothing else (see Tx.ValidateBasic and VerifyTxs).
func DecodeTxBatch(b []byte) ([]Tx, error) {
	n := len(b) / TxSize
	if len(b) == 0 || len(b)%TxSize != 0 || n > MaxTxBatch {
		return nil, fmt.Errorf("%w: transaction batch of %d bytes, want 1 to %d times %d", ErrMalformed, len(b), MaxTxBatch, TxSize)
	}
	txs := make([]Tx, n)
	for i := range txs {
		var err error
		if txs[i], err = DecodeTx(b[i*TxSize : (i+1)*TxSize]); err != nil {
			return nil, fmt.Errorf("transaction %d: %w", i, err)
		}
	}
	return txs, nil
}
