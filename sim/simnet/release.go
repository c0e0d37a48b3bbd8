package simnet

import (
	"time"

	"github.com/posnode/posnode/chain"
)

// privateBranch is what a releasing byzantine process holds back: its node's blocks, in the order made, for one
// incarnation of the process.
type privateBranch struct {
	inc    uint64
	t      simTopic
	blocks []*chain.Block
}

// releasedBlock is a block of a private branch, and when it went out. No invariant of its own reads them: a late
// branch may win where PROTOCOL.md §8 lets it (two heights above a timely rival), and the network's own races make
// more; the adversary share (PROTOCOL.md §9), safety and liveness are what it is checked against.
type releasedBlock struct {
	proc int
	at   time.Duration
}

// holdPrivate keeps p's new block private; the first block held schedules the release of the branch an epoch
// later, whatever happens before.
func (s *Sim) holdPrivate(p *process, t simTopic, data []byte) bool {
	b, err := chain.DecodeBlock(data)
	if err != nil || b.Header.Proposer != p.addr {
		return false
	}
	m := &s.adv.more
	if m.private == nil {
		m.private = map[int]*privateBranch{}
	}
	pb := m.private[p.id]
	if pb == nil || pb.inc != p.inc {
		pb = &privateBranch{inc: p.inc}
		m.private[p.id] = pb
	}
	pb.t = t
	if len(pb.blocks) == 0 {
		epoch := time.Duration(s.cfg.Epoch) * s.cfg.Slot
		s.sched.at(s.sched.now+epoch, p.id, p.inc, "release-branch", func() { s.release(p) })
	}
	pb.blocks = append(pb.blocks, b)
	if m.held == nil {
		m.held = map[chain.Hash]bool{}
	}
	m.held[b.Hash()] = true
	return true
}

// maybeRelease runs when a block of another proposer joins p's tree: it releases p's private branch once that
// block reaches the branch's height (the branch would lose the race if it waited longer).
func (s *Sim) maybeRelease(p *process, b *chain.Block) {
	if !s.isByzantine(p.id) || !s.cfg.Strategies.has(Release) {
		return
	}
	pb := s.adv.more.private[p.id]
	if pb == nil || pb.inc != p.inc || len(pb.blocks) == 0 || b.Header.Proposer == p.addr {
		return
	}
	if b.Header.Height >= pb.blocks[len(pb.blocks)-1].Header.Height {
		s.release(p)
	}
}

// release publishes p's private branch, oldest block first, and remembers each block for the invariant.
func (s *Sim) release(p *process) {
	pb := s.adv.more.private[p.id]
	if pb == nil || pb.inc != p.inc || len(pb.blocks) == 0 || !p.up {
		return
	}
	m := &s.adv.more
	if m.released == nil {
		m.released = map[chain.Hash]releasedBlock{}
	}
	for _, b := range pb.blocks {
		m.released[b.Hash()] = releasedBlock{proc: p.id, at: s.sched.now}
		pb.t.send(b.Encode())
	}
	pb.blocks = nil
}
