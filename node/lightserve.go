package node

import (
	"context"
	"errors"
	"fmt"

	"github.com/posnode/posnode/chain"
	"github.com/posnode/posnode/consensus"
	"github.com/posnode/posnode/light"
	"github.com/posnode/posnode/p2p"
)

// Served light-client request limits per peer (PROTOCOL.md §14): a client following finality asks for an update
// about once a slot and a proof per transaction it tracks; the byte rates keep a hammering client from turning a
// node into a download server.
var (
	lightUpdateLimits = []p2p.HandlerOption{p2p.RateLimit(5, 20), p2p.ByteRate(1<<20, 4<<20)}
	lightSmallLimits  = []p2p.HandlerOption{p2p.RateLimit(50, 200), p2p.ByteRate(256<<10, 1<<20)}
	lightSubmitLimits = []p2p.HandlerOption{p2p.RateLimit(20, 200)}
	// lightRecordsLimits: an answer reads up to 1,024 blocks and is up to about 100 KB (light.MaxRecords).
	lightRecordsLimits = []p2p.HandlerOption{p2p.RateLimit(2, 10), p2p.ByteRate(1<<20, 4<<20)}
)

// Light-client serving errors, sent to the client as text.
var (
	// ErrNotOnChain: the client's checkpoint is not on this node's canonical chain.
	ErrNotOnChain = errors.New("checkpoint not on this node's chain")
	// ErrNoUpdate: no checkpoint after the client's is justified by a link from it yet.
	ErrNoUpdate = errors.New("no newer justified checkpoint")
)

// handleLight registers the light-client protocols (PROTOCOL.md §14).
func (n *Node) handleLight() error {
	for _, p := range []struct {
		proto string
		h     p2p.Handler
		lim   []p2p.HandlerOption
	}{
		{light.ProtoUpdate, n.serveLightUpdate, lightUpdateLimits},
		{light.ProtoBootstrap, n.serveLightBootstrap, lightSmallLimits},
		{light.ProtoTx, n.serveLightTx, lightSmallLimits},
		{light.ProtoAccount, n.serveLightAccount, lightSmallLimits},
		{light.ProtoSubmit, n.serveLightSubmit, lightSubmitLimits},
		{light.ProtoRecords, n.serveLightRecords, lightRecordsLimits},
	} {
		if err := n.net.Handle(p.proto, p.h, p.lim...); err != nil {
			return err
		}
	}
	return nil
}

// serveLightUpdate answers the checkpoints a client trusts as justified, newest first, with a supermajority link
// from the first of them on this node's canonical chain that has one to a checkpoint after the newest, within
// light.MaxSkip epochs of its source (PROTOCOL.md §14), read off the event loop. An earlier source serves a
// client whose newest justified checkpoint the chain justified no further, or left on a fork.
func (n *Node) serveLightUpdate(ctx context.Context, _ string, req []byte) ([]byte, error) {
	srcs, err := light.DecodeSources(req)
	if err != nil {
		return nil, err
	}
	snap, err := n.readSnapshot(ctx)
	if err != nil {
		return nil, err
	}
	onChain := false
	for _, src := range srcs {
		if !n.onSnapChain(snap, src) {
			continue
		}
		onChain = true
		if u, ok, err := n.linkFrom(ctx, snap, src, srcs[0].Epoch+1); err != nil || ok {
			return u, err
		}
	}
	if !onChain {
		return nil, fmt.Errorf("%w: %s", ErrNotOnChain, srcs[0])
	}
	return nil, fmt.Errorf("%w: after %s", ErrNoUpdate, srcs[0])
}

// linkFrom looks for the first checkpoint of an epoch from `from` to src's + light.MaxSkip that a supermajority
// link from src justifies, and returns the update.
func (n *Node) linkFrom(ctx context.Context, snap *readSnap, src chain.Checkpoint, from chain.Epoch) ([]byte, bool, error) {
	headEpoch := n.cfg.Genesis.EpochOf(snap.at(snap.headHeight()).slot)
	for e := max(from, src.Epoch+1); e <= min(headEpoch, src.Epoch+light.MaxSkip); e++ {
		target := chain.Checkpoint{Epoch: e, Hash: n.checkpointOf(snap, e)}
		if target.Hash == n.chainID {
			continue // genesis has no header to send
		}
		u, ok, err := n.lightLink(ctx, snap, src, target)
		if errors.Is(err, chain.ErrNotInList) {
			continue // no state at hand proves the target's table: look further, or from another source
		}
		if err != nil || ok {
			return u, ok, err
		}
	}
	return nil, false, nil
}

