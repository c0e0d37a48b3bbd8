package node

import (
	"context"
	"sync"
	"time"
)

// loopRuntime is production's Runtime: closures go through one channel to the event loop goroutine (loop), timers
// are the wall clock's, background work runs on goroutines that Run waits for.
type loopRuntime struct {
	calls   chan func()     // Call's closures, handed over (unbuffered): once taken, the loop runs it
	posts   chan func()     // Post's and After's closures
	stopped <-chan struct{} // closed when the loop has exited
	work    sync.WaitGroup  // background work and pending posts
}

func newLoopRuntime(stopped <-chan struct{}) *loopRuntime {
	return &loopRuntime{calls: make(chan func()), posts: make(chan func(), 256), stopped: stopped}
}

func (r *loopRuntime) Post(f func()) {
	select {
	case r.posts <- f:
		return
	case <-r.stopped:
		return
	default:
	}
	r.work.Go(func() { // the queue is full: wait for room off the caller's goroutine
		select {
		case r.posts <- f:
		case <-r.stopped:
		}
	})
}

func (r *loopRuntime) After(d time.Duration, f func()) *Timer {
	t := &Timer{}
	g := t.Guard(f)
	t.SetCancel(time.AfterFunc(d, func() {
		select {
		case r.posts <- g:
		case <-r.stopped:
		}
	}).Stop)
	return t
}

func (r *loopRuntime) Call(ctx context.Context, f func()) error {
	done := make(chan struct{})
	select {
	case r.calls <- func() { f(); close(done) }:
	case <-ctx.Done():
		return ctx.Err()
	case <-r.stopped:
		return ErrStopped
	}
	<-done
	return nil
}

func (r *loopRuntime) Background(work func()) { r.work.Go(work) }
