package httpapi

import (
	"fmt"
	"net/http"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// The API's bound on concurrent requests: a request runs when one of MaxInFlight places is free, waits up to
// QueueWait for one while fewer than MaxQueued wait, and is otherwise answered 503 with Retry-After, so that no
// number of clients can make the node serve more than MaxInFlight answers at once.
const (
	// DefaultMaxInFlight is how many requests are served at once when Config.MaxInFlight is 0.
	DefaultMaxInFlight = 8
	// DefaultMaxQueued is how many requests may wait for a place when Config.MaxQueued is 0.
	DefaultMaxQueued = 64
	// DefaultQueueWait is how long a request waits for a place when Config.QueueWait is 0.
	DefaultQueueWait = 2 * time.Second
	// retryAfter is the Retry-After of a 503 for too many requests, in seconds (RFC 9110 §10.2.3).
	retryAfter = 1
)

// heavyRoutes are the reads whose cost grows with the chain (block ranges, old epochs' slots, an account's
// records, the front page's window): besides a general place, each takes one of MaxHeavy places first. On a
// machine of few cores, more CPU-bound answers at once than cores add no throughput and take the cores from the
// event loop (BENCHMARKS.md §11).
var heavyRoutes = map[string]bool{"/api/blocks": true, "/api/slots": true, "/api/accounts/{addr}/records": true, "/{$}": true}

// DefaultMaxHeavy is how many heavy reads are served at once when Config.MaxHeavy is 0: one fewer than the
// processors Go runs on (GOMAXPROCS), at least one, so that one is left to consensus.
func DefaultMaxHeavy() int { return max(1, runtime.GOMAXPROCS(0)-1) }

// limiter holds the places of requests in flight and counts the requests that wait for one.
type limiter struct {
	places chan struct{}
	queued atomic.Int64
	max    int64
	wait   time.Duration
}

func newLimiter(cfg Config) *limiter {
	inFlight, queued, wait := cfg.MaxInFlight, cfg.MaxQueued, cfg.QueueWait
	if inFlight <= 0 {
		inFlight = DefaultMaxInFlight
	}
	if queued <= 0 {
		queued = DefaultMaxQueued
	}
	if wait <= 0 {
		wait = DefaultQueueWait
	}
	return &limiter{places: make(chan struct{}, inFlight), max: int64(queued), wait: wait}
}

// wrap runs h when a place is free, or answers 503 with Retry-After when none frees in time or too many wait.
func (l *limiter) wrap(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		select {
		case l.places <- struct{}{}:
		default:
			if !l.await(w, r) {
				return
			}
		}
		defer func() { <-l.places }()
		h(w, r)
	}
}

// await waits for a place; false once it has answered (503) or the client left.
func (l *limiter) await(w http.ResponseWriter, r *http.Request) bool {
	if l.queued.Add(1) > l.max {
		l.queued.Add(-1)
		busy(w, r, fmt.Sprintf("more than %d requests wait", l.max))
		return false
	}
	defer l.queued.Add(-1)
	t := time.NewTimer(l.wait)
	defer t.Stop()
	select {
	case l.places <- struct{}{}:
		return true
	case <-t.C:
		busy(w, r, fmt.Sprintf("no answer could start within %s", l.wait))
		return false
	case <-r.Context().Done():
		return false
	}
}

// busy answers 503 with Retry-After: JSON under /api/, text elsewhere.
func busy(w http.ResponseWriter, r *http.Request, why string) {
	w.Header().Set("Retry-After", strconv.Itoa(retryAfter))
	err := fmt.Errorf("too many requests at once (%s); retry in %d s", why, retryAfter)
	if strings.HasPrefix(r.URL.Path, "/api/") {
		fail(w, http.StatusServiceUnavailable, err)
		return
	}
	http.Error(w, err.Error(), http.StatusServiceUnavailable)
}
