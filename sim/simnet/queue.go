package simnet

import (
	"cmp"
	"crypto/sha256"
	"encoding/binary"
	"hash"
	"slices"
	"time"
)

// event is one closure of the simulation, due at a virtual time, or one gossip delivery (f nil). Events of one
// time run in the order they were queued (seq, which the queue's entry holds), so that a run depends on nothing
// but its seed. The queue holds events by value: a bucket of the calendar is read in order when the clock reaches
// it, where an event behind a pointer, written when it was queued and read tens of thousands of events later,
// was a miss to memory on every pop.
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

// entry is an event in the queue with its order.
type entry struct {
	seq uint64
	e   event
}

func (a *entry) before(b *entry) bool { return a.e.at < b.e.at || a.e.at == b.e.at && a.seq < b.seq }

// eventHeap is a 4-ary min-heap of entries by (at, seq): shallower than a binary heap, and typed, so a push or a
// pop makes no interface calls (container/heap's cost was a tenth of a run).
type eventHeap []entry

func (h *eventHeap) push(x entry) {
	q := append(*h, x)
	i := len(q) - 1
	for i > 0 {
		parent := (i - 1) / 4
		if !x.before(&q[parent]) {
			break
		}
		q[i] = q[parent]
		i = parent
	}
	q[i] = x
	*h = q
}

func (h *eventHeap) pop() entry {
	q := *h
	top := q[0]
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
			if q[k].before(&q[best]) {
				best = k
			}
		}
		if !q[best].before(&last) {
			break
		}
		q[i] = q[best]
		i = best
	}
	q[i] = last
	return top
}

// The calendar's shape: buckets of bucketWidth of virtual time, ringBuckets of them ahead of the current one
// (262 ms). A gossip hop (tens of milliseconds) lands in the ring; a timer further out waits in a heap until the
// ring reaches it. Narrow buckets keep each small, a few events at 1,024 processes, and so cheap to sort.
const (
	bucketWidth = 16 * time.Microsecond
	ringBuckets = 16384
)

// calendar is the scheduler's queue, a calendar queue: an event is appended to the bucket of its time, and a
// bucket is sorted by (at, seq) only when the clock reaches it. Popping reads the sorted bucket in order, so the
// cost of an event is an append and its share of sorting a bucket that fits in the cache, where a heap of every
// queued event (hundreds of thousands at 1,024 processes) took a cache miss per level on each pop.
// The order is exactly the heap's: by time, and events of one time in the order they were queued.
// A bucket's buffer, once read, is kept for the next bucket that needs one (spare): the buffers are as many as
// the buckets that hold events at once, and a run of millions of events allocates few.
type calendar struct {
	b     int64                // the current bucket: the one whose events pop next
	cur   []entry              // bucket b, sorted, from head on
	head  int                  // the next entry of cur to pop
	late  eventHeap            // entries of bucket b (or earlier) queued after it was sorted
	ring  [ringBuckets][]entry // bucket k (b < k < b+ringBuckets) at k%ringBuckets, in the order queued; nil if empty
	spare [][]entry            // empty buffers for buckets
	in    int                  // entries in the ring
	far   eventHeap            // entries of buckets at b+ringBuckets or later
	n     int                  // entries queued
}

func bucketOf(at time.Duration) int64 { return int64(at / bucketWidth) }

func (c *calendar) push(x entry) {
	c.n++
	switch k := bucketOf(x.e.at); {
	case k <= c.b:
		c.late.push(x)
	case k < c.b+ringBuckets:
		c.toRing(k, x)
	default:
		c.far.push(x)
	}
}

// toRing appends x to bucket k of the ring, in a spare buffer if the bucket has none.
func (c *calendar) toRing(k int64, x entry) {
	i := k % ringBuckets
	if c.ring[i] == nil && len(c.spare) > 0 {
		c.ring[i], c.spare = c.spare[len(c.spare)-1], c.spare[:len(c.spare)-1]
	}
	c.ring[i] = append(c.ring[i], x)
	c.in++
}

