package client

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/posnode/posnode/chain"
	"github.com/posnode/posnode/light"
)

// Event is a step of a record the client proved: committed (an inclusion proof), final (the finalized state has
// consumed its nonce), or resubmitted (a reorg took it out of the chain).
type Event struct {
	Kind   string // StatusCommitted, StatusFinal, or "resubmitted"
	Record Record
}

// Submit signs a transaction of kind with the next nonce and sends it to a node (PROTOCOL.md §3, §14); the
// record then waits for Track. to matters for transfers only. Errors: the wallet's (chain.ErrInvalidTx), a
// node's refusal, ErrNoPeer.
func (c *Client) Submit(ctx context.Context, kind chain.TxKind, to chain.Address, value uint64) (Record, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.bootstrap(ctx); err != nil {
		return Record{}, err
	}
	nonce, err := c.nextNonce(ctx)
	if err != nil {
		return Record{}, err
	}
	tx, err := c.sign(kind, nonce, to, value)
	if err != nil {
		return Record{}, err
	}
	if err := c.send(ctx, tx); err != nil {
		return Record{}, err
	}
	r := newRecord(tx)
	c.st.Pending = append(c.st.Pending, r)
	return r, c.st.store(c.cfg.StatePath)
}

func (c *Client) sign(kind chain.TxKind, n chain.Nonce, to chain.Address, value uint64) (chain.Tx, error) {
	w := c.cfg.Wallet
	switch kind {
	case chain.TxBPM:
		return w.BPM(n, value)
	case chain.TxTransfer:
		return w.Send(n, to, chain.Amount(value))
	case chain.TxStake:
		return w.Stake(n, chain.Amount(value))
	case chain.TxUnstake:
		return w.Unstake(n, chain.Amount(value))
	}
	return chain.Tx{}, fmt.Errorf("%w: kind %s", chain.ErrInvalidTx, kind)
}

// send submits tx to a node; the answer must be tx's id.
func (c *Client) send(ctx context.Context, tx chain.Tx) error {
	return c.ask(ctx, light.ProtoSubmit, tx.Encode(), c.followed(), func(resp []byte) error {
		id, err := light.DecodeHash(resp)
		if err == nil && id != tx.ID() {
			err = fmt.Errorf("%w: submit answered id %s for %s", light.ErrMalformed, id.Short(), tx.ID().Short())
		}
		return err
	})
}

// followed is the epoch the client is following: the one after its justified checkpoint's.
func (c *Client) followed() chain.Epoch { return c.st.Trust.Justified.Checkpoint.Epoch + 1 }

// nextNonce is the nonce after the newest pending record, or the account's nonce in the finalized state.
func (c *Client) nextNonce(ctx context.Context) (chain.Nonce, error) {
	n, err := c.finalNonce(ctx)
	if err != nil {
		return 0, err
	}
	for _, r := range c.st.Pending {
		n = max(n, r.Nonce+1)
	}
	return n, nil
}

// finalNonce is the wallet's account nonce in the state after the finalized checkpoint (finalAccount), cached
// per checkpoint.
func (c *Client) finalNonce(ctx context.Context) (chain.Nonce, error) {
	f := c.st.Trust.Finalized
	if c.nonceKnown && c.nonceAt == f.Checkpoint {
		return c.nonce, nil
	}
	acc, err := c.finalAccount(ctx)
	if err == nil {
		c.nonce, c.nonceAt, c.nonceKnown = acc.Nonce, f.Checkpoint, true
	}
	return acc.Nonce, err
}

// Account returns the wallet's account in the state after the finalized checkpoint the client trusts, proven
// against that block's state root, and that checkpoint.
func (c *Client) Account(ctx context.Context) (chain.Account, light.Point, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.bootstrap(ctx); err != nil {
		return chain.Account{}, light.Point{}, err
	}
	acc, err := c.finalAccount(ctx)
	return acc, c.st.Trust.Finalized, err
}

