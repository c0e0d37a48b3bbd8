package node

import (
	"errors"
	"fmt"

	"go.uber.org/zap"

	"github.com/posnode/posnode/chain"
	"github.com/posnode/posnode/node/signgate"
)

// errBuilding: a slot came while the block of an earlier slot was still being built.
var errBuilding = errors.New("still building the previous block")

// offLoop runs work off the event loop (Runtime.Background) and then done with its result on the loop, as an
// event of its own; before Start both run at once. Heavy but pure work (building a block of 5,000 records,
// validating one) goes through it so that the loop only commits the result: the simulator's Runtime runs work at
// once, so its traces stay a function of the seed. work must not touch the loop's state.
func offLoop[T any](n *Node, work func() T, done func(T)) {
	if n.rt == nil {
		done(work())
		return
	}
	n.background(func() {
		r := work()
		n.post(func() { done(r) })
	})
}

// built is what the background step of a proposal hands the loop.
type built struct {
	check *chain.Check
	bad   []chain.TxError
	enc   []byte // the block's encoding, for gossip
	ids   hashedTxs
	err   error
}

// hashedTxs is a block with the IDs of its records (chain.Tx.ID), hashed off the loop, for applyChange.
type hashedTxs struct {
	b   *chain.Block
	ids []chain.Hash
}

// hashTxs returns b with the IDs of its records.
func hashTxs(b *chain.Block) hashedTxs {
	ids := make([]chain.Hash, len(b.Txs))
	for i := range b.Txs {
		ids[i] = b.Txs[i].ID()
	}
	return hashedTxs{b: b, ids: ids}
}

// removeFromPool takes the records of an applied block out of the mempool, with the IDs hashed off the loop when
// they are b's. Called on the event loop.
func (n *Node) removeFromPool(b *chain.Block) {
	if n.hashed.b == b {
		n.pool.RemoveIDs(n.hashed.ids)
		return
	}
	n.pool.Remove(b.Txs)
}

// propose builds and signs this node's block for slot s, records it in the slashing protection, then accepts and
// publishes it. The blocks it builds on are durable before it signs (durableBeforeSigning); the record is durable
// before the signed block goes anywhere, so no restart, even without chain.db, can ever sign a second block for
// the slot. Building (picking and applying the records, the roots, the signature), the record's fsync and the
// encoding run off the loop (offLoop); the loop takes the block back in proposed. The block itself reaches
// chain.db with the write-behind, like a peer's block, so that writing it (hundreds of milliseconds for 5,000
// records on a busy disk) does not delay it: a crash before that loses it as it loses a peer's block, and sync
// brings it back (PROTOCOL.md §11).
func (n *Node) propose(s chain.Slot) error {
	if n.building {
		return errBuilding
	}
	if err := n.durableBeforeSigning("block"); err != nil {
		return err
	}
	bd, err := n.tree.PrepareBuild(n.tree.Head().Hash, s, n.key, n.body())
	if err != nil {
		return err
	}
	n.building, n.lastSigned = true, s
	offLoop(n, func() built { return n.build(bd, s) }, func(r built) { n.proposed(s, r) })
	return nil
}

// build is the part of a proposal that runs off the loop: it reads nothing the loop changes.
func (n *Node) build(bd *chain.Build, s chain.Slot) built {
	c, bad, err := bd.Run()
	if err != nil {
		return built{bad: bad, err: err}
	}
	b := c.Block()
	if err := n.guard.CheckAndRecordBlock(n.self, s, b.Hash()); err != nil {
		return built{bad: bad, err: fmt.Errorf("%w: %w", errSlashingProtection, err)}
	}
	return built{check: c, bad: bad, enc: b.Encode(), ids: hashTxs(b)}
}

// errSlashingProtection: the slashing protection refused or could not record a block.
var errSlashingProtection = errors.New("slashing protection")

// proposed takes a built block back on the loop: it drops the records that did not apply, inserts the block and
// publishes it. Called on the event loop.
func (n *Node) proposed(s chain.Slot, r built) {
	n.building = false
	for _, te := range r.bad {
		n.log.Info("dropping a transaction that does not apply", zap.Stringer("tx", te.Tx.ID()), zap.Error(te.Err))
		n.pool.Drop(te.Tx, te.Err)
	}
	if r.err != nil {
		if errors.Is(r.err, errSlashingProtection) {
			n.noteRefusal(signgate.Block, s, errors.Unwrap(r.err))
		}
		n.missed(s, r.err)
		return
	}
	b := r.check.Block()
	n.hashed = r.ids
	defer func() { n.hashed = hashedTxs{} }()
	change, err := n.tree.InsertChecked(r.check, n.timely(s, n.cfg.Now()))
	if err != nil {
		n.missed(s, fmt.Errorf("insert own block: %w", err))
		return
	}
	n.metrics.slotsWon.Inc()
	n.log.Info("proposed block", zap.Uint64("slot", uint64(s)), zap.Uint64("height", uint64(b.Header.Height)),
		zap.Int("txs", len(b.Txs)), zap.Stringer("hash", b.Hash()))
	n.observe(b, true)
	n.publish(n.blockTopic, r.enc)
	n.applyChange(change)
	n.startFlush("own block")
}

// missed counts slot s as missed because of err.
func (n *Node) missed(s chain.Slot, err error) {
	n.metrics.slotsMissed.Inc()
	n.log.Error("propose failed", zap.Uint64("slot", uint64(s)), zap.Error(err))
}
