package simnet

import (
	"testing"
	"time"
)

// TestMsgRegistry: a process sees a message once; another process, a restarted one and, after the seen cache's
// time, every process see it again as new.
func TestMsgRegistry(t *testing.T) {
	r := newMsgRegistry(130)
	a, b := [32]byte{1}, [32]byte{2}
	steps := []struct {
		name string
		at   time.Duration
		id   [32]byte
		proc int
		want bool
	}{
		{"first sight", 0, a, 129, false},
		{"again", time.Second, a, 129, true},
		{"another process", time.Second, a, 0, false},
		{"another message", time.Second, b, 129, false},
		{"within the cache's time", seenTTL + time.Second, a, 0, true},
		{"after the restart of process 0", seenTTL + time.Second, a, 0, false},
		{"after twice the cache's time", 2*seenTTL + 2*time.Second, a, 129, false},
	}
	for _, s := range steps {
		if s.name == "after the restart of process 0" {
			r.forget(0)
		}
		if got := r.get(s.at, s.id).check(s.proc); got != s.want {
			t.Errorf("%s: seen %v, want %v", s.name, got, s.want)
		}
	}
}
