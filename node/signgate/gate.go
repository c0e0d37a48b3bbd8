// Package signgate is the one place every reason a validator will not sign goes through (PROTOCOL.md §10, §11):
// another process with its key, a view of the chain older than the weak-subjectivity period, the slashing protection record, the disk, the clock, the start-up doppelganger
// wait, a sync under way. Whoever detects a reason sets it here and clears it when it ends; the proposer and the
// voter ask Blocks before they sign; /api/status, the prompt, the posnode_signing_blocked metric and the log read
// it. A reason is logged and announced once when it starts and once when it ends, never once per slot. A node
// that is no validator has nothing to sign: its reasons are kept quiet and its status is "not a validator".
//
// A Gate is not safe for concurrent use: the node's event loop owns it (the metric may be read by any goroutine).
package signgate

import (
	"fmt"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// Duty is what a reason keeps the node from signing: blocks, checkpoint votes, or both.
type Duty uint8

const (
	Block Duty = 1 << iota // block proposals (PROTOCOL.md §7)
	Vote                   // checkpoint votes (PROTOCOL.md §8a)
	All   = Block | Vote
)

// String names the duties for logs and status: "blocks", "votes" or "blocks and votes".
func (d Duty) String() string {
	switch d {
	case Block:
		return "blocks"
	case Vote:
		return "votes"
	case All:
		return "blocks and votes"
	}
	return "nothing"
}

// Kind is a reason not to sign. Kinds are listed by precedence: status shows the first one that holds.
type Kind int

const (
	// Doppelganger: another process signs with this node's key; set until the node restarts (doppelganger.go).
	Doppelganger Kind = iota
	// WeakSubjectivity: the node's view of the chain is older than the weak-subjectivity period and it was given
	// no checkpoint recent enough; set from start until a restart with one (PROTOCOL.md §12).
	WeakSubjectivity
	// SlashingProtection: the slashing protection record refuses: it holds a signature ahead of the clock (an
	// imported far-future slot or epoch), refused one this slot or epoch, or cannot be written (PROTOCOL.md §11).
	SlashingProtection
	// Disk: accepted blocks cannot be written to the chain database (PROTOCOL.md §11).
	Disk
	// Clock: the local clock is off from what peers and their blocks say. The clock check sets it with
	// Set(Clock, All, why) while the clock is off and clears it with Clear(Clock) once it is right again.
	Clock
	// DoppelgangerWait: the start-up watch for another process with the key has not ended (PROTOCOL.md §10).
	DoppelgangerWait
	// Syncing: the node is not caught up with its best peer, or a sync is making progress (PROTOCOL.md §10).
	Syncing

	numKinds
)

var kindNames = [numKinds]string{"doppelganger", "weak-subjectivity", "slashing-protection", "disk", "clock", "doppelganger-wait", "syncing"}

// String is the kind's stable name: the metric's reason label and the status's signing_blocked entries.
func (k Kind) String() string {
	if k < 0 || k >= numKinds {
		return fmt.Sprintf("kind(%d)", int(k))
	}
	return kindNames[k]
}

// status words a reason for /api/status's signing field; the prefixes "stopped:" and "paused:" are kept from
// before the gate for those who read them.
func (k Kind) status(detail string) string {
	switch k {
	case Doppelganger:
		return "stopped: " + detail
	case WeakSubjectivity:
		return "stopped: weak subjectivity: " + detail
	case SlashingProtection:
		return "refused by the slashing protection record: " + detail
	case Disk:
		return "paused: " + detail
	case Clock:
		return "paused: clock: " + detail
	case Syncing:
		return "syncing: " + detail
	}
	return detail
}

// hint is what the operator can do about a reason, for the prompt.
func (k Kind) hint() string {
	switch k {
	case Doppelganger:
		return "stop the other process, then restart this one"
	case WeakSubjectivity:
		return "restart with --checkpoint EPOCH:HASH from the checkpoint field of a trusted operator's /api/finality"
	case SlashingProtection:
		return "check the clock and any imported slashing protection record"
	case Disk:
		return "free or fix the disk holding the chain database"
	case Clock:
		return "set the clock right (NTP)"
	}
	return ""
}

// level is how loud a reason's start is: an expected state of a starting node is INFO, the others WARN, another
// process with the key ERROR.
func (k Kind) level() zapcore.Level {
	switch k {
	case Doppelganger, WeakSubjectivity:
		return zapcore.ErrorLevel
	case DoppelgangerWait, Syncing:
		return zapcore.InfoLevel
	}
	return zapcore.WarnLevel
}

type reason struct {
	duties Duty
	detail string
}

// Gate holds the reasons that hold now, and whether the node is a validator at all.
type Gate struct {
	log       *zap.Logger
	blocked   *prometheus.GaugeVec
	validator prometheus.Gauge
	announce  func(string)
	active    [numKinds]*reason
	idle      bool // the node is no validator: it has nothing to sign (SetValidator)
}

// New returns a gate with no reason set, for a validator until SetValidator says otherwise. It registers
// posnode_signing_blocked{reason} (1 while the reason keeps the validator from signing, one series per kind) and
// posnode_validator (1 while the node is a validator) on reg; announce, which may be nil, receives a line for
// the prompt when a reason starts or ends.
func New(log *zap.Logger, reg prometheus.Registerer, announce func(string)) *Gate {
	g := &Gate{log: log, announce: announce, blocked: prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "posnode_signing_blocked",
		Help: "1 while this reason keeps the validator from signing blocks or votes (doppelganger, weak-subjectivity, slashing-protection, disk, clock, doppelganger-wait, syncing); 0 on a node that is no validator.",
	}, []string{"reason"}), validator: prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "posnode_validator",
		Help: "1 while this node's key is in the stake table of the current or the next epoch (it has blocks and votes to sign), else 0.",
	})}
	for k := range numKinds {
		g.blocked.WithLabelValues(k.String()).Set(0)
	}
	g.validator.Set(1)
	reg.MustRegister(g.blocked, g.validator)
	return g
}

