package chain

import (
	"errors"
	"fmt"
)

// Change tells how an Insert moved the head. When the head did not move, Reverted and Applied are
// empty.
type Change struct {
	Head     Tip      // the head after the insert
	Reverted []*Block // blocks that left the canonical chain, newest first
	Applied  []*Block // blocks that joined the canonical chain, oldest first
}

// Insert validates b against its parent (PROTOCOL.md §7) with slots after maxSlot still in the future,
// accepts it into the tree, and moves the head to it if fork choice prefers it to the current head
// (PROTOCOL.md §8; see prefer). The block counts as late (Tip.Timely unset): InsertTimely records when it was
// timely. It fails with ErrKnownBlock, ErrUnknownParent, ErrFlushBehind or a validation error, leaving the tree
// unchanged. Without cfg.WriteBehind the block is durable in the store before the head moves; with it, the
// block is queued and stored by the next Flush (PROTOCOL.md §11).
func (t *Tree) Insert(b *Block, maxSlot Slot) (Change, error) {
	return t.InsertTimely(b, maxSlot, false)
}

// InsertTimely is Insert for a block the node received timely or not (consensus.Timely), which fork choice
// weighs (Tip.Timely, PROTOCOL.md §8). The flag is the node's own observation: it is not stored, and a block
// read back from the store at start counts as late.
func (t *Tree) InsertTimely(b *Block, maxSlot Slot, timely bool) (Change, error) {
	c, err := t.PrepareInsert(b, maxSlot)
	if err != nil {
		return Change{}, err
	}
	c.Run()
	return t.InsertChecked(c, timely)
}

// InsertBatch inserts blocks as Insert would one after the other, each a child of a block in the tree or of an
// earlier block of the batch, but with one durable store write for the whole batch (Store.PutBlocks): it
// validates every block in memory, stores the valid ones together (with cfg.WriteBehind: queues them for the
// next Flush), and only then moves the head, once, to the best of them if fork choice prefers it (PROTOCOL.md §7,
// §8, §11). Blocks already in the tree are skipped. A block
// that the next block of the batch builds on is stored even beyond MaxVersionsPerSlot: a proposer extended it,
// and a node that refused it could never follow that chain (§8). At the first
// block that fails (ErrUnknownParent or a validation error) it stops: the blocks before it are inserted, and the
// error is returned with their Change. inserted holds the blocks it inserted, in order. If the store write fails,
// or a write-behind tree has no room for the batch (ErrFlushBehind), the tree is left unchanged. The blocks count
// as late (Tip.Timely unset): a batch is fetched by sync, after its slots.
func (t *Tree) InsertBatch(bs []*Block, maxSlot Slot) (ch Change, inserted []*Block, err error) {
	if err := t.room(len(bs)); err != nil {
		return Change{Head: t.head.tip()}, nil, err
	}
	var added []*node
	fresh := make(map[Hash]*Block, len(bs))
	for i, b := range bs {
		h := b.Hash()
		if _, ok := t.nodes[h]; ok || b.Header.Height < t.base && t.belowFloor(h) {
			continue
		}
		extended := i+1 < len(bs) && bs[i+1].Header.Parent == h
		parent, ok := t.nodes[b.Header.Parent]
		if !ok && b.Header.Height <= t.base {
			err = t.refuseBelowFloor(h, b)
			break
		}
		if !ok {
			err = fmt.Errorf("%w: %s of block %s at height %d", ErrUnknownParent, b.Header.Parent.Short(), h.Short(), b.Header.Height)
			break
		}
		if aerr := t.admit(parent, b, !extended); aerr != nil {
			err = fmt.Errorf("block %s at height %d: %w", h.Short(), b.Header.Height, aerr)
			break
		}
		post, fin, verr := t.validate(parent, b, maxSlot)
		if verr != nil {
			err = fmt.Errorf("block %s at height %d: %w", h.Short(), b.Header.Height, verr)
			break
		}
		added, inserted, fresh[h] = append(added, t.attach(h, b, parent, post, fin)), append(inserted, b), b
	}
	if len(added) == 0 {
		return Change{Head: t.head.tip()}, nil, err
	}
	if perr := t.accept(added, inserted); perr != nil {
		return Change{}, nil, fmt.Errorf("store %d blocks: %w", len(inserted), perr)
	}
	best := t.head
	for _, n := range added {
		if t.prefer(n, best) {
			best = n
		}
	}
	ch = Change{Head: t.head.tip()}
	if best != t.head {
		c, cerr := t.change(best, fresh)
		if cerr != nil {
			t.unaccept(added)
			return Change{}, nil, cerr
		}
		ch = c
		t.setHead(best)
	}
	for _, n := range added {
		t.prune(n)
	}
	t.raise()
	return ch, inserted, err
}

