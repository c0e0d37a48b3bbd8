package simnet

import "time"

// seenTTL is how long the network remembers a gossip message: go-libp2p-pubsub's seen cache keeps a message's ID
// for 2 minutes (TimeCacheDuration), and a message that comes back later is judged again.
const seenTTL = 2 * time.Minute

// gossipMsg is one gossip message of the run while the network remembers it: which processes saw it, a bit each.
// Sends carry it, so a delivery tests a bit instead of looking the message up in a per-process set.
type gossipMsg struct {
	id    [32]byte
	seen  []uint64
	topic string // set by its first send (sendMsg); the message's ID is msgID(topic, data)
	data  []byte
}

// has reports whether process p saw the message. A process that has keeps it seen until it restarts (forget),
// and a restart drops the deliveries queued to its earlier life: a copy sent to a process that has the message
// is a duplicate whenever it arrives, and sendMsg queues none (its delay is still drawn, so that the run's draws,
// and with them everything the processes do, do not depend on it).
func (m *gossipMsg) has(p int) bool { return m.seen[p/64]&(uint64(1)<<(p%64)) != 0 }

// check reports whether process p saw the message, and marks it seen.
func (m *gossipMsg) check(p int) bool {
	w, bit := p/64, uint64(1)<<(p%64)
	if m.seen[w]&bit != 0 {
		return true
	}
	m.seen[w] |= bit
	return false
}

// msgRegistry is every process's gossip seen cache at once: the messages first published in the last seenTTL at
// least and 2×seenTTL at most. Two generations turn over every seenTTL, so the network holds the messages of the
// last minutes, not of the whole run.
type msgRegistry struct {
	cur, old map[[32]byte]*gossipMsg // first published since from; in the seenTTL before from
	from     time.Duration
	words    int // of each seen bitset
}

func newMsgRegistry(procs int) msgRegistry {
	return msgRegistry{cur: map[[32]byte]*gossipMsg{}, words: (procs + 63) / 64}
}

// get returns the message id at time now, made unseen when the registry does not hold it.
func (r *msgRegistry) get(now time.Duration, id [32]byte) *gossipMsg {
	if now-r.from >= seenTTL {
		r.old, r.cur, r.from = r.cur, make(map[[32]byte]*gossipMsg, len(r.cur)), now
	}
	if m, ok := r.cur[id]; ok {
		return m
	}
	if m, ok := r.old[id]; ok {
		return m
	}
	m := &gossipMsg{id: id, seen: make([]uint64, r.words)}
	r.cur[id] = m
	return m
}

// forget clears what process p saw: a restarted process's seen cache is empty.
func (r *msgRegistry) forget(p int) {
	w, bit := p/64, uint64(1)<<(p%64)
	for _, gen := range []map[[32]byte]*gossipMsg{r.cur, r.old} {
		for _, m := range gen {
			m.seen[w] &^= bit
		}
	}
}

// seenBefore reports whether process p saw the gossip message id lately, and marks it seen.
func (s *Sim) seenBefore(p *process, id [32]byte) bool {
	return s.msgs.get(s.sched.now, id).check(p.id)
}