// NotValidator is Status on a node that is no validator.
const NotValidator = "not a validator"

// SetValidator says whether the node is a validator: whether its key is in the stake table of the current or the
// next epoch (PROTOCOL.md §6), so that it has blocks or votes to sign. A node that is none has nothing to sign:
// its reasons are still kept (Blocks answers as ever) but are logged at DEBUG only, announced never, counted in
// no posnode_signing_blocked series, and Status is NotValidator and Kinds empty. When it becomes a validator,
// every reason that holds then starts as if set at that moment.
func (g *Gate) SetValidator(on bool) {
	if on != g.idle {
		return
	}
	g.idle = !on
	if on {
		g.validator.Set(1)
		g.log.Info("a validator: in the stake table of this epoch or the next")
		for k, r := range g.active {
			if r != nil {
				g.start(Kind(k), r)
			}
		}
		return
	}
	g.validator.Set(0)
	for k := range numKinds {
		g.blocked.WithLabelValues(k.String()).Set(0)
	}
	g.log.Info("not a validator: not in the stake table of this epoch or the next; nothing to sign")
}

// Set makes reason k hold for duties d, with detail saying why in a phrase ("the record holds a block at slot
// 9000, ahead of the clock"). Its start is logged and announced once; a later Set of the same kind only updates
// what status says.
func (g *Gate) Set(k Kind, d Duty, detail string) {
	if r := g.active[k]; r != nil {
		r.duties, r.detail = d, detail
		return
	}
	r := &reason{d, detail}
	g.active[k] = r
	if g.idle {
		g.log.Debug("not signing, with nothing to sign", zap.String("reason", k.String()), zap.String("why", detail))
		return
	}
	g.start(k, r)
}

// start logs, announces and counts reason k of a validator.
func (g *Gate) start(k Kind, r *reason) {
	g.blocked.WithLabelValues(k.String()).Set(1)
	g.log.Log(k.level(), "not signing", zap.String("reason", k.String()), zap.Stringer("duties", r.duties),
		zap.String("why", r.detail))
	msg := fmt.Sprintf("!!! not signing %s: %s", r.duties, k.status(r.detail))
	if h := k.hint(); h != "" {
		msg += " (" + h + ")"
	}
	g.say(msg)
}

// Clear ends reason k, logging and announcing it if it held.
func (g *Gate) Clear(k Kind) {
	if g.active[k] == nil {
		return
	}
	g.active[k] = nil
	if g.idle {
		g.log.Debug("no longer held back, with nothing to sign", zap.String("reason", k.String()))
		return
	}
	g.blocked.WithLabelValues(k.String()).Set(0)
	g.log.Info("signing no longer held back", zap.String("reason", k.String()))
	g.say(fmt.Sprintf("no longer held back from signing by %s; signing: %s", k, g.Status()))
}

// Update sets reason k for duties d with detail while on holds, and clears it otherwise.
func (g *Gate) Update(k Kind, on bool, d Duty, detail string) {
	if on && d != 0 {
		g.Set(k, d, detail)
	} else {
		g.Clear(k)
	}
}

// Blocks returns the first reason (by precedence) that keeps the node from signing for duty d, and whether one
// does.
func (g *Gate) Blocks(d Duty) (Kind, bool) {
	for k, r := range g.active {
		if r != nil && r.duties&d != 0 {
			return Kind(k), true
		}
	}
	return 0, false
}

// Status is /api/status's signing field: NotValidator on a node that is no validator, "active" when no reason
// holds, else the first reason's words, with the duties when it keeps the node from only some of them.
func (g *Gate) Status() string {
	if g.idle {
		return NotValidator
	}
	for k, r := range g.active {
		if r == nil {
			continue
		}
		s := Kind(k).status(r.detail)
		if r.duties != All {
			s += " (" + r.duties.String() + " only)"
		}
		return s
	}
	return "active"
}

// Kinds returns the names of every reason that holds, by precedence; empty when signing is active or the node
// is no validator.
func (g *Gate) Kinds() []string {
	out := []string{}
	if g.idle {
		return out
	}
	for k, r := range g.active {
		if r != nil {
			out = append(out, Kind(k).String())
		}
	}
	return out
}

func (g *Gate) say(msg string) {
	if g.announce != nil {
		g.announce(strings.TrimSpace(msg))
	}
}
