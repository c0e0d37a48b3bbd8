package chain

import (
	"cmp"
	"errors"
	"fmt"
)

// Elector picks a slot's leader from the stake table of the block's epoch and the slot's seed source: the
// 32-byte value the genesis seed rule takes from the parent's chain (Tree.SeedSource, PROTOCOL.md §6);
// consensus.Leader is one. ok is false when nobody has stake. stakes may be a table the state shares: an Elector
// never writes it.
type Elector func(stakes []Stake, source Hash, slot Slot) (leader Address, ok bool)

// Chooser reports whether tip a is preferred to tip b (PROTOCOL.md §8); consensus.Better is one.
type Chooser func(a, b Tip) bool

// TreeConfig is what a Tree needs. Every field but Sigs is required.
type TreeConfig struct {
	Genesis  *Genesis
	Store    Store
	Elect    Elector // a function of its arguments alone: a StateMemo remembers its outcomes (ShareStates)
	Better   Chooser
	Finality FinalityRules // consensus.FFGRules()
	// Sigs, if set, spares the signature checks of transactions and votes it has seen verify (the node's
	// mempool and vote gossip fill it); it must be a cache of this genesis's chain. Without it every signature
	// is checked.
	Sigs *SigCache
	// WriteBehind lets Insert and InsertBatch accept a valid block into the tree (fork choice, head, states)
	// before it is stored: accepted blocks queue in memory, readers find them there, and Flush writes the queue
	// in one durable store write. At most MaxUnflushed blocks queue; past that inserts fail with ErrFlushBehind
	// until a Flush succeeds. Without it each insert stores its blocks, in one write, before the head moves.
	// A crash loses the queued blocks (PROTOCOL.md §11).
	WriteBehind bool
	// Trusted, if set, is the operator's trusted checkpoint (PROTOCOL.md §12): the tree admits no block whose
	// branch does not contain it (ErrConflictsCheckpoint). Blocks already stored are not checked again; the
	// node checks the head's branch at start (Contains).
	Trusted *Checkpoint
	// RetainEpochs is the retention window on disk (PROTOCOL.md §13): below the finalized checkpoint the store
	// keeps the canonical blocks of the last RetainEpochs × EpochLength heights under it, and deletes older ones
	// and every side branch. 0 keeps every canonical block (an archive node); side branches below the finalized
	// checkpoint are deleted either way.
	RetainEpochs uint64
	// AnchorEpochs is how many epochs back from the finalized checkpoint the store keeps the anchor of each
	// finalized floor (PROTOCOL.md §13a); 0 means WeakSubjectivityEpochs, the period an operator's checkpoint is
	// good for (§12). A retention window of R epochs keeps them for R − 1 epochs at most.
	AnchorEpochs uint64
	// snapshotBudget, if set, replaces defaultSnapshotBudget (tests).
	snapshotBudget int
	// maxUnflushed, if set, replaces MaxUnflushed (tests).
	maxUnflushed int
}

// Block tree errors (PROTOCOL.md §7, §8).
var (
	// ErrKnownBlock: the block is already in the tree.
	ErrKnownBlock = errors.New("known block")
	// ErrUnknownParent: the block's parent is not in the tree.
	ErrUnknownParent = errors.New("unknown parent")
	// ErrGenesisMismatch: the store holds blocks of a chain with another genesis.
	ErrGenesisMismatch = errors.New("store of another chain")
)

// errTreeConfig: a TreeConfig misses a field.
var errTreeConfig = errors.New("incomplete tree config")

// metaChainID is the meta record that ties a store to the chain it holds.
const metaChainID = "tree/chain-id"

