package adversary

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/posnode/posnode/chain"
	"github.com/posnode/posnode/consensus"
)

// BlockStats counts the blocks an attack published.
type BlockStats struct {
	Sent atomic.Int64
}

// OldParentBlocks publishes count blocks on the canonical block at height (fetched from a connected node), each
// signed by a fresh throwaway key that never won anything, for later and later slots (PROTOCOL.md §7: wrong
// proposer, bad state root). It returns their hashes.
func (p *Peer) OldParentBlocks(ctx context.Context, height chain.Height, count int, stats *BlockStats) ([]chain.Hash, error) {
	node, err := p.firstNode()
	if err != nil {
		return nil, err
	}
	bs, err := p.Blocks(ctx, node, height, 1)
	if err != nil || len(bs) == 0 {
		return nil, fmt.Errorf("adversary: block at height %d: %v", height, err)
	}
	parent := bs[0]
	var out []chain.Hash
	for i := range count {
		b := p.forgeOn(parent, parent.Header.Slot+1+chain.Slot(i), NewKey())
		if err := publish(ctx, p.blocks, b.Encode()); err != nil {
			return out, err
		}
		stats.Sent.Add(1)
		out = append(out, b.Hash())
	}
	return out, nil
}

// forgeOn returns a block on parent at slot, correctly signed by key for the network with key's VRF proof of the
// slot, so that only a check against the parent (the lottery, the mix, the state root) can reject it.
func (p *Peer) forgeOn(parent *chain.Block, slot chain.Slot, key ed25519.PrivateKey) *chain.Block {
	b := &chain.Block{Header: chain.Header{Height: parent.Header.Height + 1, Slot: slot, Parent: parent.Hash(),
		Proposer: chain.AddressOf(key.Public().(ed25519.PublicKey)), TxRoot: chain.TxRoot(nil),
		VoteRoot: chain.VoteRoot(nil), EvRoot: chain.EvidenceRoot(nil), VRFProof: chain.ProveVRF(key, p.chainID, slot)}}
	rand.Read(b.Header.StateRoot[:])
	b.Sign(p.chainID, key)
	return b
}

// Equivocate follows the chain from a connected node and, at every slot key wins, signs two different valid
// blocks (one empty, one holding a record of key's account) and publishes both, until ctx ends. To the node that
// owns key this is another process signing with its key (PROTOCOL.md §10, doppelganger protection).
func (p *Peer) Equivocate(ctx context.Context, key ed25519.PrivateKey, stats *BlockStats) error {
	tree, err := chain.OpenTree(chain.TreeConfig{Genesis: p.gen, Store: chain.NewMemStore(), Elect: consensus.Leader,
		Better: consensus.Better, Finality: consensus.FFGRules()})
	if err != nil {
		return err
	}
	self := chain.AddressOf(key.Public().(ed25519.PublicKey))
	done := chain.Slot(0)
	tick := time.NewTicker(time.Duration(p.gen.SlotDuration) / 5)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
		if err := p.follow(ctx, tree); err != nil {
			p.log.Debug("adversary: follow the chain", zap.Error(err))
			continue
		}
		s := p.slotNow()
		if s <= done {
			continue
		}
		parent, ok := p.parentFor(tree, s)
		if !ok {
			continue
		}
		if leader, ok, err := tree.LeaderOn(parent, s); err != nil || !ok || leader != self {
			continue
		}
		done = s
		if err := p.signTwice(ctx, tree, key, parent, s, stats); err != nil {
			return err
		}
	}
}

// parentFor returns the block to sign slot s on: the head, or, when the head is already a block of slot s (the
// key's owner was quicker), that block's parent, so that the two versions stand beside the owner's.
func (p *Peer) parentFor(tree *chain.Tree, s chain.Slot) (chain.Hash, bool) {
	head := tree.Head()
	switch {
	case head.Slot < s:
		return head.Hash, true
	case head.Slot > s:
		return chain.Hash{}, false
	}
	b, err := tree.Block(head.Hash)
	if err != nil {
		return chain.Hash{}, false
	}
	return b.Header.Parent, true
}

// signTwice publishes two different blocks of key for slot s on parent.
func (p *Peer) signTwice(ctx context.Context, tree *chain.Tree, key ed25519.PrivateKey, parent chain.Hash, s chain.Slot, stats *BlockStats) error {
	self := chain.AddressOf(key.Public().(ed25519.PublicKey))
	record := p.SignTx(key, chain.TxBPM, tree.HeadState().Account(self).Nonce, chain.Address{}, 99, p.gen.TxFee)
	for _, txs := range [][]chain.Tx{nil, {record}} {
		b, _, err := tree.ProposeOn(parent, s, key, txs)
		if err != nil {
			return fmt.Errorf("adversary: propose slot %d: %w", s, err)
		}
		if err := publish(ctx, p.blocks, b.Encode()); err != nil {
			return err
		}
		stats.Sent.Add(1)
	}
	return nil
}

// follow imports the canonical blocks of a connected node that tree lacks, stepping back over a fork.
func (p *Peer) follow(ctx context.Context, tree *chain.Tree) error {
	node, err := p.firstNode()
	if err != nil {
		return err
	}
	rctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	from := tree.Head().Height + 1
	for back := chain.Height(1); ; back *= 2 {
		bs, err := p.Blocks(rctx, node, from, maxRangeBlocks)
		if err != nil || len(bs) == 0 {
			return err
		}
		_, _, err = tree.InsertBatch(bs, p.slotNow()+1)
		if !errors.Is(err, chain.ErrUnknownParent) {
			return err
		}
		if from == 1 {
			return err
		}
		from -= min(back, from-1)
	}
}

func (p *Peer) slotNow() chain.Slot {
	return consensus.SlotAt(p.gen.Time, time.Duration(p.gen.SlotDuration), time.Now())
}
