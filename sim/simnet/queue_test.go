package simnet

import (
	"math/rand/v2"
	"testing"
	"time"
	"unsafe"
)

// An event fits one cache line (event's doc says why); a field added to it should be weighed against that.
func TestEventIsOneCacheLine(t *testing.T) {
	if got := unsafe.Sizeof(event{}); got != 64 {
		t.Errorf("got an event of %d bytes, want 64", got)
	}
}

// The scheduler runs events by time, and those of one time in the order they were queued, with reused events.
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
		if i%3 == 0 { // run some as the queue fills, so later events reuse released ones
			e := s.next(time.Hour)
			e.f()
			s.release(e)
		}
	}
	for e := s.next(time.Hour); e != nil; e = s.next(time.Hour) {
		e.f()
		s.release(e)
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