// Tree is the tree of known blocks rooted at its floor, the finalized checkpoint block (genesis until one
// is finalized), with fork choice over its tips (PROTOCOL.md §7, §8, §13). Below the floor it keeps no block in
// memory: canonical blocks and their hashes come from the store, and of each epoch within UnbondingEpochs of the
// floor it keeps the checkpoint and the stake table (evidence checks need them). Above the floor it keeps every
// header, but post-states only for blocks within 512 heights of the head, for the floor, and below that window
// at snapshot heights: multiples of 64. An older
// state is rebuilt by replaying stored blocks from the nearest ancestor whose state is kept, so a
// rebuild replays at most 63 blocks. The checkpoint states have a memory budget (2^19 account
// entries); past it their spacing doubles, so memory stays bounded and rebuilds grow only
// with accounts × chain length. A block on a parent whose state must be rebuilt is first checked
// without it (height, slot, the proposer's stake near the parent, signature), so that a block signed
// by a key without stake costs no replay.
//
// A Tree is not safe for concurrent use: one goroutine (the node's event loop) owns it.
type Tree struct {
	cfg     TreeConfig
	chainID Hash
	root    *node          // the virtual genesis block
	floor   *node          // the finalized block the tree is rooted at (root until one is finalized)
	base    Height         // the floor's height
	nodes   map[Hash]*node // every block in the tree: the floor and its descendants, and genesis
	levels  [][]*node      // levels[h-base]: the blocks at height h
	canon   []*node        // canon[h-base]: the canonical block at height h; canon[0] is the floor
	old     map[Epoch]oldEpoch
	oldest  Height        // the lowest height whose canonical block the store holds (0: every one)
	pending *Finalization // the store's part of the floor's last raises, not written yet
	// anchorHeads are the headers of the last anchor kept and of its block, newest first (recentHeader).
	anchorHeads []keptHeader
	orphans     []BlockRef // stored blocks that replay found outside the tree, to delete
	finErr      error      // why the last write of pending failed
	opening     bool       // OpenTree is replaying the store
	head        *node
	swept       Height             // the lowest height whose states have not been swept out of the window
	versions    map[versionKey]int // blocks in the tree per proposer and slot (at most MaxVersionsPerSlot)
	snaps       snapshots
	// replayed counts the blocks replayed to rebuild dropped states since the tree was opened.
	replayed uint64
	queue    unflushed // accepted blocks not yet stored (WriteBehind)
}

// node is one block of the tree.
type node struct {
	hash   Hash
	header Header
	parent *node     // nil for genesis
	state  *State    // the state after the block; nil once dropped
	mix    Hash      // the block's RANDAO mix (GenesisMix for genesis)
	fin    *Finality // the branch's finality after the block
	timely bool      // the node received the block within the first half of its slot (Tip.Timely)
	// lastBefore is the newest ancestor in an epoch before this block's epoch (nil for genesis), so that
	// SeedSource walks back one epoch per step.
	lastBefore *node
	// stakers are the senders of the block's stake transactions (usually none): what mayPropose needs to know
	// of a block whose state is dropped.
	stakers []Address
}

func (n *node) height() Height { return n.header.Height }

func (n *node) tip() Tip {
	return Tip{Hash: n.hash, Height: n.header.Height, Slot: n.header.Slot, Mix: n.mix, Justified: n.fin.Justified.Epoch,
		Timely: n.timely}
}

// OpenTree builds the tree from cfg.Store: it loads the newest state snapshot (PROTOCOL.md §13), if any, as
// its floor, and replays every stored block above it, parents first, without checking signatures again but
// checking each state root, and chooses the head among them. A store that holds blocks of another genesis fails with ErrGenesisMismatch.
func OpenTree(cfg TreeConfig) (*Tree, error) {
	if cfg.Genesis == nil || cfg.Store == nil || cfg.Elect == nil || cfg.Better == nil ||
		cfg.Finality.Supermajority == nil || cfg.Finality.Finalizes == nil {
		return nil, errTreeConfig
	}
	chainID := cfg.Genesis.Hash()
	if cfg.Sigs != nil && cfg.Sigs.ChainID() != chainID {
		return nil, fmt.Errorf("%w: signature cache of chain %s, genesis is %s", errTreeConfig, cfg.Sigs.ChainID().Short(), chainID.Short())
	}
	if err := claimStore(cfg.Store, chainID); err != nil {
		return nil, err
	}
	gs, g0 := cfg.Genesis.State(), Checkpoint{Epoch: 0, Hash: chainID}
	root := &node{hash: chainID, state: gs, mix: GenesisMix(chainID), fin: genesisFinalityOf(g0, gs)}
	t := &Tree{
		cfg:      cfg,
		chainID:  chainID,
		root:     root,
		floor:    root,
		old:      map[Epoch]oldEpoch{},
		nodes:    map[Hash]*node{chainID: root},
		levels:   [][]*node{{root}},
		canon:    []*node{root},
		head:     root,
		swept:    1,
		versions: map[versionKey]int{},
		snaps:    snapshots{every: snapshotEvery, budget: cmp.Or(cfg.snapshotBudget, defaultSnapshotBudget)},
	}
	from, err := t.resume()
	if err != nil {
		return nil, err
	}
	t.opening = true
	if err := cfg.Store.ForEachFrom(from, t.replay); err != nil {
		return nil, fmt.Errorf("replay stored blocks: %w", err)
	}
	t.endOpening()
	return t, nil
}

// claimStore records chainID in a new store and checks it in a used one.
func claimStore(s Store, chainID Hash) error {
	got, err := s.Meta(metaChainID)
	if err != nil {
		return fmt.Errorf("read chain id: %w", err)
	}
	if got == nil {
		if err := s.PutMeta(metaChainID, chainID[:]); err != nil {
			return fmt.Errorf("record chain id: %w", err)
		}
		return nil
	}
	if string(got) != string(chainID[:]) {
		return fmt.Errorf("%w: store holds chain %x, genesis is %s", ErrGenesisMismatch, got, chainID)
	}
	return nil
}

