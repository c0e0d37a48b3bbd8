package chain

import (
	"crypto/ed25519"
	"fmt"
)

// A block's validation and a proposal's building are pure work on states that the tree never modifies once it
// holds them: hundreds of milliseconds of hashing and signature checks for 5,000 records. So that the goroutine
// that owns the tree need not wait for them, each is split in three: a step on the owner that takes what the
// work reads from the tree (PrepareInsert, PrepareBuild), the work itself, which any goroutine may run (Check.Run,
// Build.Run), and a step on the owner that commits the result (InsertChecked), checking again what may have moved
// in between. InsertTimely and ProposeBody are the three steps in a row.

// Check is the validation of one block against its parent (PROTOCOL.md §7), prepared by PrepareInsert.
type Check struct {
	t       *Tree
	b       *Block
	h       Hash
	parent  *node
	ptip    Tip
	ps      *State
	leader  Address
	maxSlot Slot
	post    *State // the block's state once Run succeeded
	err     error
	ran     bool
	// stateless: the caller ran the block's ValidateBasic and Verify, and they passed (SkipStateless).
	stateless bool
}

// Block returns the block the check is about.
func (c *Check) Block() *Block { return c.b }

// PrepareInsert starts the insert of b with slots after maxSlot still in the future: it fails at once, as
// InsertTimely would, for a block the tree knows (ErrKnownBlock), whose parent it lacks (ErrUnknownParent), that
// conflicts with finality (ErrConflictsFinalized), for which it has no room (ErrFlushBehind) or that is one
// version too many (ErrTooManyVersions). Called on the tree's goroutine; the tree is unchanged.
func (t *Tree) PrepareInsert(b *Block, maxSlot Slot) (*Check, error) {
	h := b.Hash()
	if _, ok := t.nodes[h]; ok || b.Header.Height < t.base && t.belowFloor(h) {
		return nil, fmt.Errorf("%w: %s at height %d", ErrKnownBlock, h.Short(), b.Header.Height)
	}
	parent, ok := t.nodes[b.Header.Parent]
	if !ok && b.Header.Height <= t.base {
		return nil, t.refuseBelowFloor(h, b)
	}
	if !ok {
		return nil, fmt.Errorf("%w: %s of block %s at height %d", ErrUnknownParent, b.Header.Parent.Short(), h.Short(), b.Header.Height)
	}
	if err := t.room(1); err != nil {
		return nil, err
	}
	if err := t.admit(parent, b, true); err != nil {
		return nil, err
	}
	if parent.state == nil {
		if err := t.precheck(parent, b, maxSlot); err != nil {
			return nil, err
		}
	}
	ps, err := t.stateOf(parent)
	if err != nil {
		return nil, err
	}
	leader, ok := t.leaderOn(parent, ps, b.Header.Slot)
	if !ok {
		return nil, fmt.Errorf("%w: slot %d has no leader", ErrWrongProposer, b.Header.Slot)
	}
	return &Check{t: t, b: b, h: h, parent: parent, ptip: parent.tip(), ps: ps, leader: leader, maxSlot: maxSlot}, nil
}

// SkipStateless tells Run that the block passed ValidateBasic and Verify before PrepareInsert, as a gossiped one
// does in its topic's validator, so that Run does not check them again. Call it before Run.
func (c *Check) SkipStateless() { c.stateless = true }

// Run validates the block against its parent's state: signatures, beacon, roots, transactions (PROTOCOL.md §7).
// Any goroutine may call it, once, while the tree's goroutine goes on; InsertChecked returns what it found.
func (c *Check) Run() {
	if c.ran {
		return
	}
	c.ran = true
	t := c.t
	c.post, c.err = validateBlock(t.chainID, c.ptip, c.ps, c.b, c.leader, c.maxSlot,
		sigChecks{txs: t.verifyTxs, vote: t.verifyVote, stateless: c.stateless})
}

