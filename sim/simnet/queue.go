package simnet

import (
	"crypto/sha256"
	"encoding/binary"
	"hash"
	"time"
)

// event is one closure of the simulation, due at a virtual time. Events of one time run in the order they were
// queued (seq), so that a run depends on nothing but its seed.
type event struct {
	at   time.Duration // since the start of the run
	seq  uint64
	node int    // the process it belongs to; -1 for the simulator's own
	inc  uint64 // the process's incarnation when queued: a crash drops the events of the one before
	kind string // for the trace
	f    func()
}

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

// scheduler is the virtual clock and the queue of what is due.
type scheduler struct {
	now    time.Duration
	seq    uint64
	queue  eventHeap
	trace  hash.Hash // every event run: its time, process and kind, and what the run wrote to it (traceNote)
	events uint64
}

func newScheduler() *scheduler { return &scheduler{trace: sha256.New()} }

func (s *scheduler) at(at time.Duration, node int, inc uint64, kind string, f func()) {
	s.seq++
	at = max(at, s.now)
	s.queue.push(entry{at: at, seq: s.seq, e: &event{at: at, seq: s.seq, node: node, inc: inc, kind: kind, f: f}})
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

// note adds an event's identity to the trace.
func (s *scheduler) note(e *event) {
	s.events++
	var b [24]byte
	binary.BigEndian.PutUint64(b[:], uint64(e.at))
	binary.BigEndian.PutUint64(b[8:], uint64(int64(e.node)))
	binary.BigEndian.PutUint64(b[16:], e.inc)
	s.trace.Write(b[:])
	s.trace.Write([]byte(e.kind))
}

// traceNote adds bytes the run depends on (a message's identity, a draw) to the trace.
func (s *scheduler) traceNote(b []byte) { s.trace.Write(b) }
