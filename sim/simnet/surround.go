package simnet

import (
	"context"
	"fmt"
	"time"

	"github.com/posnode/posnode/chain"
)

// scheduleSurround runs when p's node signed v: the first time a byzantine surround voter's node signs a vote whose
// source is after genesis, the strategy signs, at the start of the next epoch, a vote from the genesis checkpoint
// to that epoch's checkpoint, before its node votes in it (surroundVote).
func (s *Sim) scheduleSurround(p *process, v chain.Vote) {
	if !s.isByzantine(p.id) || !s.cfg.Strategies.has(Surround) || v.Source.Epoch == 0 {
		return
	}
	m := &s.adv.more
	if m.surrounded == nil {
		m.surrounded = map[int]bool{}
	}
	if m.surrounded[p.id] {
		return
	}
	m.surrounded[p.id] = true
	next := time.Duration(uint64(v.Target.Epoch+1)*s.cfg.Epoch)*s.cfg.Slot + time.Millisecond
	s.sched.at(max(next, s.sched.now), p.id, p.inc, "surround", func() { s.surroundVote(p, v) })
}

// surroundVote signs w = genesis → the next epoch's checkpoint on p's head, which surrounds v (chain.Slashable:
// source 0 < v's source, v's target < w's target) and shares a target epoch with no vote of p's: only the surround
// rule of PROTOCOL.md §8b catches it. p's own node gets w first: it takes it for a doppelganger's and signs
// nothing more, so no vote of its own for w's epoch ever makes a double vote (the surround voter goes quiet after
// its offence). Then w goes to its peers.
func (s *Sim) surroundVote(p *process, v chain.Vote) {
	tr := p.node.Chain()
	e := v.Target.Epoch + 1
	w := chain.Vote{Validator: p.addr, Source: chain.Checkpoint{Epoch: 0, Hash: s.gen.Hash()}, Target: tr.Checkpoint(e)}
	w.Sign(p.node.ChainID(), p.key)
	data := w.Encode()
	if val := p.net.topics["votes"]; val != nil {
		val(context.Background(), "surround-voter", data)
	}
	s.adv.ownTwins[msgID("votes", data)] = p.id + 1
	s.adv.equivocations = append(s.adv.equivocations, equivocation{proc: p.id, made: s.sched.now, released: s.sched.now,
		what: fmt.Sprintf("surround vote %s→%s around %s→%s", w.Source, w.Target, v.Source, v.Target)})
	simTopic{p.net, "votes", "gossip:votes"}.send(data)
}

// accusesSelf reports whether p's node is about to publish evidence against p, alone or in a block: a surround
// voter's node finds its own offence in its vote pool. The strategy keeps it to itself, so that only the other
// processes can find the offence, and only by the surround rule.
func (s *Sim) accusesSelf(p *process, topic string, data []byte) bool {
	var evs []chain.Evidence
	switch topic {
	case "evidence":
		e, err := chain.DecodeEvidence(data)
		if err != nil {
			return false
		}
		evs = []chain.Evidence{e}
	case "blocks":
		b, err := chain.DecodeBlock(data)
		if err != nil {
			return false
		}
		evs = b.Evidence
	}
	for i := range evs {
		if evs[i].Offender() == p.addr {
			return true
		}
	}
	return false
}

// moreAdversary is what the strategies of surround.go, release.go, synclie.go and longrange.go hold.
type moreAdversary struct {
	surrounded map[int]bool                 // surround voters that committed their offence
	private    map[int]*privateBranch       // release.go
	released   map[chain.Hash]releasedBlock // blocks of private branches, when released
	held       map[chain.Hash]bool          // every block a private branch held, released or not
	// honestVotes is each honest validator's vote target, by target epoch, in a release run (release_lag.go).
	honestVotes map[chain.Epoch]map[int]chain.Hash
	lies        syncLies  // synclie.go
	lr          longRange // longrange.go
}
