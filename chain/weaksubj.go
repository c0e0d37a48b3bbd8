package chain

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Weak subjectivity (PROTOCOL.md §12): how old a node's view of the chain may be, and the trusted checkpoint an
// operator gives a node that has no view recent enough.

var (
	// ErrBadCheckpoint: a trusted checkpoint's text is not EPOCH:HASH.
	ErrBadCheckpoint = errors.New("bad checkpoint")
	// ErrConflictsCheckpoint: the block's branch does not contain the trusted checkpoint (PROTOCOL.md §12).
	ErrConflictsCheckpoint = errors.New("does not contain the trusted checkpoint")
)

// ParseCheckpoint reads a trusted checkpoint in its text form "EPOCH:HASH" (Checkpoint.Text): a decimal epoch and
// the checkpoint block's hash in 64 hex digits, as GET /api/finality shows it. It fails with ErrBadCheckpoint,
// saying what is wrong.
func ParseCheckpoint(s string) (Checkpoint, error) {
	es, hs, ok := strings.Cut(strings.TrimSpace(s), ":")
	if !ok {
		return Checkpoint{}, fmt.Errorf("%w: want EPOCH:HASH (as /api/finality shows it), got %q", ErrBadCheckpoint, s)
	}
	e, err := strconv.ParseUint(es, 10, 64)
	if err != nil {
		return Checkpoint{}, fmt.Errorf("%w: epoch %q is not a decimal number", ErrBadCheckpoint, es)
	}
	h, err := ParseHash(hs)
	if err != nil {
		return Checkpoint{}, fmt.Errorf("%w: hash %q: want 64 hex digits", ErrBadCheckpoint, hs)
	}
	return Checkpoint{Epoch: Epoch(e), Hash: h}, nil
}

// Text returns the checkpoint as "EPOCH:HASH" (the full hash in hex), the form ParseCheckpoint and
// `posnode run --checkpoint` read.
func (c Checkpoint) Text() string { return fmt.Sprintf("%d:%s", c.Epoch, c.Hash) }

// WeakSubjectivityPeriod returns the weak-subjectivity period (PROTOCOL.md §12) in wall time for g's slot
// duration and epoch length: WeakSubjectivityEpochs epochs.
func WeakSubjectivityPeriod(g *Genesis) time.Duration {
	return time.Duration(WeakSubjectivityEpochs) * time.Duration(g.EpochLength) * time.Duration(g.SlotDuration)
}

// ViewTooOld reports whether a node whose newest trusted epoch is anchor (the newer of its finalized checkpoint's
// epoch and its trusted checkpoint's) is out of touch at epoch now: more than period epochs have opened since
// (PROTOCOL.md §12).
func ViewTooOld(anchor, now Epoch, period uint64) bool {
	return now > anchor && uint64(now-anchor) > period
}

// Contains reports whether the branch that ends at block h contains the checkpoint c (PROTOCOL.md §12): false
// when the branch has reached c's epoch (it holds a block of a slot at or after the epoch's first slot) and its
// checkpoint of that epoch is another block; true when it has reached it with c's block; and, for a branch that
// has not reached c's epoch yet, whether it can still reach c's block (c's block is h, a descendant of h, or not
// in the tree). ok is false for a block not in the tree.
func (t *Tree) Contains(h Hash, c Checkpoint) (contains, ok bool) {
	n, ok := t.nodes[h]
	if !ok {
		return false, false
	}
	if c.Epoch == 0 || (n != t.root && t.cfg.Genesis.EpochOf(n.header.Slot) >= c.Epoch) {
		if cn := t.checkpointOf(n, c.Epoch); cn != nil {
			return cn.hash == c.Hash, true
		}
		return t.old[c.Epoch].ckpt == c.Hash, true // below the floor (PROTOCOL.md §13)
	}
	cn, known := t.nodes[c.Hash]
	return !known || descends(cn, n), true
}

// checkpointOf returns the block that is epoch e's checkpoint on the branch that ends at n: the newest block of
// the branch whose slot is before e's first slot (genesis for epoch 0; n itself when n is before it); nil when
// that block is below the floor, whose checkpoints the tree keeps in t.old.
func (t *Tree) checkpointOf(n *node, e Epoch) *node {
	for n != t.root && t.cfg.Genesis.EpochOf(n.header.Slot) >= e {
		if n == t.floor {
			return nil
		}
		if n = n.lastBefore; n == nil {
			return t.root
		}
	}
	return n
}

