package simnet

import (
	"crypto/sha256"
	"encoding/binary"
	"hash"
	"time"
)

// event is one closure of the simulation, due at a virtual time, or one gossip delivery (f nil). Events of one
// time run in the order they were queued (seq, which the queue's entry holds), so that a run depends on nothing
// but its seed. The scheduler reuses an event once it ran (release), so a run of a million events allocates a
// queue's worth of them. An event is 64 bytes, one cache line: the queue holds thousands, and taking one that
// is not in the cache is most of what taking the next event costs.
type event struct {
	at   time.Duration // since the start of the run
	node int32         // the process it belongs to; -1 for the simulator's own
	inc  uint32        // the process's incarnation when queued: a crash drops the events of the one before
	kind string        // for the trace
	f    func()
	dl   delivery // when f is nil: the gossip message it delivers (Sim.deliver)
}

// delivery is a gossip message on its way over one link; held in its event, so that a send allocates no closure.
// The message holds its topic and bytes.
type delivery struct {
	from, to int32
	l        *link
	m        *gossipMsg
}

// hop returns the link the delivery travels, as forwardTo lists it.
func (d delivery) hop() hop { return hop{to: int(d.to), l: d.l} }

// entry is an event in the queue with its order key beside it, so that ordering reads no event.
type entry struct {
	at  time.Duration
	seq uint64
	e   *event
}

func (a entry) before(b entry) bool { return a.at < b.at || a.at == b.at && a.seq < b.seq }

// eventHeap is a 4-ary min-heap of entries by (at, seq): shallower than a binary heap, and typed, so a push or a
// pop makes no interface calls (container/heap's cost was a tenth of a run).
type eventHeap []entry

func (h *eventHeap) push(x entry) {
	q := append(*h, x)
	i := len(q) - 1
	for i > 0 {
		parent := (i - 1) / 4
		if !x.before(q[parent]) {
			break
		}
		q[i] = q[parent]
		i = parent
	}
	q[i] = x
	*h = q
}

func (h *eventHeap) pop() *event {
	q := *h
	top := q[0].e
	last := q[len(q)-1]
	q[len(q)-1] = entry{}
	q = q[:len(q)-1]
	*h = q
	if len(q) == 0 {
		return top
	}
	i := 0
	for {
		c := 4*i + 1
		if c >= len(q) {
			break
		}
		best := c
		for k := c + 1; k < min(c+4, len(q)); k++ {
			if q[k].before(q[best]) {
				best = k
			}
		}
		if !q[best].before(last) {
			break
		}
		q[i] = q[best]
		i = best
	}
	q[i] = last
	return top
}

// traceChunk is how many trace bytes the scheduler gathers before it hashes them: SHA-256 of a stream does not
// depend on how the stream is cut, and a few large writes cost less than one small write per event.
const traceChunk = 16 << 10

// scheduler is the virtual clock and the queue of what is due.
type scheduler struct {
	now    time.Duration
	seq    uint64
	queue  eventHeap
	free   []*event  // events that ran, for reuse
	trace  hash.Hash // every event run: its time, process and kind, and what the run wrote to it (traceNote)
	buf    []byte    // trace bytes not yet hashed
	events uint64
}

func newScheduler() *scheduler {
	return &scheduler{trace: sha256.New(), buf: make([]byte, 0, traceChunk+256)}
}

// at queues f to run at the virtual time at (now, if at is past) for process node of incarnation inc.
func (s *scheduler) at(at time.Duration, node int, inc uint64, kind string, f func()) {
	e := s.event(at, node, inc, kind)
	e.f = f
	s.queue.push(entry{at: e.at, seq: s.seq, e: e})
}

// deliverAt queues the delivery d, as at does a closure.
func (s *scheduler) deliverAt(at time.Duration, node int, inc uint64, kind string, d delivery) {
	e := s.event(at, node, inc, kind)
	e.dl = d
	s.queue.push(entry{at: e.at, seq: s.seq, e: e})
}

// event returns an unqueued event, reused if one is free, with its time and owner set, and takes its order (s.seq).
func (s *scheduler) event(at time.Duration, node int, inc uint64, kind string) *event {
	s.seq++
	var e *event
	if n := len(s.free); n > 0 {
		e, s.free = s.free[n-1], s.free[:n-1]
	} else {
		e = new(event)
	}
	e.at, e.node, e.inc, e.kind = max(at, s.now), int32(node), uint32(inc), kind
	return e
}

// release returns e, which ran or was dropped, for reuse; nothing may hold e after.
func (s *scheduler) release(e *event) {
	*e = event{}
	s.free = append(s.free, e)
}

// next pops the next event and moves the clock to it; nil when nothing is due before end.
func (s *scheduler) next(end time.Duration) *event {
	if len(s.queue) == 0 || s.queue[0].at > end {
		return nil
	}
	e := s.queue.pop()
	s.now = e.at
	return e
}

// note adds an event's identity to the trace: its time, process and incarnation (u64 each, big-endian) and kind.
func (s *scheduler) note(e *event) {
	s.events++
	b := binary.BigEndian.AppendUint64(s.buf, uint64(e.at))
	b = binary.BigEndian.AppendUint64(b, uint64(int64(e.node)))
	b = binary.BigEndian.AppendUint64(b, uint64(e.inc))
	s.buf = append(b, e.kind...)
	s.hashFull()
}

// traceNote adds bytes the run depends on (a message's identity, a draw) to the trace.
func (s *scheduler) traceNote(b []byte) {
	s.buf = append(s.buf, b...)
	s.hashFull()
}

// hashFull hashes the gathered trace bytes once they fill a chunk.
func (s *scheduler) hashFull() {
	if len(s.buf) >= traceChunk {
		s.trace.Write(s.buf)
		s.buf = s.buf[:0]
	}
}

// traceSum returns the SHA-256 of every byte the trace was given.
func (s *scheduler) traceSum() []byte {
	s.trace.Write(s.buf)
	s.buf = s.buf[:0]
	return s.trace.Sum(nil)
}
