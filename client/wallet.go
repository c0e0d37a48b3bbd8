package client

import (
	"crypto/ed25519"
	"fmt"

	"github.com/posnode/posnode/chain"
	"github.com/posnode/posnode/keyfile"
)

// Wallet signs transactions of one key for one network.
type Wallet struct {
	key     ed25519.PrivateKey
	addr    chain.Address
	chainID chain.Hash
	fee     chain.Amount
}

// New returns the wallet of key on the network whose genesis hash is chainID, paying fee per transaction (at
// least the genesis tx_fee, PROTOCOL.md §3, or no node admits its transactions).
func New(key ed25519.PrivateKey, chainID chain.Hash, fee chain.Amount) *Wallet {
	return &Wallet{key: key, addr: chain.AddressOf(key.Public().(ed25519.PublicKey)), chainID: chainID, fee: fee}
}

// Open returns the wallet of the key file at path (PROTOCOL.md §1); its errors are keyfile's.
func Open(path string, chainID chain.Hash, fee chain.Amount) (*Wallet, error) {
	key, err := keyfile.Load(path)
	if err != nil {
		return nil, err
	}
	return New(key, chainID, fee), nil
}

// Address returns the wallet's account address.
func (w *Wallet) Address() chain.Address { return w.addr }

// BPM returns the signed record of a heart rate of bpm beats per minute, 1 to 300, as the account's
// transaction of nonce n.
func (w *Wallet) BPM(n chain.Nonce, bpm uint64) (chain.Tx, error) {
	return w.sign(chain.TxBPM, n, chain.Address{}, bpm)
}

// Send returns the signed transfer of amount tokens to to, as the account's transaction of nonce n.
func (w *Wallet) Send(n chain.Nonce, to chain.Address, amount chain.Amount) (chain.Tx, error) {
	return w.sign(chain.TxTransfer, n, to, uint64(amount))
}

// Stake returns the signed stake of amount tokens of the balance, as the account's transaction of nonce n.
func (w *Wallet) Stake(n chain.Nonce, amount chain.Amount) (chain.Tx, error) {
	return w.sign(chain.TxStake, n, chain.Address{}, uint64(amount))
}

// Unstake returns the signed unstake of amount staked tokens, as the account's transaction of nonce n.
func (w *Wallet) Unstake(n chain.Nonce, amount chain.Amount) (chain.Tx, error) {
	return w.sign(chain.TxUnstake, n, chain.Address{}, uint64(amount))
}

// sign builds, checks and signs a transaction; a transaction that breaks a stateless rule (PROTOCOL.md §3) is
// returned as an error wrapping chain.ErrInvalidTx, unsigned.
func (w *Wallet) sign(kind chain.TxKind, n chain.Nonce, to chain.Address, value uint64) (chain.Tx, error) {
	tx := chain.NewTx(kind, w.addr, n, to, value, w.fee)
	if err := tx.ValidateBasic(); err != nil {
		return chain.Tx{}, fmt.Errorf("%s of %d: %w", kind, value, err)
	}
	tx.Sign(w.chainID, w.key)
	return tx, nil
}
