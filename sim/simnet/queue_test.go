package simnet

import (
	"math/rand/v2"
	"testing"
	"time"
)

// The scheduler runs events by time, and those of one time in the order they were queued.
func TestSchedulerOrder(t *testing.T) {
	s := newScheduler()
	rng := rand.New(rand.NewPCG(7, 7))
	type queued struct {
		at  time.Duration
		seq int
	}
	var ran []queued
	for i := range 2000 {
		at := time.Duration(rng.IntN(50)) * time.Millisecond
		s.at(at, i%5, uint64(i), "t", func() { ran = append(ran, queued{s.now, i}) })
		if i%3 == 0 { // run some as the queue fills
			s.next(time.Hour).f()
		}
	}
	for e := s.next(time.Hour); e != nil; e = s.next(time.Hour) {
		e.f()
	}
	if len(ran) != 2000 {
		t.Fatalf("ran %d events, want 2000", len(ran))
	}
	for i := 1; i < len(ran); i++ {
		a, b := ran[i-1], ran[i]
		if b.at < a.at || b.at == a.at && b.seq < a.seq {
			t.Fatalf("event %d at %s ran after event %d at %s", b.seq, b.at, a.seq, a.at)
		}
	}
}

// The calendar pops exactly what a heap of the same entries pops, whatever the spread of their times: events of
// the current bucket queued while it drains, gossip hops a few buckets ahead, timers past the ring's horizon,
// and a queue that empties and refills.
func TestCalendarPopsInHeapOrder(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 11))
	var c calendar
	var h eventHeap
	var now time.Duration
	var seq uint64
	push := func(at time.Duration) {
		seq++
		x := entry{seq: seq, e: event{at: max(at, now), node: int32(seq)}}
		c.push(x)
		h.push(x)
	}
	pop := func(round int) bool {
		x := c.first()
		if x == nil {
			if len(h) != 0 {
				t.Fatalf("round %d: the calendar is empty, the heap holds %d", round, len(h))
			}
			return false
		}
		want := h.pop()
		if x.seq != want.seq || x.e.at != want.e.at {
			t.Fatalf("round %d: first is seq %d at %s, the heap's %d at %s", round, x.seq, x.e.at, want.seq, want.e.at)
		}
		var e event
		c.pop(&e)
		if e.node != want.e.node || e.at != want.e.at {
			t.Fatalf("round %d: popped event %d at %s, the heap %d at %s", round, e.node, e.at, want.e.node, want.e.at)
		}
		now = e.at
		return true
	}
	pops := 0
	for round := range 200_000 {
		switch r := rng.IntN(10); {
		case r < 3:
			push(now) // at once
		case r < 5:
			push(now + time.Duration(rng.Int64N(int64(2*bucketWidth)))) // in the current bucket or the next
		case r < 8:
			push(now + 30*time.Millisecond + time.Duration(rng.Int64N(int64(40*time.Millisecond)))) // a hop
		case r < 9:
			push(now + time.Duration(rng.Int64N(int64(10*time.Second)))) // a timer, often past the ring
		default:
			for range rng.IntN(8) {
				if !pop(round) {
					break
				}
				pops++
			}
		}
	}
	for pop(-1) {
		pops++
	}
	if c.n != 0 || pops != int(seq) {
		t.Fatalf("popped %d of %d; the calendar still holds %d", pops, seq, c.n)
	}
}
