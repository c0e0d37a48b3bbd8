package simnet

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/posnode/posnode/chain"
)

// Run plays the whole run: every process starts at genesis; during Duration the faults and the clients act; then
// every fault heals, the clients stop, and the network runs Heal more. The invariants are checked at every epoch's
// end and at the end of the run (invariants.go).
func (s *Sim) Run() (Result, error) {
	defer chain.ShareVerification()() // a check's outcome depends only on its bytes (doc.go)
	if !s.cfg.Unshared {
		defer chain.ShareStates()() // so do a table's index, the genesis state, a leader, a rise, a post-state (doc.go)
	}
	for _, p := range s.procs {
		if err := s.start(p); err != nil {
			return Result{}, err
		}
	}
	s.phase = "faults"
	s.scheduleFaults()
	s.scheduleDiskClock()
	s.scheduleClients()
	s.scheduleGapFlood()
	s.scheduleGrind()
	s.scheduleLongRange()
	s.everyInFaults(s.cfg.StakeEvery, "stake", s.restake)
	epoch := time.Duration(s.cfg.Epoch) * s.cfg.Slot
	for t := epoch; t <= s.cfg.Duration+s.cfg.Heal; t += epoch {
		s.sched.at(t+s.cfg.Slot/4, -1, 0, "epoch-check", s.checkEpoch)
	}
	s.sched.at(s.cfg.Duration, -1, 0, "heal", s.healAll)
	end := s.cfg.Duration + s.cfg.Heal
	var err error
	for e := s.sched.next(end); e != nil && err == nil; e = s.sched.next(end) {
		if e.node >= 0 {
			if p := s.procs[e.node]; !p.up || p.inc != uint64(e.inc) {
				continue
			}
		}
		s.sched.note(e)
		if e.f != nil {
			e.f()
		} else {
			s.deliver(e.kind, e.dl)
		}
		err = s.fault
	}
	if err != nil {
		return Result{}, err
	}
	s.sched.now = end
	s.checkEnd()
	if s.endHook != nil {
		s.endHook()
	}
	if s.cfg.AtEnd != nil {
		s.cfg.AtEnd()
	}
	for _, p := range s.procs {
		if p.up {
			p.node.Stop(true)
			p.up = false
		}
	}
	s.stats.Slots = uint64(end / s.cfg.Slot)
	s.summarize()
	var r Result
	r.Seed, r.Events, r.Violations, r.Stats = s.cfg.Seed, s.sched.events, s.viol, s.stats
	copy(r.Trace[:], s.sched.traceSum())
	return r, nil
}

// scheduleFaults draws the crashes, partitions and clock skews of the fault phase.
func (s *Sim) scheduleFaults() {
	f := s.cfg.Faults
	if f.ClockSkew > 0 {
		for _, p := range s.procs {
			p.skew = time.Duration(s.rng.Int64N(int64(2*f.ClockSkew)+1)) - f.ClockSkew
		}
	}
	for t := s.expDraw(f.CrashEvery); f.CrashEvery > 0 && t < s.cfg.Duration; t += s.expDraw(f.CrashEvery) {
		s.sched.at(t, -1, 0, "crash", s.crashOne)
	}
	for t := s.expDraw(f.PartitionEvery); f.PartitionEvery > 0 && t < s.cfg.Duration; t += s.expDraw(f.PartitionEvery) {
		s.sched.at(t, -1, 0, "partition", s.partition)
	}
}

// expDraw draws an exponential time of the given mean, at least a millisecond.
func (s *Sim) expDraw(mean time.Duration) time.Duration {
	return max(time.Duration(s.rng.ExpFloat64()*float64(mean)), time.Millisecond)
}