// admitTrusted checks a block on parent against the trusted checkpoint c (PROTOCOL.md §12), if the tree has
// one; else it fails with ErrConflictsCheckpoint. The first block of a branch at or after c's epoch must have c's
// block as parent; once c's block is in the tree, every new block must descend from it and be of a slot at or
// after c's epoch's first slot (a block between c's block and that slot would be its branch's checkpoint).
func (t *Tree) admitTrusted(parent *node, b *Block) error {
	c := t.cfg.Trusted
	if c == nil {
		return nil
	}
	g := t.cfg.Genesis
	reaches := g.EpochOf(b.Header.Slot) >= c.Epoch
	if cn, ok := t.nodes[c.Hash]; ok && (!descends(parent, cn) || !reaches) {
		return fmt.Errorf("%w %s: block of slot %d on %s at height %d", ErrConflictsCheckpoint, c.Text(),
			b.Header.Slot, parent.hash.Short(), parent.height())
	}
	if reaches && (parent == t.root || g.EpochOf(parent.header.Slot) < c.Epoch) && parent.hash != c.Hash {
		return fmt.Errorf("%w %s: the branch's checkpoint of epoch %d is %s at height %d", ErrConflictsCheckpoint,
			c.Text(), c.Epoch, parent.hash.Short(), parent.height())
	}
	return nil
}

// finalityLocks reports whether the head's finalized checkpoint block fn bounds which blocks the tree admits
// (ErrConflictsFinalized). With a trusted checkpoint it does only while fn is on one branch with the trusted
// checkpoint's block (an ancestor or a descendant of it); else the trusted checkpoint alone bounds them
// (admitTrusted). A branch that finalized a checkpoint before the trusted one's epoch, under stake tables that may
// long have unbonded, must not lock the node out of the branch that contains the trusted checkpoint (PROTOCOL.md
// §12). Once the floor has risen above the trusted checkpoint's block, every block of the tree descends from it.
func (t *Tree) finalityLocks(fn *node) bool {
	c := t.cfg.Trusted
	if c == nil {
		return true
	}
	cn, ok := t.nodes[c.Hash]
	if !ok {
		return t.floor != t.root && t.old[c.Epoch].ckpt == c.Hash
	}
	return descends(cn, fn) || descends(fn, cn)
}

// refuseBelowFloor is the refusal of block b (hash h), at or below the floor's height, whose parent the tree does
// not hold: its branch left the canonical chain below the floor. With a trusted checkpoint c (PROTOCOL.md §12) whose
// canonical ancestry the tree can read, such a branch cannot hold c's block when b is of a slot before c's epoch
// or at or below c's block's height — c's block and its ancestors are canonical, and b, at a height whose
// canonical block the store holds, is not — so b is refused with ErrConflictsCheckpoint, which a peer is
// penalised for (§10); else with ErrConflictsFinalized.
func (t *Tree) refuseBelowFloor(h Hash, b *Block) error {
	if c := t.cfg.Trusted; c != nil && b.Header.Height >= t.oldest {
		before := t.cfg.Genesis.EpochOf(b.Header.Slot) < c.Epoch
		if hc, ok := t.trustedHeight(); before || ok && b.Header.Height <= hc {
			return fmt.Errorf("%w %s: block %s at height %d left the canonical chain below the floor at %d",
				ErrConflictsCheckpoint, c.Text(), h.Short(), b.Header.Height, t.base)
		}
	}
	return fmt.Errorf("%w: block %s at height %d, below the floor at %d", ErrConflictsFinalized,
		h.Short(), b.Header.Height, t.base)
}

// trustedHeight returns the height of the trusted checkpoint's block when the tree or its store holds it.
func (t *Tree) trustedHeight() (Height, bool) {
	c := t.cfg.Trusted
	if n, ok := t.nodes[c.Hash]; ok {
		return n.height(), true
	}
	if b, _, err := t.storedBlock(c.Hash); err == nil {
		return b.Header.Height, true
	}
	return 0, false
}

// SyncFloor is the lowest height from which sync looks for where a peer's chain joins the tree's: the floor's
// height (no block below it can join, PROTOCOL.md §13), or, with a trusted checkpoint whose block the tree or its
// store holds at or above the oldest height held, that block's height when lower — a peer's block there that is
// not the checkpoint's proves its chain does not contain the checkpoint (ErrConflictsCheckpoint, §12).
func (t *Tree) SyncFloor() Height {
	if t.cfg.Trusted != nil {
		if hc, ok := t.trustedHeight(); ok && hc >= t.oldest && hc < t.base {
			return hc
		}
	}
	return t.base
}