// replay adds a stored block: it applies b to its parent's state and checks the mix and the state root,
// but does not check the signatures, the VRF proof or the lottery again (PROTOCOL.md §7).
func (t *Tree) replay(b *Block) error {
	h := b.Hash()
	parent := t.nodes[b.Header.Parent]
	if parent == nil && t.floor != t.root {
		// A block a crash stored after its branch was pruned, or a side branch below the floor: not part of the
		// tree, deleted at the next raise.
		t.orphans = append(t.orphans, BlockRef{Height: b.Header.Height, Hash: h})
		return nil
	}
	if parent == nil {
		return fmt.Errorf("%w: block %s at height %d has no parent %s", ErrCorruptStore, h, b.Header.Height, b.Header.Parent)
	}
	if _, ok := t.nodes[h]; ok {
		return nil
	}
	if err := checkLink(parent, b); err != nil {
		return fmt.Errorf("%w: block %s: %w", ErrCorruptStore, h, err)
	}
	if err := b.ValidateBasic(); err != nil { // tx_root: a transaction changed on disk (PROTOCOL.md §7)
		return fmt.Errorf("%w: block %s: %w", ErrCorruptStore, h, err)
	}
	ps, err := t.stateOf(parent)
	if err != nil {
		return err
	}
	if err := checkStoredMix(parent, b); err != nil {
		return fmt.Errorf("%w: block %s: %w", ErrCorruptStore, h, err)
	}
	post := ps.Clone()
	if err := post.ApplyBlock(b); err != nil {
		return fmt.Errorf("%w: block %s: %w", ErrCorruptStore, h, err)
	}
	if root := post.Root(); root != b.Header.StateRoot {
		return fmt.Errorf("%w: block %s: %w: header has %s, replay gives %s",
			ErrCorruptStore, h, ErrBadStateRoot, b.Header.StateRoot.Short(), root.Short())
	}
	fin, err := t.finalityOf(parent, ps, b)
	if err != nil {
		return fmt.Errorf("%w: block %s: %w", ErrCorruptStore, h, err)
	}
	n := t.attach(h, b, parent, post, fin)
	if t.cfg.Better(n.tip(), t.head.tip()) {
		t.setHead(n)
	}
	t.prune(n)
	t.raise()
	return nil
}

// checkLink checks the header rules that need only the parent's header (PROTOCOL.md §7).
func checkLink(parent *node, b *Block) error {
	if b.Header.Height != parent.height()+1 {
		return fmt.Errorf("%w: %d on a parent at %d", ErrBadHeight, b.Header.Height, parent.height())
	}
	if b.Header.Slot <= parent.header.Slot {
		return fmt.Errorf("%w: slot %d, parent's %d", ErrSlotNotAfterParent, b.Header.Slot, parent.header.Slot)
	}
	return nil
}

// checkStoredMix checks a stored block's mix against its parent's and its proof's output, without verifying
// the proof, which was verified before the block was stored (PROTOCOL.md §6).
func checkStoredMix(parent *node, b *Block) error {
	out, err := b.Header.VRFProof.Output()
	if err != nil {
		return err
	}
	if mix := NextMix(parent.mix, out); mix != b.Header.Mix {
		return fmt.Errorf("%w: header has %s, proof gives %s", ErrBadMix, b.Header.Mix.Short(), mix.Short())
	}
	return nil
}

// finalityOf returns the finality of b's branch after b, on parent whose post-state is ps (PROTOCOL.md §8a).
func (t *Tree) finalityOf(parent *node, ps *State, b *Block) (*Finality, error) {
	return nextShared(parent.fin, b, t.cfg.Genesis.EpochOf(b.Header.Slot), parent.hash, ps, offenders(b), t.cfg.Finality)
}

// offenders returns the validators b's evidence slashes, or nil when it holds none (each piece of a valid block
// slashes its offender: PROTOCOL.md §8b).
func offenders(b *Block) []Address {
	var out []Address
	for i := range b.Evidence {
		out = append(out, b.Evidence[i].Offender())
	}
	return out
}

