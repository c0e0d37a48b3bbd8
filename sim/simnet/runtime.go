package simnet

import (
	"context"
	"time"

	"github.com/posnode/posnode/node"
)

// procRuntime is the node.Runtime of one simulated process: its closures are events of the simulation, due at
// virtual times; Call and Background run at once, since whoever calls them already runs on the simulation's one
// thread.
type procRuntime struct {
	sim *Sim
	p   *process
	inc uint64
}

func (r procRuntime) Post(f func()) { r.sim.sched.at(r.sim.sched.now, r.p.id, r.inc, "post", f) }

func (r procRuntime) After(d time.Duration, f func()) *node.Timer {
	t := &node.Timer{}
	r.sim.sched.at(r.sim.sched.now+d, r.p.id, r.inc, "timer", t.Guard(f))
	return t
}

func (r procRuntime) Call(_ context.Context, f func()) error {
	if !r.p.up || r.p.inc != r.inc {
		return node.ErrStopped
	}
	f()
	return nil
}

func (r procRuntime) Background(work func()) { work() }
