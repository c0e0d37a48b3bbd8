package simnet

import (
	"container/heap"
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

type eventHeap []*event

func (h eventHeap) Len() int { return len(h) }
func (h eventHeap) Less(i, j int) bool {
	if h[i].at != h[j].at {
		return h[i].at < h[j].at
	}
	return h[i].seq < h[j].seq
}
func (h eventHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *eventHeap) Push(x any)   { *h = append(*h, x.(*event)) }
func (h *eventHeap) Pop() any {
	old := *h
	e := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	return e
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
	heap.Push(&s.queue, &event{at: max(at, s.now), seq: s.seq, node: node, inc: inc, kind: kind, f: f})
}

// next pops the next event and moves the clock to it; nil when nothing is due before end.
func (s *scheduler) next(end time.Duration) *event {
	if len(s.queue) == 0 || s.queue[0].at > end {
		return nil
	}
	e := heap.Pop(&s.queue).(*event)
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
