package main

import (
	"sync"
	"time"

	"github.com/posnode/posnode/chain"
)

// blockEvent is one node accepting one block into its tree, as reported by node.Config.OnBlock.
type blockEvent struct {
	node   int
	at     time.Time
	hash   chain.Hash
	slot   chain.Slot
	height chain.Height
	local  bool // proposed by this node
}

// recorder collects block events from every node of a cluster. The hooks run on the nodes' event loops, so they
// only take a timestamp and append under a lock.
type recorder struct {
	mu         sync.Mutex
	events     []blockEvent
	keepBlocks bool
	blocks     map[chain.Hash]*chain.Block // first copy of each block, when keepBlocks
	first      map[int]time.Time           // when each node stored its first block
	top        map[int]blockEvent          // each node's highest block stored
}

func newRecorder(keepBlocks bool) *recorder {
	r := &recorder{keepBlocks: keepBlocks}
	r.reset()
	return r
}

// hook returns node i's OnBlock callback.
func (r *recorder) hook(i int) func(*chain.Block, bool) {
	return func(b *chain.Block, local bool) {
		at := time.Now()
		h := b.Hash()
		r.mu.Lock()
		defer r.mu.Unlock()
		e := blockEvent{node: i, at: at, hash: h, slot: b.Header.Slot, height: b.Header.Height, local: local}
		r.events = append(r.events, e)
		if _, ok := r.first[i]; !ok {
			r.first[i] = at
		}
		if e.height > r.top[i].height {
			r.top[i] = e
		}
		if _, ok := r.blocks[h]; r.keepBlocks && !ok {
			r.blocks[h] = b
		}
	}
}

// add records an event observed outside the node (from its API's event stream).
func (r *recorder) add(e blockEvent) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, e)
	if _, ok := r.first[e.node]; !ok {
		r.first[e.node] = e.at
	}
	if e.height > r.top[e.node].height {
		r.top[e.node] = e
	}
}

// snapshot returns the events so far and the kept blocks.
func (r *recorder) snapshot() ([]blockEvent, map[chain.Hash]*chain.Block) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]blockEvent(nil), r.events...), r.blocks
}

// reset forgets everything recorded so far.
func (r *recorder) reset() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events, r.blocks = nil, map[chain.Hash]*chain.Block{}
	r.first, r.top = map[int]time.Time{}, map[int]blockEvent{}
}

// head returns when node i stored its first block and its highest block; ok is false before its first block.
func (r *recorder) head(i int) (first time.Time, top blockEvent, ok bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	first, ok = r.first[i]
	return first, r.top[i], ok
}