// attach adds a validated block to the tree.
func (t *Tree) attach(h Hash, b *Block, parent *node, post *State, fin *Finality) *node {
	hd := b.Header
	n := &node{hash: h, header: hd, parent: parent, state: post, mix: hd.Mix, lastBefore: parent, fin: fin,
		stakers: stakersOf(b)}
	t.versions[versionKey{hd.Proposer, hd.Slot}]++
	if t.cfg.Genesis.EpochOf(parent.header.Slot) == t.cfg.Genesis.EpochOf(hd.Slot) {
		n.lastBefore = parent.lastBefore
	}
	t.nodes[h] = n
	i := hd.Height - t.base
	if int(i) == len(t.levels) {
		t.levels = append(t.levels, nil)
	}
	t.levels[i] = append(t.levels[i], n)
	return n
}

// detach removes n, the block attached last, from the tree.
func (t *Tree) detach(n *node) {
	delete(t.nodes, n.hash)
	t.versions[versionKey{n.header.Proposer, n.header.Slot}]--
	i := n.height() - t.base
	lv := t.levels[i]
	t.levels[i] = lv[:len(lv)-1]
	if len(t.levels[i]) == 0 {
		t.levels = t.levels[:i]
	}
}

// Head returns the tip of the canonical chain.
func (t *Tree) Head() Tip { return t.head.tip() }

// HeadState returns the state after the head block. It belongs to the tree: callers must not modify
// it (Clone it first).
func (t *Tree) HeadState() *State { return t.head.state }

// Genesis returns the tree's genesis.
func (t *Tree) Genesis() *Genesis { return t.cfg.Genesis }

// ChainID returns the genesis hash, which identifies the network.
func (t *Tree) ChainID() Hash { return t.chainID }

// Has reports whether the block with hash h is in the tree, or is a canonical block below the floor that the
// store holds; the genesis hash is.
func (t *Tree) Has(h Hash) bool {
	_, ok := t.nodes[h]
	return ok || t.belowFloor(h)
}

// CanonicalHash returns the hash of the canonical block at height; height 0 gives the genesis hash. Below the
// floor it reads the store's canonical index, and reports false for a height pruned from it (PROTOCOL.md §13).
func (t *Tree) CanonicalHash(height Height) (Hash, bool) {
	if height == 0 {
		return t.chainID, true
	}
	if height < t.base {
		return t.canonBelow(height)
	}
	if height-t.base >= Height(len(t.canon)) {
		return Hash{}, false
	}
	return t.canon[height-t.base].hash, true
}

// CanonicalHeader returns the header and hash of the canonical block at height (1 to the head's height): from
// memory at and above the floor, and from the store below it.
func (t *Tree) CanonicalHeader(height Height) (Header, Hash, bool) {
	if height > 0 && height < t.base {
		b, err := t.BlockAt(height)
		if err != nil {
			return Header{}, Hash{}, false
		}
		return b.Header, b.Hash(), true
	}
	if height == 0 || height-t.base >= Height(len(t.canon)) {
		return Header{}, Hash{}, false
	}
	n := t.canon[height-t.base]
	return n.header, n.hash, true
}

// isCanonical reports whether n, a block of the tree, is on the canonical chain.
func (t *Tree) isCanonical(n *node) bool {
	i := n.height() - t.base
	return n.height() >= t.base && i < Height(len(t.canon)) && t.canon[i] == n
}

// Block returns block h of the tree, from the store or from the blocks accepted and not yet stored (which the
// caller must not modify). Genesis is virtual and has no block.
func (t *Tree) Block(h Hash) (*Block, error) {
	n, ok := t.nodes[h]
	if (!ok && !t.belowFloor(h)) || n == t.root {
		return nil, fmt.Errorf("%w: block %s", ErrNotFound, h.Short())
	}
	return t.load(h)
}

// BlockAt returns the canonical block at height (1 to the head's height). Below the oldest block the store holds
// it fails with ErrPruned (PROTOCOL.md §13).
func (t *Tree) BlockAt(height Height) (*Block, error) {
	if height > 0 && height < t.oldest {
		return nil, fmt.Errorf("%w: height %d, oldest held %d", ErrPruned, height, t.oldest)
	}
	h, ok := t.CanonicalHash(height)
	if height == 0 || !ok {
		return nil, fmt.Errorf("%w: no block at height %d", ErrNotFound, height)
	}
	return t.load(h)
}

// TxHeight returns the height and hash of the canonical block that holds transaction id.
func (t *Tree) TxHeight(id Hash) (Height, Hash, bool) {
	hs, err := t.txBlocks(id)
	if err != nil {
		return 0, Hash{}, false
	}
	for _, h := range hs {
		if n, ok := t.nodes[h]; ok && t.isCanonical(n) {
			return n.height(), h, true
		}
		if b, err := t.cfg.Store.Block(h); err == nil && b.Header.Height < t.base {
			if c, ok := t.CanonicalHash(b.Header.Height); ok && c == h {
				return b.Header.Height, h, true
			}
		}
	}
	return 0, Hash{}, false
}
