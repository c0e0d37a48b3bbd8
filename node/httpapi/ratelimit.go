package httpapi

import (
	"errors"
	"fmt"
	"math"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"
	"golang.org/x/time/rate"
)

// Default limits of the routes anyone may call with a signed transaction (POST /api/txs without the token).
const (
	DefaultTxRate     = 10     // transactions per second a client may send, sustained
	DefaultTxBurst    = 50     // transactions a client may send at once
	DefaultMaxClients = 10_000 // clients whose budgets are remembered; the least recently seen is forgotten
)

// ErrRateLimited: a client without the token sent transactions faster than its limit.
var ErrRateLimited = errors.New("too many requests")

// clientLimits gives each client address a token bucket (golang.org/x/time/rate). A client is an IPv4 address or
// an IPv6 /64, the block one host usually holds. At most max clients are remembered: the least recently seen
// is forgotten first, which gives it a full bucket if it returns — a client with more addresses than max could
// send a burst from each, no more than it could with that many addresses anyway.
type clientLimits struct {
	every rate.Limit
	burst int
	seen  *lru.Cache[netip.Prefix, *rate.Limiter] // safe for concurrent use
}

func newClientLimits(perSecond float64, burst, max int) *clientLimits {
	if perSecond <= 0 {
		perSecond = DefaultTxRate
	}
	if burst <= 0 {
		burst = DefaultTxBurst
	}
	if max <= 0 {
		max = DefaultMaxClients
	}
	seen, err := lru.New[netip.Prefix, *rate.Limiter](max)
	if err != nil {
		panic(err) // only for a size below 1, excluded above
	}
	return &clientLimits{every: rate.Limit(perSecond), burst: burst, seen: seen}
}

// clientKey returns the client of a remote address ("ip:port"): the address itself for IPv4, its /64 for IPv6.
func clientKey(remote string) netip.Prefix {
	host, _, err := net.SplitHostPort(remote)
	if err != nil {
		host = remote
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Prefix{} // every unparsable address shares one bucket
	}
	ip = ip.Unmap()
	bits := 32
	if ip.Is6() {
		bits = 64
	}
	p, _ := ip.Prefix(bits)
	return p
}

// allow takes one token from the client's bucket at now, or reports how long until one is there.
func (c *clientLimits) allow(remote string, now time.Time) (time.Duration, bool) {
	key := clientKey(remote)
	lim, ok := c.seen.Get(key)
	if !ok {
		fresh := rate.NewLimiter(c.every, c.burst)
		if prev, found, _ := c.seen.PeekOrAdd(key, fresh); found {
			lim = prev
		} else {
			lim = fresh
		}
	}
	r := lim.ReserveN(now, 1)
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		return d, false
	}
	return 0, true
}

// signed lets anyone submit what a signature authorises (PROTOCOL.md §3: the fee, the sender-exists and nonce
// rules bound the rest). A request with an Authorization header is the operator's and passes guard, unlimited;
// one without is limited per client address, and answered 429 with Retry-After (whole seconds, RFC 9110
// §10.2.3) beyond its limit. Behind a reverse proxy every client shares the proxy's address.
func (s *Server) signed(next http.HandlerFunc) http.HandlerFunc {
	operator := s.guard(next)
	return func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "" {
			operator(w, r)
			return
		}
		if wait, ok := s.limits.allow(r.RemoteAddr, time.Now()); !ok {
			secs := int(math.Ceil(wait.Seconds()))
			w.Header().Set("Retry-After", strconv.Itoa(max(secs, 1)))
			fail(w, http.StatusTooManyRequests, fmt.Errorf("%w: at most %g transactions a second (bursts of %d) "+
				"from one address without the node's token; retry in %d s", ErrRateLimited, float64(s.limits.every),
				s.limits.burst, max(secs, 1)))
			return
		}
		next(w, r)
	}
}
