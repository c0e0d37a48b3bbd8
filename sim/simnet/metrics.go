package simnet

import (
	"slices"
	"time"

	"github.com/posnode/posnode/chain"
	"github.com/posnode/posnode/node"
)

// The figures of a run beyond its invariants (Stats): slot fill, the deepest reorg, the finality lag and block
// propagation. They come from hooks of the node that only observe (node.Config.OnBlock, OnHead) and from the
// epoch checks, so measuring them changes nothing a process does.

// metrics is what the run has measured so far.
type metrics struct {
	blocks map[chain.Hash]*blockSeen // by block: when it was proposed and which processes accepted it since
	delays []time.Duration           // each acceptance of a block by a process other than its proposer
	lags   []uint64                  // the finality lag at each epoch check, in epochs
}

// blockSeen is one block's propagation: its proposal's virtual time and the processes that accepted it.
type blockSeen struct {
	proposed time.Duration
	by       []uint64 // bit i: process i accepted it once already
}

// watch is the part of node.Config that reports to the run's metrics for process p.
func (s *Sim) watch(cfg *node.Config, p *process) {
	cfg.OnBlock = func(b *chain.Block, local bool) {
		s.blockJoined(p, b, local)
		s.onBlock(p, b, local)
	}
	cfg.OnHead = func(c chain.Change) { s.headMoved(c) }
}

// blockJoined notes a block joining p's tree: its proposal when local, else its arrival, counted once a process
// (a restart that syncs the block again does not count it twice).
func (s *Sim) blockJoined(p *process, b *chain.Block, local bool) {
	if s.m.blocks == nil {
		s.m.blocks = map[chain.Hash]*blockSeen{}
	}
	h := b.Hash()
	seen := s.m.blocks[h]
	if seen == nil {
		if !local {
			return // proposed by no process of this run's view: not timed
		}
		seen = &blockSeen{proposed: s.sched.now, by: make([]uint64, (len(s.procs)+63)/64)}
		s.m.blocks[h] = seen
	}
	word, bit := p.id/64, uint64(1)<<(p.id%64)
	if seen.by[word]&bit != 0 {
		return
	}
	seen.by[word] |= bit
	if !local {
		s.m.delays = append(s.m.delays, s.sched.now-seen.proposed)
	}
}

// headMoved notes a change of some process's canonical chain: a reorg when blocks left it.
func (s *Sim) headMoved(c chain.Change) {
	if d := len(c.Reverted); d > 0 {
		s.stats.Reorgs++
		s.stats.ReorgDepth = max(s.stats.ReorgDepth, d)
	}
}

// noteLag records the finality lag of one epoch check.
func (s *Sim) noteLag(lag uint64) { s.m.lags = append(s.m.lags, lag) }

// summarize puts the figures into the run's Stats.
func (s *Sim) summarize() {
	if s.stats.Slots > 0 {
		s.stats.SlotFill = float64(s.stats.Blocks) / float64(s.stats.Slots)
	}
	s.stats.Propagated = len(s.m.delays)
	if len(s.m.delays) > 0 {
		d := slices.Clone(s.m.delays)
		slices.Sort(d)
		s.stats.PropagationP50, s.stats.PropagationP99 = d[len(d)*50/100], d[len(d)*99/100]
		s.stats.PropagationMax = d[len(d)-1]
	}
	if len(s.m.lags) > 0 {
		l := slices.Clone(s.m.lags)
		slices.Sort(l)
		s.stats.FinalityLagP50 = l[len(l)/2]
	}
}
