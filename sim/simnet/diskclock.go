package simnet

import (
	"errors"
	"fmt"
	"syscall"
	"time"
)

// Disks that fill up or fail, and clocks that drift and jump (Faults.DiskFullEvery, DiskFailEvery, ClockDriftPPM,
// ClockJumpEvery). A disk episode strikes one random process for 5–30 s: a full disk (ENOSPC) refuses the writes
// of its chain.db (the in-memory store: PutBlocks, PutMeta, Finalize) and of its pending-transaction log's
// appends and rewrites; a failing disk (EIO) refuses those and the log's fsyncs and truncations as well. Reads keep
// working, and what was written before stays. The slashing protection record and the key are not touched, and with
// Config.Bolt chain.db is a real file the faults do not reach. A clock runs off by ClockDriftPPM at most from
// genesis on, and jumps by up to ± ClockJump at a time, adding up; at the heal every clock is set right at once,
// a last jump. The invariants that judge them are the existing ones: records and durability (nothing acknowledged
// is lost), signing and slashing (no block or vote signed twice for one slot or target, whatever the clock says).

// errDisk is the error of a failing disk's write, as the kernel gives it.
var errDisk = map[bool]error{true: syscall.ENOSPC, false: syscall.EIO}

// clockFault is how a process's clock is off beyond its skew.
type clockFault struct {
	ppm  int64         // drift, parts per million of virtual time since genesis
	jump time.Duration // the jumps so far, added up
}

// offset is how far the clock is off at virtual time now.
func (c clockFault) offset(now time.Duration) time.Duration {
	return c.jump + time.Duration(int64(now)/1_000_000*c.ppm)
}

// scheduleDiskClock draws the disk episodes, clock drifts and jumps of the fault phase; none draws from the
// run's random numbers when its fault is off, so runs without them replay as before.
func (s *Sim) scheduleDiskClock() {
	f := s.cfg.Faults
	if f.ClockDriftPPM > 0 {
		for _, p := range s.procs {
			p.clock.ppm = s.rng.Int64N(2*f.ClockDriftPPM+1) - f.ClockDriftPPM
		}
	}
	s.everyExp(f.DiskFullEvery, "disk-full", func() { s.diskEpisode(true) })
	s.everyExp(f.DiskFailEvery, "disk-fail", func() { s.diskEpisode(false) })
	s.everyExp(f.ClockJumpEvery, "clock-jump", s.clockJump)
	if f.ClockDriftPPM > 0 || f.ClockJumpEvery > 0 || f.DiskFullEvery > 0 || f.DiskFailEvery > 0 {
		s.sched.at(s.cfg.Duration, -1, 0, "heal-disk-clock", func() {
			for _, p := range s.procs {
				p.clock, p.disk.until = clockFault{}, 0
			}
		})
	}
}

// everyExp schedules f, traced as kind, at exponential intervals of the given mean during the fault phase.
func (s *Sim) everyExp(mean time.Duration, kind string, f func()) {
	for t := s.expDraw(mean); mean > 0 && t < s.cfg.Duration; t += s.expDraw(mean) {
		s.sched.at(t, -1, 0, kind, f)
	}
}

// diskEpisode makes a random process's disk full (or failing) for 5–30 s.
func (s *Sim) diskEpisode(full bool) {
	p := s.procs[s.rng.IntN(len(s.procs))]
	p.disk.err, p.disk.until = errDisk[full], s.sched.now+5*time.Second+time.Duration(s.rng.Int64N(int64(25*time.Second)))
	p.disk.now = func() time.Duration { return s.sched.now }
	s.stats.DiskFaults++
}

// clockJump moves a random process's clock by up to ± ClockJump.
func (s *Sim) clockJump() {
	most := s.cfg.Faults.ClockJump
	if most <= 0 {
		most = 5 * time.Second
	}
	p := s.procs[s.rng.IntN(len(s.procs))]
	p.clock.jump += time.Duration(s.rng.Int64N(int64(2*most)+1)) - most
	s.stats.ClockJumps++
}

// failing is the error of an operation on the disk now: "write" fails on a full or failing disk, "sync" and
// "truncate" only on a failing one.
func (d *memDisk) failing(op string) error {
	if d.now == nil || d.now() >= d.until {
		return nil
	}
	if d.err == syscall.ENOSPC && op != "write" {
		return nil
	}
	return fmt.Errorf("simulated disk: %s: %w", op, d.err)
}

// fault is node.Config.DiskFault of the process whose disk d is.
func (d *memDisk) fault(s *Sim) func(string) error {
	if s.cfg.Faults.DiskFullEvery <= 0 && s.cfg.Faults.DiskFailEvery <= 0 {
		return nil
	}
	return d.failing
}

// restartLater schedules another restart of p when its start failed with err because its disk is full or failing,
// as a real node does not start then: at the episode's end. It reports whether it did.
func (s *Sim) restartLater(p *process, err error) bool {
	if p.disk.failing("write") == nil || !errors.Is(err, p.disk.err) {
		return false
	}
	s.stats.StartRefused++
	s.sched.at(p.disk.until, -1, 0, "restart", func() { s.restart(p, false) })
	return true
}