// InsertChecked accepts the block of a check that ran into the tree and moves the head to it if fork choice
// prefers it (PROTOCOL.md §8), as InsertTimely does; timely is the node's own observation. It fails with what Run
// found, or with ErrKnownBlock, ErrUnknownParent, ErrConflictsFinalized or ErrFlushBehind when the tree moved
// since PrepareInsert (the block arrived another way, its parent was pruned, finality moved, the queue filled),
// leaving the tree unchanged. Called on the tree's goroutine.
func (t *Tree) InsertChecked(c *Check, timely bool) (Change, error) {
	if !c.ran {
		return Change{}, fmt.Errorf("insert block %s: its check did not run", c.h.Short())
	}
	if c.err != nil {
		return Change{}, c.err
	}
	b, h := c.b, c.h
	if _, ok := t.nodes[h]; ok {
		return Change{}, fmt.Errorf("%w: %s at height %d", ErrKnownBlock, h.Short(), b.Header.Height)
	}
	parent := c.parent
	if t.nodes[parent.hash] != parent {
		return Change{}, fmt.Errorf("%w: %s of block %s at height %d", ErrUnknownParent, parent.hash.Short(), h.Short(), b.Header.Height)
	}
	if err := t.room(1); err != nil {
		return Change{}, err
	}
	if err := t.admit(parent, b, true); err != nil {
		return Change{}, err
	}
	fin, err := t.finalityOf(parent, c.ps, b)
	if err != nil {
		return Change{}, err
	}
	return t.commit(h, b, parent, c.post, fin, timely)
}

// commit attaches a validated block and moves the head to it if fork choice prefers it.
func (t *Tree) commit(h Hash, b *Block, parent *node, post *State, fin *Finality, timely bool) (Change, error) {
	n := t.attach(h, b, parent, post, fin)
	n.timely = timely
	if err := t.accept([]*node{n}, []*Block{b}); err != nil {
		return Change{}, fmt.Errorf("store block %s: %w", h.Short(), err)
	}
	if !t.prefer(n, t.head) {
		t.prune(n)
		return Change{Head: t.head.tip()}, nil
	}
	ch, err := t.change(n, map[Hash]*Block{h: b})
	if err != nil {
		t.unaccept([]*node{n})
		return Change{}, err
	}
	t.setHead(n)
	t.prune(n)
	t.raise()
	return ch, nil
}

// Build is a proposal prepared by PrepareBuild: what building a block on one parent reads from the tree.
type Build struct {
	t      *Tree
	parent *node
	ps     *State
	slot   Slot
	key    ed25519.PrivateKey
	body   Body
}

// PrepareBuild starts a proposal for slot on top of the block parent of the tree, as ProposeBody would: it fails
// with ErrNotFound for a parent not in the tree and ErrSlotNotAfterParent for a slot not after the parent's. body
// must not change until Run returns. Called on the tree's goroutine.
func (t *Tree) PrepareBuild(parent Hash, slot Slot, key ed25519.PrivateKey, body Body) (*Build, error) {
	n, ok := t.nodes[parent]
	if !ok {
		return nil, fmt.Errorf("%w: parent %s", ErrNotFound, parent.Short())
	}
	if len(key) != ed25519.PrivateKeySize {
		return nil, fmt.Errorf("propose: private key is %d bytes, want %d", len(key), ed25519.PrivateKeySize)
	}
	if slot <= n.header.Slot {
		return nil, fmt.Errorf("%w: slot %d, head's %d", ErrSlotNotAfterParent, slot, n.header.Slot)
	}
	ps, err := t.stateOf(n)
	if err != nil {
		return nil, err
	}
	return &Build{t: t, parent: n, ps: ps, slot: slot, key: key, body: body}, nil
}

// Run builds and signs the block as ProposeBody does and returns it as a Check that has run (the block is valid
// by construction: its state is the one it was built with), for InsertChecked, with the transactions it left out.
// Any goroutine may call it while the tree's goroutine goes on.
func (bd *Build) Run() (*Check, []TxError, error) {
	b, post, rejected, err := bd.t.build(bd.parent, bd.ps, bd.slot, bd.key, bd.body)
	if err != nil {
		return nil, rejected, err
	}
	return &Check{t: bd.t, b: b, h: b.Hash(), parent: bd.parent, ps: bd.ps, post: post,
		ran: true}, rejected, nil
}
