package simnet

import (
	"context"
	"time"

	"github.com/posnode/posnode/chain"
	"github.com/posnode/posnode/consensus"
)

// grindVersions is how many stake amounts (1 to grindVersions tokens) a grinding validator tries at each epoch
// tail it holds.
const grindVersions = 64

// grindLead is how long before a slot's start a grinding validator chooses its stake: before its node proposes,
// whatever its clock's skew.
const grindLead = 400 * time.Millisecond

// scheduleGrind has every byzantine validator look at each slot, before it starts, for an epoch tail to grind.
func (s *Sim) scheduleGrind() {
	if !s.cfg.Strategies.has(Grind) || s.cfg.byzantineCount() == 0 {
		return
	}
	for slot := chain.Slot(1); time.Duration(slot)*s.cfg.Slot < s.cfg.Duration+s.cfg.Heal; slot++ {
		at := time.Duration(slot)*s.cfg.Slot - grindLead
		s.sched.at(at, -1, 0, "grind", func() {
			for i := range s.cfg.Validators {
				if p := s.procs[i]; p.up && s.isByzantine(i) {
					s.grind(p, slot)
				}
			}
		})
	}
}

// grind is the lottery model's StakeGrind (sim/stakegrind.go) played by a node: when p leads slot and every
// later slot of its epoch on its head, the mix at the epoch's end — the seed of the epoch two on (PROTOCOL.md §6)
// — is known to p alone, from its VRF outputs. It values grindVersions stakes of its own tokens by the slots of
// that epoch each wins it, with the real ledger and lottery, and submits the best one to its own node, which puts
// it in the block it proposes. The stake table lag of PROTOCOL.md §6 makes every version worth the same.
func (s *Sim) grind(p *process, slot chain.Slot) {
	tr := p.node.Chain()
	if leader, ok := tr.Leader(slot); !ok || leader != p.addr {
		return
	}
	ep := s.gen.EpochOf(slot)
	tail, ok := s.heldTail(p, slot)
	if !ok {
		return
	}
	mix := chain.NextMix(tr.Head().Mix, vrfOutput(p, slot))
	for _, t := range tail {
		mix = chain.NextMix(mix, vrfOutput(p, t))
	}
	base, _, err := tr.Propose(slot, p.key, nil)
	if err != nil {
		return
	}
	st := tr.HeadState()
	best, bestWins := uint64(0), -1
	for v := uint64(1); v <= grindVersions; v++ {
		tx := chain.NewTx(chain.TxStake, p.addr, st.Account(p.addr).Nonce, chain.Address{}, v, s.gen.TxFee)
		post := st.Clone()
		if post.ApplyBlock(&chain.Block{Header: base.Header, Txs: []chain.Tx{tx}}) != nil {
			return
		}
		if w := s.wins(p, post.Validators(ep+2), mix, ep+2); w > bestWins {
			best, bestWins = v, w
		}
	}
	_, _ = p.node.SubmitOwn(context.Background(), chain.TxStake, chain.Address{}, best)
}

// heldTail returns the slots after slot in its epoch, when p leads each of them on its head.
func (s *Sim) heldTail(p *process, slot chain.Slot) ([]chain.Slot, bool) {
	tr := p.node.Chain()
	ep := s.gen.EpochOf(slot)
	table, err := consensus.NewTable(tr.HeadState().Validators(ep))
	if err != nil {
		return nil, false
	}
	src, err := tr.SeedSource(tr.Head().Hash, slot)
	if err != nil {
		return nil, false
	}
	var tail []chain.Slot
	for t := slot + 1; t < chain.Slot(uint64(ep+1)*s.cfg.Epoch); t++ {
		if a, ok := table.Pick(consensus.Seed(src, t)); !ok || a != p.addr {
			return nil, false
		}
		tail = append(tail, t)
	}
	return tail, true
}

// wins counts the slots of epoch ep that p wins with stake table stakes and seed source src; the epoch's last
// slot counts twice, as it holds the next tail to grind at.
func (s *Sim) wins(p *process, stakes []chain.Stake, src chain.Hash, ep chain.Epoch) int {
	table, err := consensus.NewTable(stakes)
	if err != nil {
		return 0
	}
	n := 0
	first := chain.Slot(uint64(ep) * s.cfg.Epoch)
	for t := first; t < first+chain.Slot(s.cfg.Epoch); t++ {
		if a, ok := table.Pick(consensus.Seed(src, t)); ok && a == p.addr {
			n++
			if t == first+chain.Slot(s.cfg.Epoch)-1 {
				n += int(s.cfg.Epoch)
			}
		}
	}
	return n
}

// vrfOutput is p's VRF output for slot, which it knows for every slot in advance (PROTOCOL.md §6).
func vrfOutput(p *process, slot chain.Slot) chain.VRFOutput {
	proof := chain.ProveVRF(p.key, p.node.ChainID(), slot)
	out, _ := proof.Output()
	return out
}