// finalAccount asks for the wallet's account in the state after the finalized checkpoint and checks its proof
// (PROTOCOL.md §4a); the zero account for one the state does not hold yet.
func (c *Client) finalAccount(ctx context.Context) (chain.Account, error) {
	f := c.st.Trust.Finalized
	req := light.AccountRequest{Address: c.Address(), At: f.Checkpoint}
	var acc chain.Account
	err := c.ask(ctx, light.ProtoAccount, req.Encode(), c.followed(), func(resp []byte) error {
		a, err := light.DecodeAccountAnswer(resp)
		if err != nil {
			return err
		}
		acc = a.Account
		return chain.VerifyAccountProof(f.StateRoot, req.Address, a.Account, a.Proof)
	})
	if err != nil && strings.Contains(err.Error(), chain.ErrNotInList.Error()) {
		return chain.Account{}, nil // no proof of absence exists (§4a); a lie here only gets a transaction refused
	}
	return acc, err
}

// Track proves what it can of the pending records (PROTOCOL.md §14): the ones whose nonce the finalized state
// has consumed are final; each other is looked up for an inclusion proof, committed when one verifies, and
// submitted again when a record proven before is in no canonical block any more (a reorg returned it).
func (c *Client) Track(ctx context.Context) ([]Event, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.st.Pending) == 0 {
		return nil, nil
	}
	c.tracks++
	final, err := c.finalNonce(ctx)
	if err != nil {
		return nil, err
	}
	var events []Event
	keep := c.st.Pending[:0]
	asked := 0
	for _, r := range c.st.Pending {
		if r.Nonce < final {
			if r.Status != StatusCommitted { // final before it was seen committed: prove where it is first
				ev, err := c.prove(ctx, &r)
				if err != nil {
					c.logf("record %s: %v", r.ID.Short(), err)
				}
				if ev != nil {
					events = append(events, *ev)
				}
			}
			r.Status, r.Epoch = StatusFinal, c.st.Trust.Finalized.Checkpoint.Epoch
			c.st.History = append(c.st.History, r)
			events = append(events, Event{Kind: StatusFinal, Record: r})
			continue
		}
		if asked < maxProofsPerTrack && c.due(r) {
			asked++
			ev, err := c.prove(ctx, &r)
			if err != nil && !errors.Is(err, context.Canceled) && !remoteRefusal(err) { // "not in a block yet" is no news
				c.logf("record %s: %v", r.ID.Short(), err)
			}
			if ev != nil {
				events = append(events, *ev)
			}
		}
		keep = append(keep, r)
	}
	c.st.Pending = slices.Clip(keep)
	return events, c.st.store(c.cfg.StatePath)
}

// maxProofsPerTrack bounds the inclusion proofs one Track asks for, within a node's limits (PROTOCOL.md §14).
const maxProofsPerTrack = 16

// due reports whether r's inclusion is worth asking about in this Track: always while it is not proven, and for
// a committed record (to see a reorg take it out) every eighth Track, spread over the records by nonce.
func (c *Client) due(r Record) bool {
	return r.Status != StatusCommitted || (uint64(r.Nonce)+c.tracks)%8 == 0
}

// prove asks for r's inclusion proof and updates r: committed at the proven block's height, or submitted again
// when a block held it before and none does now.
func (c *Client) prove(ctx context.Context, r *Record) (*Event, error) {
	var inc light.Inclusion
	err := c.ask(ctx, light.ProtoTx, r.ID[:], c.followed(), func(resp []byte) error {
		var err error
		if inc, err = light.DecodeInclusion(resp); err != nil {
			return err
		}
		return chain.VerifyTxProof(inc.Header.TxRoot, r.ID, inc.Proof)
	})
	switch {
	case err == nil && (r.Status != StatusCommitted || r.Height != inc.Header.Height):
		r.Status, r.Height = StatusCommitted, inc.Header.Height
		return &Event{Kind: StatusCommitted, Record: *r}, nil
	case err == nil:
		return nil, nil
	case remoteRefusal(err) && r.Status == StatusCommitted:
		return c.resubmit(ctx, r)
	}
	return nil, err
}

// resubmit sends r's transaction again, unchanged: its signature and nonce still hold.
func (c *Client) resubmit(ctx context.Context, r *Record) (*Event, error) {
	tx, err := r.tx()
	if err != nil {
		return nil, err
	}
	r.Status, r.Height = StatusSubmitted, 0
	if err := c.send(ctx, tx); err != nil {
		return nil, fmt.Errorf("resubmit: %w", err)
	}
	return &Event{Kind: "resubmitted", Record: *r}, nil
}
