package anchorsync

import "time"

// Waits when peers hold no anchor at the trusted checkpoint (PROTOCOL.md §13a): a peer that answered "not held" is
// asked again after RetryFirst, doubling up to RetryMax; the warning that no peer holds it comes again after
// WarnFirst, doubling up to WarnMax.
const (
	RetryFirst = 3 * time.Second
	RetryMax   = 5 * time.Minute
	WarnFirst  = time.Minute
	WarnMax    = time.Hour
)

// Absent is what a node seeking the anchor at its trusted checkpoint knows of the peers that hold none. The zero
// value knows nothing.
type Absent struct {
	peers map[string]absentPeer
	round map[string]bool // the peers that answered "not held" since the last warning
	next  time.Time       // no warning before
	wait  time.Duration   // the wait between the last warning and the next
}

type absentPeer struct {
	retry time.Time     // not asked again before
	wait  time.Duration // the last backoff
}

// Waits reports whether peer said "not held" lately and is not to be asked again before its backoff ends at now.
func (a *Absent) Waits(peer string, now time.Time) bool {
	p, ok := a.peers[peer]
	return ok && now.Before(p.retry)
}

// NotHeld records at now that peer holds no anchor, with connected the peers connected now; it reports whether to
// warn the operator: every connected peer has said so since the last warning, and the warning's backoff has
// ended.
func (a *Absent) NotHeld(peer string, now time.Time, connected []string) (warn bool) {
	if a.peers == nil {
		a.peers, a.round = map[string]absentPeer{}, map[string]bool{}
	}
	p := a.peers[peer]
	p.wait = min(max(2*p.wait, RetryFirst), RetryMax)
	p.retry = now.Add(p.wait)
	a.peers[peer], a.round[peer] = p, true
	for _, q := range connected {
		if !a.round[q] {
			return false
		}
	}
	if len(connected) == 0 || now.Before(a.next) {
		return false
	}
	a.round = map[string]bool{}
	a.wait = min(max(2*a.wait, WarnFirst), WarnMax)
	a.next = now.Add(a.wait)
	return true
}
