package simnet

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/posnode/posnode/node"
	"github.com/posnode/posnode/p2p"
)

// Errors the simulated network gives a request.
var (
	errTimeout = errors.New("simulated request timed out")
	errNoProto = errors.New("simulated peer does not serve the protocol")
)

// banFor is how long a peer that reached p2p.BanPoints stays disconnected, as in p2p.
const banFor = 10 * time.Minute

// link is the connection between two processes: up while both are, no partition separates them and neither
// banned the other.
type link struct {
	a, b        int
	bannedUntil time.Duration
}

// procNet is the node.Network of one process.
type procNet struct {
	sim     *Sim
	p       *process
	inc     uint64
	topics  map[string]p2p.Validator
	protos  map[string]p2p.Handler
	onPeer  func(string)
	penalty map[int]int
}

func (pn *procNet) Join(topic string, v p2p.Validator) (node.Topic, error) {
	pn.topics[topic] = v
	return simTopic{pn, topic, "gossip:" + topic}, nil
}

func (pn *procNet) Handle(proto string, h p2p.Handler, _ ...p2p.HandlerOption) error {
	h = pn.sim.lyingHandler(pn.p, proto, h)                  // a sync liar's answers (synclie.go)
	pn.protos[proto] = pn.sim.rebuiltHandler(pn.p, proto, h) // a long-range attacker's (longrange.go)
	return nil
}

func (pn *procNet) OnPeer(f func(string)) { pn.onPeer = f }

func (pn *procNet) Peers() []p2p.Peer {
	var out []p2p.Peer
	for _, j := range pn.sim.connected(pn.p.id) {
		out = append(out, p2p.Peer{ID: pn.sim.procs[j].peerID, Direction: "simulated"})
	}
	return out
}

func (pn *procNet) Penalize(peer string, points int, _ string) (bool, error) {
	j, ok := pn.sim.byPeer[peer]
	if !ok {
		return false, fmt.Errorf("unknown simulated peer %s", peer)
	}
	pn.penalty[j] += points
	pn.sim.notePenalty(pn.p.id, j, points)
	if pn.penalty[j] < p2p.BanPoints {
		return false, nil
	}
	pn.penalty[j] = 0
	pn.sim.ban(pn.p.id, j)
	return true, nil
}

// Request delivers req after the link's latency, runs the peer's handler there, and the answer comes back after
// the latency again; a lost message, a down link or a dead peer make it time out.
func (pn *procNet) Request(peer, proto string, req []byte, timeout time.Duration, done func([]byte, error)) {
	s, from := pn.sim, pn.p.id
	j, ok := s.byPeer[peer]
	timedOut := func() {
		s.sched.at(s.sched.now+timeout, from, pn.inc, "timeout", func() { done(nil, errTimeout) })
	}
	if !ok || !s.linked(from, j) || s.lost() {
		timedOut()
		return
	}
	there := s.sched.now + s.delay(len(req))
	start, inc := s.sched.now, s.procs[j].inc
	// A simulator event, not the peer's: a peer that crashed meanwhile must still make the request time out.
	s.sched.at(there, -1, 0, "request:"+proto, func() {
		q := s.procs[j]
		if !q.up || q.inc != inc {
			s.sched.at(start+timeout, from, pn.inc, "timeout", func() { done(nil, errTimeout) })
			return
		}
		h := q.net.protos[proto]
		if h == nil || !s.linked(from, j) {
			if h == nil {
				s.sched.at(s.sched.now+s.delay(0), from, pn.inc, "answer", func() { done(nil, errNoProto) })
				return
			}
			s.sched.at(start+timeout, from, pn.inc, "timeout", func() { done(nil, errTimeout) })
			return
		}
		resp, err := h(context.Background(), pn.p.peerID, req)
		if lie := s.takeLie(); lie { // synclie.go
			answer := done
			done = func(resp []byte, err error) { s.deliveredLie(from, j); answer(resp, err) }
		}
		if s.takeServed() { // longrange.go
			answer := done
			done = func(resp []byte, err error) { s.servedRebuilt(from, j); answer(resp, err) }
		}
		back := s.sched.now + s.delay(len(resp))
		if errors.Is(err, errLieStall) || s.lost() || back-start > timeout {
			s.sched.at(start+timeout, from, pn.inc, "timeout", func() { done(nil, errTimeout) })
			return
		}
		s.sched.at(back, from, pn.inc, "answer:"+proto, func() { done(resp, err) })
	})
}