// crashOne crashes a random live process and schedules its restart 5–30 s later.
func (s *Sim) crashOne() {
	if s.phase != "faults" {
		return
	}
	p := s.procs[s.rng.IntN(len(s.procs))]
	if !p.up {
		return
	}
	s.stats.Crashes++
	s.crash(p)
	lose := s.cfg.Faults.LoseChainDB && s.rng.IntN(4) == 0
	back := s.sched.now + 5*time.Second + time.Duration(s.rng.Int64N(int64(25*time.Second)))
	s.sched.at(back, -1, 0, "restart", func() { s.restart(p, lose) })
}

// restart starts a crashed process again; with lose, without its chain.db.
func (s *Sim) restart(p *process, lose bool) {
	if p.up {
		return
	}
	if lose && s.cfg.CheckpointSync {
		if ref := s.reference(); ref != nil {
			if _, f := ref.node.Chain().Finality(); f.Epoch > 0 {
				p.trusted = &f
			}
		}
	}
	if lose {
		p.disk.wipe()
		if err := os.Remove(filepath.Join(p.dir, "chain.db")); err != nil && !os.IsNotExist(err) {
			s.fail(fmt.Errorf("remove chain.db of process %d: %w", p.id, err))
			return
		}
	}
	if err := s.start(p); err != nil && !s.restartLater(p, err) {
		s.fail(err)
	}
}

// partition splits the processes into two random sides for 5–40 s.
func (s *Sim) partition() {
	if s.phase != "faults" {
		return
	}
	s.stats.Partitions++
	cut := 1 + s.rng.IntN(len(s.procs)-1)
	order := s.rng.Perm(len(s.procs))
	for i, id := range order {
		s.side[id] = 0
		if i < cut {
			s.side[id] = 1
		}
	}
	d := 5*time.Second + time.Duration(s.rng.Int64N(int64(35*time.Second)))
	s.sched.at(s.sched.now+d, -1, 0, "heal-partition", s.healPartition)
}

// healPartition joins the sides again: the links that come back up connect.
func (s *Sim) healPartition() {
	split := map[[2]int]bool{}
	for k := range s.links {
		if s.side[k[0]] != s.side[k[1]] {
			split[k] = true
		}
	}
	clear(s.side)
	for k := range s.adjPairs() {
		if split[k] {
			s.connect(k[0], k[1])
		}
	}
}

// adjPairs lists the links in a fixed order.
func (s *Sim) adjPairs() func(func([2]int) bool) {
	return func(yield func([2]int) bool) {
		for a, bs := range s.adj {
			for _, b := range bs {
				if a < b && !yield([2]int{a, b}) {
					return
				}
			}
		}
	}
}

// healAll ends the fault phase: partitions heal, crashed processes restart, clocks are set right, clients stop.
func (s *Sim) healAll() {
	s.phase = "heal"
	s.healPartition()
	for _, p := range s.procs {
		p.skew = 0
		if !p.up {
			s.restart(p, false)
		}
	}
}

// scheduleClients submits a record every RecordEvery during the fault phase, to a random live process.
func (s *Sim) scheduleClients() { s.everyInFaults(s.cfg.RecordEvery, "record", s.record) }

// everyInFaults schedules f, traced as kind, every period (0: never) during the fault phase.
func (s *Sim) everyInFaults(period time.Duration, kind string, f func()) {
	if period <= 0 {
		return
	}
	for t := period; t < s.cfg.Duration; t += period {
		s.sched.at(t, -1, 0, kind, f)
	}
}

// record has a client submit one BPM record through a random live process, and remembers it when acknowledged.
func (s *Sim) record() {
	p := s.procs[s.rng.IntN(len(s.procs))]
	if !p.up {
		return
	}
	s.stats.Records++
	id, err := p.node.SubmitOwn(context.Background(), chain.TxBPM, chain.Address{}, uint64(50+s.rng.IntN(100)))
	if err != nil {
		s.stats.Refused++
		return
	}
	s.stats.Acked++
	s.acked[id] = p.id
	s.rememberNonce(p, id)
}

// fault is the first error of the simulator itself (not of the network it runs), which ends the run.
func (s *Sim) fail(err error) {
	if s.fault == nil {
		s.fault = err
	}
}