// prefer reports whether fork choice moves the head from head to n (PROTOCOL.md §8): when cfg.Better prefers
// n's tip, or when neither tip is better and n extends head. The second case matters only for a late block
// that extends a timely head: they tie on weight (consensus.Better), and the block orphans nothing. Any other
// tie keeps the block seen first.
func (t *Tree) prefer(n, head *node) bool {
	if t.cfg.Better(n.tip(), head.tip()) {
		return true
	}
	return !t.cfg.Better(head.tip(), n.tip()) && descends(n, head)
}

// detachAll removes the blocks attached last, given in the order they were attached.
func (t *Tree) detachAll(added []*node) {
	for i := len(added) - 1; i >= 0; i-- {
		t.detach(added[i])
	}
}

// validate checks b on top of parent and returns the state and the finality after it (PROTOCOL.md §6, §7,
// §8a). When the parent's state must be rebuilt, the checks that need no state come first (precheck), so that
// a bad block does not cost a replay.
func (t *Tree) validate(parent *node, b *Block, maxSlot Slot) (*State, *Finality, error) {
	if parent.state == nil {
		if err := t.precheck(parent, b, maxSlot); err != nil {
			return nil, nil, err
		}
	}
	ps, err := t.stateOf(parent)
	if err != nil {
		return nil, nil, err
	}
	slot := b.Header.Slot
	leader, ok := t.leaderOn(parent, ps, slot)
	if !ok {
		return nil, nil, fmt.Errorf("%w: slot %d has no leader", ErrWrongProposer, slot)
	}
	post, err := validateBlock(t.chainID, parent.tip(), ps, b, leader, maxSlot, sigChecks{txs: t.verifyTxs, vote: t.verifyVote})
	if err != nil {
		return nil, nil, err
	}
	fin, err := t.finalityOf(parent, ps, b)
	if err != nil {
		return nil, nil, err
	}
	return post, fin, nil
}

// verifyTxs checks a block's transaction signatures in one batch, through the signature cache when there is one.
func (t *Tree) verifyTxs(txs []Tx) error {
	if t.cfg.Sigs != nil {
		return t.cfg.Sigs.VerifyAll(txs)
	}
	return VerifyTxs(t.chainID, txs)
}

// verifyTx checks a transaction's signature, through the signature cache when there is one.
func (t *Tree) verifyTx(tx *Tx) error {
	if t.cfg.Sigs != nil {
		return t.cfg.Sigs.Verify(tx)
	}
	return tx.Verify(t.chainID)
}

// verifyVote checks a vote's signature, through the signature cache when there is one.
func (t *Tree) verifyVote(v *Vote) error {
	if t.cfg.Sigs != nil {
		return t.cfg.Sigs.VerifyVote(v)
	}
	return v.Verify(t.chainID)
}

// change computes how moving the head from the current head to n changes the canonical chain, by
// walking both branches back to their common ancestor. fresh holds blocks at hand (n's among them), which
// need not be read back from the store.
func (t *Tree) change(n *node, fresh map[Hash]*Block) (Change, error) {
	reverted, applied := branches(t.head, n)
	ch := Change{Head: n.tip(), Reverted: make([]*Block, len(reverted)), Applied: make([]*Block, len(applied))}
	for i, m := range reverted {
		blk, err := t.load(m.hash)
		if err != nil {
			return Change{}, fmt.Errorf("load reverted block: %w", err)
		}
		ch.Reverted[i] = blk
	}
	for i, m := range applied {
		if b, ok := fresh[m.hash]; ok {
			ch.Applied[i] = b
			continue
		}
		blk, err := t.load(m.hash)
		if err != nil {
			return Change{}, fmt.Errorf("load applied block: %w", err)
		}
		ch.Applied[i] = blk
	}
	return ch, nil
}