// simTopic is a joined topic: a message floods the links, each process judging it (its validator) before it
// passes it on, and dropping what it has seen — gossipsub's mesh with every connection in it.
type simTopic struct {
	pn   *procNet
	name string
	kind string // the trace's name of its deliveries
}

func (t simTopic) Publish(data []byte) {
	if t.pn.sim.intercept(t, data) { // a byzantine process's strategies (byzantine.go)
		return
	}
	t.send(data)
}

// send floods data from the topic's process over its links.
func (t simTopic) send(data []byte) {
	s := t.pn.sim
	p := t.pn.p
	hops := s.forwardTo(p.id, -1)
	if len(hops) == 0 { // as p2p.Topic.Publish: nothing is sent, and nothing marked seen, without a peer (ErrNoPeers)
		return
	}
	m := s.msgs.get(s.sched.now, msgID(t.name, data))
	if m.check(p.id) {
		return
	}
	s.stats.published++
	for _, h := range hops {
		s.sendMsg(p.id, h, t.name, t.kind, m, data)
	}
}

func (t simTopic) Peers() int { return len(t.pn.sim.connected(t.pn.p.id)) }

// send carries the gossip message id over the link from → to: lost, or delivered once or twice after its delay.
func (s *Sim) send(from int, h hop, topic, kind string, id [32]byte, data []byte) {
	s.sendMsg(from, h, topic, kind, s.msgs.get(s.sched.now, id), data)
}

// sendMsg is send of a message the registry holds.
func (s *Sim) sendMsg(from int, h hop, topic, kind string, m *gossipMsg, data []byte) {
	if s.lost() {
		s.stats.lost++
		return
	}
	copies := 1
	if s.cfg.DupPermille > 0 && s.rng.IntN(1000) < s.cfg.DupPermille {
		copies = 2
	}
	if m.topic == "" { // the first send of the message: its ID is msgID(topic, data), so every send's are these
		m.topic, m.data = topic, data
	}
	for range copies {
		at := s.sched.now + s.delay(len(data))
		if m.has(h.to) { // a copy to a process that has the message can only arrive as a duplicate: no event
			s.stats.duplicates++
			continue
		}
		s.sched.deliverAt(at, h.to, s.procs[h.to].inc, kind, delivery{from: int32(from), to: int32(h.to), l: h.l, m: m})
	}
}

// deliver hands a gossip message to a process: its validator judges it once, and an accepted one goes on to the
// process's other links.
func (s *Sim) deliver(kind string, d delivery) {
	from, h, m := int(d.from), d.hop(), d.m
	topic, data := m.topic, m.data
	to, q, id := h.to, s.procs[h.to], m.id
	if !s.up(h.l, from, to) {
		return
	}
	s.stats.delivered++
	if m.check(to) {
		s.stats.duplicates++
		return
	}
	s.sched.traceNote(id[:8])
	v := q.net.topics[topic]
	if v == nil || s.adv.ownTwins[id] == to+1 { // a byzantine process ignores its own second halves (byzantine.go)
		return
	}
	switch v(context.Background(), s.procs[from].peerID, data) {
	case p2p.Accept:
		s.checkForwarded(to, id)
		for _, next := range s.forwardTo(to, from) {
			s.sendMsg(to, next, topic, kind, m, data)
		}
	case p2p.Reject:
		s.stats.rejected++
		q.net.Penalize(s.procs[from].peerID, 10, "rejected message")
	}
}

// delay is one message's time on a link: latency ± jitter, plus its size at the link's bandwidth.
func (s *Sim) delay(size int) time.Duration {
	d := s.cfg.Latency
	if j := s.cfg.Jitter; j > 0 {
		d += time.Duration(s.rng.Int64N(int64(2*j)+1)) - j
	}
	if s.cfg.Bandwidth > 0 {
		d += time.Duration(int64(size) * int64(time.Second) / s.cfg.Bandwidth)
	}
	return max(d, time.Microsecond)
}

func (s *Sim) lost() bool {
	return s.cfg.LossPermille > 0 && s.rng.IntN(1000) < s.cfg.LossPermille
}
