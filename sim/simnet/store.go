package simnet

import (
	"time"

	"github.com/posnode/posnode/chain"
)

// A process's chain database, in memory (Config.MemStore): a chain.MemStore that outlives the process's
// incarnations, as its chain.db file would.
//
// Crash semantics. A simulated crash stops a process between two events of the run; every write the node made
// before it returned (the store's writes run at once, on the simulation's one thread: procRuntime.Background),
// and none is half done. A bbolt file on a tmpfs, as the simulator otherwise uses, keeps exactly the transactions
// committed before the crash, each whole; a MemStore keeps exactly the PutBlocks and PutMeta calls made before it,
// each whole. So the two lose the same things: what the node had not yet written (its write-behind buffer, its
// unflushed votes), never part of a write. Neither models a power loss that drops written but unsynced pages, a
// torn page; a full or failing disk is diskclock.go's. A restart without chain.db gets a fresh MemStore. What the memory store
// skips: bbolt's own code (page allocation, its B+ tree, the freelist) and chain.OpenBolt's check of every stored
// record at open, which a bbolt file written by the same process always passes.
type memDisk struct {
	store *chain.MemStore
	err   error                // a full or failing disk's error (diskclock.go)
	until time.Duration        // until when
	now   func() time.Duration // the run's virtual time; nil before the first disk episode
	pool  *chain.BlockPool     // the run's block encodings, shared by every process's store
}

// storeOf is node.Config.OpenStore of process p: nil (a bbolt file) with Config.Bolt, else its memDisk.
func (s *Sim) storeOf(p *process) func(string) (chain.Store, error) {
	if s.cfg.Bolt {
		return nil
	}
	return p.disk.open
}

// open returns the process's store for one incarnation: Close ends that incarnation's use of it (later calls fail
// with chain.ErrStoreClosed, as a closed bbolt store's do) and keeps the contents for the next.
func (d *memDisk) open(string) (chain.Store, error) {
	if d.store == nil {
		d.store = chain.NewSharedMemStore(d.pool)
	}
	return &openStore{MemStore: d.store, disk: d}, nil
}

// wipe drops everything stored: a restart without chain.db.
func (d *memDisk) wipe() { d.store = nil }

// openStore is one incarnation's handle on a memDisk.
type openStore struct {
	*chain.MemStore
	closed bool
	disk   *memDisk
}

func (o *openStore) PutBlock(b *chain.Block) error { return o.PutBlocks([]*chain.Block{b}) }

func (o *openStore) PutBlocks(bs []*chain.Block) error {
	if o.closed {
		return chain.ErrStoreClosed
	}
	if err := o.disk.failing("write"); err != nil {
		return err
	}
	return o.MemStore.PutBlocks(bs)
}

func (o *openStore) Finalize(f *chain.Finalization) error {
	if o.closed {
		return chain.ErrStoreClosed
	}
	if err := o.disk.failing("write"); err != nil {
		return err
	}
	return o.MemStore.Finalize(f)
}

func (o *openStore) Block(h chain.Hash) (*chain.Block, error) {
	if o.closed {
		return nil, chain.ErrStoreClosed
	}
	return o.MemStore.Block(h)
}

func (o *openStore) ForEach(fn func(*chain.Block) error) error {
	if o.closed {
		return chain.ErrStoreClosed
	}
	return o.MemStore.ForEach(fn)
}

func (o *openStore) TxBlocks(id chain.Hash) ([]chain.Hash, error) {
	if o.closed {
		return nil, chain.ErrStoreClosed
	}
	return o.MemStore.TxBlocks(id)
}

func (o *openStore) TxIDs(prefix []byte, max int) ([]chain.Hash, error) {
	if o.closed {
		return nil, chain.ErrStoreClosed
	}
	return o.MemStore.TxIDs(prefix, max)
}

func (o *openStore) PutMeta(key string, val []byte) error {
	if o.closed {
		return chain.ErrStoreClosed
	}
	if err := o.disk.failing("write"); err != nil {
		return err
	}
	return o.MemStore.PutMeta(key, val)
}

func (o *openStore) Meta(key string) ([]byte, error) {
	if o.closed {
		return nil, chain.ErrStoreClosed
	}
	return o.MemStore.Meta(key)
}

// Close ends this handle, not the store.
func (o *openStore) Close() error {
	o.closed = true
	return nil
}