// onSnapChain reports whether c is a checkpoint of the snapshot's canonical chain.
func (n *Node) onSnapChain(snap *readSnap, c chain.Checkpoint) bool {
	if c.Epoch == 0 {
		return c.Hash == n.chainID
	}
	return n.checkpointOf(snap, c.Epoch) == c.Hash
}

// lightLink builds the update src → target if the canonical blocks of target's epoch and the next hold votes of
// two thirds of its table for that link; ok is false when they do not.
func (n *Node) lightLink(ctx context.Context, snap *readSnap, src, target chain.Checkpoint) ([]byte, bool, error) {
	sigs, err := n.linkVotes(ctx, snap, src, target)
	if err != nil || len(sigs) == 0 {
		return nil, false, err
	}
	u := light.Update{Source: src, Target: target}
	if err := n.lightTable(ctx, &u); err != nil {
		return nil, false, err
	}
	var signed, total chain.Amount
	for i, s := range u.Table {
		total += s.Amount
		if sig, ok := sigs[s.Addr]; ok {
			signed += s.Amount
			u.Votes = append(u.Votes, light.Signature{Index: uint16(i), Sig: sig})
		}
	}
	if !consensus.Supermajority(signed, total) {
		return nil, false, nil
	}
	return u.Encode(), true, nil
}

// linkVotes collects the signatures of the votes src → target that the canonical blocks of target's epoch and
// the next hold (PROTOCOL.md §8a: a vote for epoch e's checkpoint is carried in a block of e or e + 1).
func (n *Node) linkVotes(ctx context.Context, snap *readSnap, src, target chain.Checkpoint) (map[chain.Address][64]byte, error) {
	e := n.cfg.Genesis.EpochLength
	from := snap.lastBefore(chain.Slot(uint64(target.Epoch)*e)) + 1
	to := snap.lastBefore(chain.Slot(uint64(target.Epoch+2) * e))
	sigs := map[chain.Address][64]byte{}
	for h := from; h <= to && h > 0; h++ {
		b, err := n.readBlock(ctx, snap.at(h).hash)
		if err != nil {
			return nil, fmt.Errorf("votes of block %d: %w", h, err)
		}
		for _, v := range b.Votes {
			if v.Source == src && v.Target == target {
				sigs[v.Validator] = v.Sig
			}
		}
	}
	return sigs, nil
}

// lightTable sets u's header, and its table of the target epoch with the proof: against the source block's
// state when it keeps that table, else against the target block's (a skip, PROTOCOL.md §14).
func (n *Node) lightTable(ctx context.Context, u *light.Update) error {
	b, err := n.readBlock(ctx, u.Target.Hash)
	if err != nil {
		return err
	}
	u.Header = b.Header
	st, err := n.stateAfter(ctx, u.Source.Hash)
	if err != nil {
		return err
	}
	u.Table, u.Proof, err = st.StakeTableProof(u.Target.Epoch)
	if errors.Is(err, chain.ErrNotInList) {
		u.Anchor = light.AnchorTarget
		if st, err = n.stateAfter(ctx, u.Target.Hash); err == nil {
			u.Table, u.Proof, err = st.StakeTableProof(u.Target.Epoch)
		}
	}
	return err
}

// stateAfter returns the state after block h (genesis included), rebuilt off the event loop from what one short
// loop call captures. The state is shared: read it only.
func (n *Node) stateAfter(ctx context.Context, h chain.Hash) (*chain.State, error) {
	var src chain.StateSource
	var err error
	if callErr := n.call(ctx, func() { src, err = n.tree.StateSourceOf(h) }); callErr != nil {
		return nil, callErr
	}
	if err != nil {
		return nil, err
	}
	return src.Run()
}