// branches returns the blocks from a back to the common ancestor of a and b, newest first, and those
// from the common ancestor to b, oldest first; the ancestor itself is in neither.
func branches(a, b *node) (fromA, toB []*node) {
	for a.height() > b.height() {
		fromA, a = append(fromA, a), a.parent
	}
	for b.height() > a.height() {
		toB, b = append(toB, b), b.parent
	}
	for a != b {
		fromA, a = append(fromA, a), a.parent
		toB, b = append(toB, b), b.parent
	}
	for i, j := 0, len(toB)-1; i < j; i, j = i+1, j-1 {
		toB[i], toB[j] = toB[j], toB[i]
	}
	return fromA, toB
}

// setHead makes n the head and updates the canonical index.
func (t *Tree) setHead(n *node) {
	t.head = n
	h := int(n.height() - t.base)
	if h+1 <= len(t.canon) {
		clear(t.canon[h+1:])
		t.canon = t.canon[:h+1]
	} else {
		t.canon = append(t.canon, make([]*node, h+1-len(t.canon))...)
	}
	for m := n; t.canon[m.height()-t.base] != m; m = m.parent {
		t.canon[m.height()-t.base] = m
	}
}

// Fork-choice admission errors (PROTOCOL.md §8).
var (
	// ErrConflictsFinalized: the block is not a descendant of the finalized checkpoint.
	ErrConflictsFinalized = errors.New("conflicts with the finalized checkpoint")
	// ErrTooManyVersions: the tree already holds two blocks of this proposer for this slot; the second is
	// evidence of equivocation and any more are dropped unstored.
	ErrTooManyVersions = errors.New("third block of a proposer for one slot")
)

// MaxVersionsPerSlot is how many blocks of one proposer for one slot the tree stores: the first, and a second
// that proves the equivocation (PROTOCOL.md §8, §8b). Only a block that a later block of the same sync batch
// builds on is stored beyond it (InsertBatch).
const MaxVersionsPerSlot = 2

// admit runs the checks that need no state before b is validated: its branch must contain the trusted
// checkpoint, if the tree has one (ErrConflictsCheckpoint, PROTOCOL.md §12); it must descend from the finalized
// checkpoint of the head's branch (ErrConflictsFinalized; see finalityLocks); and, when capped, its proposer may
// not have MaxVersionsPerSlot blocks for its slot already (ErrTooManyVersions).
func (t *Tree) admit(parent *node, b *Block, capped bool) error {
	if err := t.admitTrusted(parent, b); err != nil {
		return err
	}
	fin := t.head.fin.Finalized
	if t.floor != t.root && !descends(parent, t.floor) {
		return fmt.Errorf("%w: parent %s at height %d does not descend from the floor at height %d",
			ErrConflictsFinalized, parent.hash.Short(), parent.height(), t.base)
	}
	// A finalized checkpoint at or below the floor is an ancestor of the floor (both are on the head's branch), so
	// the floor's check covers it; the floor's own ancestry is not linked in memory. After a restart the head's
	// finalized checkpoint can be below the floor: the block that finalized the floor was not stored before a crash.
	if fn, ok := t.nodes[fin.Hash]; ok && fn.height() > t.base && t.finalityLocks(fn) && !descends(parent, fn) {
		return fmt.Errorf("%w: parent %s at height %d does not descend from %s", ErrConflictsFinalized,
			parent.hash.Short(), parent.height(), fin)
	}
	if capped && t.versions[versionKey{b.Header.Proposer, b.Header.Slot}] >= MaxVersionsPerSlot {
		return fmt.Errorf("%w: %s at slot %d", ErrTooManyVersions, b.Header.Proposer.Short(), b.Header.Slot)
	}
	return nil
}

// descends reports whether n is a or a descendant of a.
func descends(n, a *node) bool {
	for n != nil && n.height() > a.height() {
		n = n.parent
	}
	return n == a
}

// versionKey names one proposer's blocks for one slot.
type versionKey struct {
	proposer Address
	slot     Slot
}