// first returns the first entry, which pop takes, or nil when the queue is empty. It is valid until the next push
// or pop.
func (c *calendar) first() *entry {
	if c.n == 0 {
		return nil
	}
	if c.head == len(c.cur) && len(c.late) == 0 {
		c.advance()
	}
	if c.curFirst() {
		return &c.cur[c.head]
	}
	return &c.late[0]
}

// curFirst reports whether the first entry is the current bucket's next rather than the late heap's top.
func (c *calendar) curFirst() bool {
	return c.head < len(c.cur) && (len(c.late) == 0 || c.cur[c.head].before(&c.late[0]))
}

// pop copies the first entry's event, which first returned, to e and removes the entry.
func (c *calendar) pop(e *event) {
	c.n--
	if c.curFirst() {
		*e = c.cur[c.head].e
		c.cur[c.head] = entry{} // the buffer is kept: drop what its event refers to
		c.head++
		return
	}
	*e = c.late.pop().e
}

// advance makes the next bucket that holds an entry the current one, once bucket b is empty and the queue is not.
func (c *calendar) advance() {
	if c.in == 0 { // only far entries: jump to the first
		c.b = bucketOf(c.far[0].e.at) - 1
	}
	for {
		c.b++
		for len(c.far) > 0 && bucketOf(c.far[0].e.at) < c.b+ringBuckets { // the ring's horizon moved
			x := c.far.pop()
			c.toRing(bucketOf(x.e.at), x)
		}
		i := c.b % ringBuckets
		if len(c.ring[i]) == 0 {
			continue
		}
		if cap(c.cur) > 0 {
			c.spare = append(c.spare, c.cur[:0])
		}
		c.cur, c.ring[i], c.head = c.ring[i], nil, 0
		c.in -= len(c.cur)
		sortBucket(c.cur)
		return
	}
}

// sortBucket sorts a bucket by (at, seq): by insertion, as a bucket mostly holds a few entries and those queued
// at one time come in order already, and with the library's sort past a few dozen.
func sortBucket(q []entry) {
	if len(q) > 32 {
		slices.SortFunc(q, func(x, y entry) int { return cmp.Or(cmp.Compare(x.e.at, y.e.at), cmp.Compare(x.seq, y.seq)) })
		return
	}
	for i := 1; i < len(q); i++ {
		if !q[i].before(&q[i-1]) {
			continue
		}
		x, j := q[i], i
		for ; j > 0 && x.before(&q[j-1]); j-- {
			q[j] = q[j-1]
		}
		q[j] = x
	}
}

// traceChunk is how many trace bytes the scheduler gathers before it hashes them: SHA-256 of a stream does not
// depend on how the stream is cut, and a few large writes cost less than one small write per event.
const traceChunk = 16 << 10

// scheduler is the virtual clock and the queue of what is due.
type scheduler struct {
	now    time.Duration
	seq    uint64
	queue  calendar
	ran    event     // the event next returned
	trace  hash.Hash // every event run: its time, process and kind, and what the run wrote to it (traceNote)
	buf    []byte    // trace bytes not yet hashed
	events uint64
}

func newScheduler() *scheduler {
	return &scheduler{trace: sha256.New(), buf: make([]byte, 0, traceChunk+256)}
}

// at queues f to run at the virtual time at (now, if at is past) for process node of incarnation inc.
func (s *scheduler) at(at time.Duration, node int, inc uint64, kind string, f func()) {
	s.seq++
	s.queue.push(entry{seq: s.seq, e: event{at: max(at, s.now), node: int32(node), inc: uint32(inc), kind: kind, f: f}})
}

// deliverAt queues the delivery d, as at does a closure.
func (s *scheduler) deliverAt(at time.Duration, node int, inc uint64, kind string, d delivery) {
	s.seq++
	s.queue.push(entry{seq: s.seq, e: event{at: max(at, s.now), node: int32(node), inc: uint32(inc), kind: kind, dl: d}})
}

// next takes the next event and moves the clock to it; nil when nothing is due before end. The event is valid
// until the next call.
func (s *scheduler) next(end time.Duration) *event {
	if x := s.queue.first(); x == nil || x.e.at > end {
		return nil
	}
	s.queue.pop(&s.ran)
	s.now = s.ran.at
	return &s.ran
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
