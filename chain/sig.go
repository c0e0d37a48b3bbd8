package chain

import (
	"fmt"

	"github.com/oasisprotocol/curve25519-voi/curve"
	voi "github.com/oasisprotocol/curve25519-voi/primitives/ed25519"
)

// sigOptions verifies every consensus signature — transactions, blocks, votes, evidence — under ZIP-215's rules
// (PROTOCOL.md §1): cofactored verification that accepts exactly what batch verification accepts, so a block
// checked one signature at a time and one checked in a batch can never get different answers.
var sigOptions = &voi.Options{Verify: voi.VerifyOptionsZIP_215}

// verifySig reports whether sig is the owner of pub's ed25519 signature of msg under ZIP-215.
func verifySig(pub Address, msg, sig []byte) bool {
	if m := memo.Load(); m != nil {
		return m.remembered('s', func() bool {
			return voi.VerifyWithOptions(voi.PublicKey(pub[:]), msg, sig, sigOptions)
		}, pub[:], msg, sig)
	}
	return voi.VerifyWithOptions(voi.PublicKey(pub[:]), msg, sig, sigOptions)
}

// IsSmallOrder reports whether the address is an ed25519 public key of small order (or not a curve point at all):
// for such a key one fixed signature verifies every message, so it can never own an account (PROTOCOL.md §1).
func (a Address) IsSmallOrder() bool {
	if m := memo.Load(); m != nil {
		return m.remembered('o', a.isSmallOrder, a[:])
	}
	return a.isSmallOrder()
}

func (a Address) isSmallOrder() bool {
	var c curve.CompressedEdwardsY
	var p curve.EdwardsPoint
	if _, err := c.SetBytes(a[:]); err != nil {
		return true
	}
	if _, err := p.SetCompressedY(&c); err != nil {
		return true
	}
	return p.IsSmallOrder()
}

// VerifyTxs checks the signatures of txs on chain chainID in one ZIP-215 batch (PROTOCOL.md §3). It returns nil
// when all verify, or ErrBadSignature naming the first that does not: a batch is about twice as fast per
// signature as checking them one by one, and answers exactly as the single checks would.
func VerifyTxs(chainID Hash, txs []Tx) error {
	switch len(txs) {
	case 0:
		return nil
	case 1:
		return txs[0].Verify(chainID)
	}
	if memo.Load() != nil { // one by one: each check is remembered
		for i := range txs {
			if err := txs[i].Verify(chainID); err != nil {
				return fmt.Errorf("tx %d: %w", i, err)
			}
		}
		return nil
	}
	bv := voi.NewBatchVerifierWithCapacity(len(txs))
	checked := map[Address]struct{}{} // senders whose key is known not to be of small order: a batch repeats them
	for i := range txs {
		if _, ok := checked[txs[i].From]; !ok {
			if txs[i].From.IsSmallOrder() {
				return fmt.Errorf("tx %d: %w: sender %s is a small-order key", i, ErrInvalidTx, txs[i].From.Short())
			}
			checked[txs[i].From] = struct{}{}
		}
		bv.AddWithOptions(voi.PublicKey(txs[i].From[:]), txs[i].SigningBytes(chainID), txs[i].Sig[:], sigOptions)
	}
	ok, valid := bv.Verify(nil)
	if ok {
		return nil
	}
	for i, v := range valid {
		if !v {
			return fmt.Errorf("tx %d: %w: transaction %s from %s", i, ErrBadSignature, txs[i].ID().Short(), txs[i].From.Short())
		}
	}
	return fmt.Errorf("%w: batch of %d transactions", ErrBadSignature, len(txs))
}
