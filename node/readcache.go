package node

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/posnode/posnode/chain"
)

// maxCachedTables bounds the stake tables tableCache keeps: far more epochs than one grid or panel shows.
const maxCachedTables = 256

// tableKey names a stake table: an epoch's, on the branch through its checkpoint block.
type tableKey struct {
	epoch      chain.Epoch
	checkpoint chain.Hash
}

// tableCache holds the stake tables of epochs (PROTOCOL.md §6) that the read routes computed off the event loop,
// so that an old epoch's table is rebuilt once, not once per request. build serialises rebuilds: concurrent
// requests for one old epoch wait for the first one's replay rather than each replaying.
type tableCache struct {
	mu     sync.Mutex
	tables map[tableKey][]chain.Stake
	order  []tableKey // oldest first, for eviction
	build  sync.Mutex
}

func (c *tableCache) get(k tableKey) ([]chain.Stake, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	t, ok := c.tables[k]
	return t, ok
}

func (c *tableCache) put(k tableKey, t []chain.Stake) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.tables == nil {
		c.tables = map[tableKey][]chain.Stake{}
	}
	if _, ok := c.tables[k]; ok {
		return
	}
	if len(c.order) == maxCachedTables {
		delete(c.tables, c.order[0])
		c.order = c.order[1:]
	}
	c.tables[k], c.order = t, append(c.order, k)
}

// lookup puts into out the tables of epochs the cache holds, and returns the keys of the others.
func (c *tableCache) lookup(n *Node, s *readSnap, epochs []chain.Epoch, out map[chain.Epoch][]chain.Stake) []tableKey {
	var missing []tableKey
	for _, e := range epochs {
		k := tableKey{e, n.checkpointOf(s, e)}
		if t, ok := c.get(k); ok {
			out[e] = t
		} else {
			missing = append(missing, k)
		}
	}
	return missing
}

// checkpointOf is the block of the snapshot's canonical chain that is epoch e's checkpoint: the newest one
// before e's first slot (PROTOCOL.md §8a), the genesis for epoch 0.
func (n *Node) checkpointOf(s *readSnap, e chain.Epoch) chain.Hash {
	return s.at(s.lastBefore(chain.Slot(uint64(e) * n.cfg.Genesis.EpochLength))).hash
}

// epochTables returns the stake tables of epochs on the snapshot's canonical chain, each read from its
// checkpoint block's state (as chain.Tree.StakeTable does): from the cache, or rebuilt off the event loop from
// the sources one short loop call captures. extra, if set, runs in that same loop call. Errors: the context's,
// ErrStopped, chain.ErrPruned for an epoch older than the tree's record below its floor, chain.ErrCorruptStore.
// A checkpoint below the tree's floor gives the table the tree recorded for its epoch.
func (n *Node) epochTables(ctx context.Context, s *readSnap, epochs []chain.Epoch, extra func()) (map[chain.Epoch][]chain.Stake, error) {
	out := map[chain.Epoch][]chain.Stake{}
	missing := n.tables.lookup(n, s, epochs, out)
	if len(missing) > 0 {
		n.tables.build.Lock()
		defer n.tables.build.Unlock()
		missing = n.tables.lookup(n, s, epochs, out) // filled while this request waited
	}
	sources := make([]chain.StateSource, len(missing))
	recorded := make([][]chain.Stake, len(missing))
	var srcErr error
	if len(missing) > 0 || extra != nil {
		err := n.call(ctx, func() {
			for i, k := range missing {
				var err error
				sources[i], err = n.tree.StateSourceOf(k.checkpoint)
				if errors.Is(err, chain.ErrNotFound) && n.tree.Checkpoint(k.epoch).Hash == k.checkpoint {
					// Below the tree's floor, where it keeps no state: the table it recorded as it finalized
					// past the checkpoint (PROTOCOL.md §13).
					recorded[i], err = n.tree.StakeTable(k.epoch)
				}
				srcErr = errors.Join(srcErr, err)
			}
			if extra != nil {
				extra()
			}
		})
		if err = errors.Join(err, srcErr); err != nil {
			return nil, err
		}
	}
	for i, k := range missing {
		if recorded[i] != nil {
			out[k.epoch] = recorded[i]
			n.tables.put(k, out[k.epoch])
			continue
		}
		st, err := sources[i].Run()
		if err != nil {
			return nil, fmt.Errorf("stake table of epoch %d: %w", k.epoch, err)
		}
		out[k.epoch] = st.Validators(k.epoch)
		n.tables.put(k, out[k.epoch])
	}
	return out, nil
}
