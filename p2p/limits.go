package p2p

import (
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
	"golang.org/x/time/rate"
)

// Request limits per peer and protocol (PROTOCOL.md §10): a peer over its limit gets an error answer naming
// ErrRateLimited, without the handler running, and rateLimitPoints of penalty.
const (
	// rateLimitPoints is the penalty for one refused request: an honest node stays well inside the limits, so
	// only a peer that keeps hammering reaches BanPoints.
	rateLimitPoints = 2
	// limitersKept is how many peers' limiters a protocol keeps before forgetting the idle ones.
	limitersKept = 1024
	// limiterIdle is how long a peer must have been idle for its limiter to be forgotten.
	limiterIdle = time.Minute
)

// HandlerOption configures a protocol served with Handle.
type HandlerOption func(*limits)

// RateLimit lets each peer make perSecond requests a second on the protocol, in bursts of up to burst.
func RateLimit(perSecond float64, burst int) HandlerOption {
	return func(l *limits) { l.reqRate, l.reqBurst = rate.Limit(perSecond), max(burst, 1) }
}

// ByteRate lets each peer draw bytesPerSecond bytes of responses a second on the protocol, in bursts of up to
// burst bytes (at least MaxResponseSize). A response is charged after it is made, so a peer in debt is refused
// until it has paid it back.
func ByteRate(bytesPerSecond, burst int) HandlerOption {
	return func(l *limits) { l.byteRate, l.byteBurst = rate.Limit(bytesPerSecond), max(burst, MaxResponseSize) }
}

// limits holds one protocol's limits and each peer's limiters; safe for concurrent use by stream handlers.
type limits struct {
	reqRate   rate.Limit // 0: unlimited
	reqBurst  int
	byteRate  rate.Limit // 0: unlimited
	byteBurst int

	mu    sync.Mutex
	peers map[peer.ID]*peerLimits
}

type peerLimits struct {
	reqs, bytes *rate.Limiter // nil when unlimited
	last        time.Time
}

func newLimits(opts []HandlerOption) *limits {
	l := &limits{peers: make(map[peer.ID]*peerLimits)}
	for _, o := range opts {
		o(l)
	}
	return l
}

// admit reports whether p may make a request now, and if so takes one request from its allowance.
func (l *limits) admit(p peer.ID, now time.Time) bool {
	if l.reqRate == 0 && l.byteRate == 0 {
		return true
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	pl := l.of(p, now)
	if pl.bytes != nil && pl.bytes.TokensAt(now) < 0 {
		return false
	}
	return pl.reqs == nil || pl.reqs.AllowN(now, 1)
}

// charge takes n response bytes from p's allowance, into debt if need be.
func (l *limits) charge(p peer.ID, n int, now time.Time) {
	if l.byteRate == 0 {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.of(p, now).bytes.ReserveN(now, min(n, l.byteBurst))
}

// of returns p's limiters, creating them; called with mu held.
func (l *limits) of(p peer.ID, now time.Time) *peerLimits {
	pl, ok := l.peers[p]
	if !ok {
		if len(l.peers) >= limitersKept {
			l.forgetIdle(now)
		}
		pl = &peerLimits{}
		if l.reqRate != 0 {
			pl.reqs = rate.NewLimiter(l.reqRate, l.reqBurst)
		}
		if l.byteRate != 0 {
			pl.bytes = rate.NewLimiter(l.byteRate, l.byteBurst)
		}
		l.peers[p] = pl
	}
	pl.last = now
	return pl
}

// forgetIdle drops the limiters of peers idle for limiterIdle; called with mu held.
func (l *limits) forgetIdle(now time.Time) {
	for p, pl := range l.peers {
		if now.Sub(pl.last) > limiterIdle {
			delete(l.peers, p)
		}
	}
}
