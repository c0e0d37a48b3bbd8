package node

import (
	"context"
	"crypto/ed25519"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/posnode/posnode/chain"
)

// queueRuntime is a Runtime like the simulator's: background work runs at once, a post is an event queued at the
// current instant, and a timer waits until the test fires it.
type queueRuntime struct {
	posts  []func()
	timers []func()
}

func (r *queueRuntime) Post(f func()) { r.posts = append(r.posts, f) }

func (r *queueRuntime) After(_ time.Duration, f func()) *Timer {
	t := &Timer{}
	r.timers = append(r.timers, t.Guard(f))
	return t
}

func (r *queueRuntime) Call(_ context.Context, f func()) error { f(); return nil }

func (r *queueRuntime) Background(work func()) { work() }

// drain runs the queued posts, at most limit of them, and reports how many ran.
func (r *queueRuntime) drain(limit int) int {
	ran := 0
	for len(r.posts) > 0 && ran < limit {
		f := r.posts[0]
		r.posts = r.posts[1:]
		f()
		ran++
	}
	return ran
}

// fire runs the timers armed so far, then what they posted.
func (r *queueRuntime) fire() {
	timers := r.timers
	r.timers = nil
	for _, f := range timers {
		f()
	}
	r.drain(100)
}

// TestEvidenceWriteFailureIsNotRetriedAtOnce: a write of the evidence file that fails on a full or failing disk is
// tried again later, not from the event its failure posts: else each failure posts the next attempt, and the loop
// spins on the disk (in the simulator, forever at one instant of virtual time). Once the disk works, the set is
// written.
func TestEvidenceWriteFailureIsNotRetriedAtOnce(t *testing.T) {
	c := newCluster(t, []uint64{10, 20, 30}, time.Second, -time.Hour)
	broken, attempts := true, 0
	n, err := New(Config{Home: c.homes[0], Genesis: c.gen, DiskFault: func(op string) error {
		if !broken {
			return nil
		}
		attempts++
		return syscall.EIO
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer n.closeStores()
	rt, found := admitOnQueue(t, n, c.keys[1])
	if ran := rt.drain(100); len(rt.posts) > 0 || attempts > 2 {
		t.Fatalf("failing disk: %d write attempts in %d events, %d events still queued; want at most 2 and none queued",
			attempts, ran, len(rt.posts))
	}
	broken = false
	rt.fire()
	if got := fileIDs(t, c.homes[0]); !slices.Equal(got, []chain.Hash{found.ID()}) {
		t.Fatalf("once the disk works the file holds %v, want the evidence", got)
	}
}

// TestEvidenceStopRewritesAnUnfinishedWrite: at a clean stop, a write off the loop whose outcome the loop has not
// taken (it failed, and its report waits behind the stop) is not taken as done: the set is written again.
func TestEvidenceStopRewritesAnUnfinishedWrite(t *testing.T) {
	c := newCluster(t, []uint64{10, 20, 30}, time.Second, -time.Hour)
	broken := true
	n, err := New(Config{Home: c.homes[0], Genesis: c.gen, DiskFault: func(string) error {
		if broken {
			return syscall.EIO
		}
		return nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer n.closeStores()
	rt, found := admitOnQueue(t, n, c.keys[1])
	if len(rt.posts) != 1 {
		t.Fatalf("%d posts queued, want the write's report", len(rt.posts))
	}
	broken = false
	n.finishEvidence() // the loop stops: the report is never run
	if got := fileIDs(t, c.homes[0]); !slices.Equal(got, []chain.Hash{found.ID()}) {
		t.Fatalf("after a clean stop the file holds %v, want the evidence", got)
	}
}

// admitOnQueue drives n by a queueRuntime and admits, as one event of its loop, key's double vote: the evidence
// the node then has to write.
func admitOnQueue(t *testing.T, n *Node, key ed25519.PrivateKey) (*queueRuntime, chain.Evidence) {
	t.Helper()
	rt := &queueRuntime{}
	n.rt = rt
	found := signedDoubleVote(n.chainID, key, n.epochNow()-1)
	n.event(func() {
		if err := n.admitEvidence(found); err != nil {
			t.Fatal(err)
		}
	})()
	return rt, found
}
