package simnet

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/posnode/posnode/chain"
	"github.com/posnode/posnode/p2p"
)

// Strategy is one behaviour of a byzantine validator. A byzantine process runs the node's own code like every
// other; a strategy only intercepts what that node publishes (simTopic.Publish) or signs more with its key. It
// never copies node behaviour.
type Strategy string

// The strategies (PROTOCOL.md §8b, §9).
const (
	// Equivocate: for each block its node proposes, a second block for the same slot and parent (a double
	// proposal), and for each checkpoint vote its node signs, a second vote for the same target epoch with another
	// root (a double vote); both published.
	Equivocate Strategy = "equivocate"
	// Withhold: its node's blocks are held and released late, 1–2 slots after they were made; with Equivocate,
	// the second blocks and votes are held 1–10 epochs, so that they reach the network long after the offence.
	Withhold Strategy = "withhold"
	// SplitVote: its node's checkpoint vote goes to half of its peers and a second vote for the same target epoch
	// to the other half.
	SplitVote Strategy = "splitvote"
	// Grind: at each epoch tail it holds, it stakes the one of grindVersions amounts that wins it the most slots
	// of the epoch whose seed that tail fixes (PROTOCOL.md §6; the lottery model's StakeGrind, sim/stakegrind.go).
	Grind Strategy = "grind"
	// Surround: every other checkpoint vote its node signs goes out with the genesis checkpoint as its source, so
	// that it surrounds the vote it published before (PROTOCOL.md §8b); surround.go.
	Surround Strategy = "surround"
	// Release: its node's blocks are kept off gossip and released together, as a late branch, when another
	// validator's block reaches the private branch's height or an epoch after the first was held; its node's
	// sync answers still serve them. release.go, release_lag.go.
	Release Strategy = "release"
	// SyncLie: its node's sync answers to honest processes are lies: a better head claimed, forged, truncated,
	// misplaced, empty or "pruned" ranges, and stalls; synclie.go.
	SyncLie Strategy = "synclie"
	// LongRange: its key holds three quarters of the genesis stake and unstakes all of it in the real chain's first
	// blocks; its process never meets the honest ones and rebuilds, with the other byzantine processes, a history
	// from genesis in which they never unstaked; honest processes restarted with the real chain's trusted
	// checkpoint meet it first; longrange.go.
	LongRange Strategy = "longrange"
)

// StrategyNames lists every strategy, for the error of an unknown one and the flag's help.
const StrategyNames = "equivocate, withhold, splitvote, grind, surround, release, synclie, longrange"

// ErrStrategy: a strategy name the simulator does not know.
var ErrStrategy = errors.New("unknown byzantine strategy")

// Strategies are the strategies every byzantine validator of a run follows.
type Strategies []Strategy

// ParseStrategies reads a comma-separated list of strategy names ("" is none).
func ParseStrategies(s string) (Strategies, error) {
	var out Strategies
	for _, name := range strings.Split(s, ",") {
		st := Strategy(strings.TrimSpace(name))
		switch st {
		case "":
			continue
		case Equivocate, Withhold, SplitVote, Grind, Surround, Release, SyncLie, LongRange:
			out = append(out, st)
		default:
			return nil, fmt.Errorf("%w: %q (know %s)", ErrStrategy, st, StrategyNames)
		}
	}
	return out, nil
}

func (ss Strategies) has(st Strategy) bool { return slices.Contains(ss, st) }

func (ss Strategies) String() string {
	names := make([]string, len(ss))
	for i, st := range ss {
		names[i] = string(st)
	}
	return strings.Join(names, ",")
}

// equivocation is one offence a byzantine process committed and released: its offender, when the second half
// went out, and what it was.
type equivocation struct {
	proc           int
	made, released time.Duration
	what           string
}

// byzantineIDs returns how many of the validators are byzantine: the last ones, so that process 0 stays honest.
func (c *Config) byzantineCount() int {
	if c.Byzantine <= 0 {
		return 0
	}
	return min(max(int(c.Byzantine*float64(c.Validators)+0.5), 1), c.Validators)
}

// isByzantine reports whether process id follows the run's strategies.
func (s *Sim) isByzantine(id int) bool {
	b := s.cfg.byzantineCount()
	return b > 0 && id < s.cfg.Validators && id >= s.cfg.Validators-b
}

// onOwnBlock runs on process p's loop when its node proposed b, before b is published: an equivocating
// process builds a second block for the slot with the tree and its key, and publishes it (late under Withhold).
func (s *Sim) onOwnBlock(p *process, b *chain.Block) {
	if !s.isByzantine(p.id) || !s.cfg.Strategies.has(Equivocate) {
		return
	}
	twin, _, err := p.node.Chain().ProposeBody(b.Header.Parent, b.Header.Slot, p.key, chain.Body{})
	if err != nil || twin.Hash() == b.Hash() {
		return // an empty block has no twin with another hash
	}
	s.equivocate(p, "blocks", twin.Encode(), fmt.Sprintf("double proposal at slot %d", b.Header.Slot))
}

// onOwnVote runs on process p's loop for each vote its node signs: an equivocating process signs a second vote
// for the same target epoch with another root, and publishes it (late under Withhold).
func (s *Sim) onOwnVote(p *process, v chain.Vote) {
	if !s.isByzantine(p.id) || !s.cfg.Strategies.has(Equivocate) {
		return
	}
	w := s.twinVote(p, v)
	s.equivocate(p, "votes", w.Encode(), fmt.Sprintf("double vote for epoch %d", v.Target.Epoch))
}

// twinVote is v with another target root, signed with p's key: slashable with v (chain.Slashable).
func (s *Sim) twinVote(p *process, v chain.Vote) chain.Vote {
	w := v
	w.Target.Hash = sha256.Sum256(append(v.Target.Hash[:], "twin"...))
	w.Sign(p.node.ChainID(), p.key)
	return w
}

// equivocate publishes the second half of an offence from p, at once or, under Withhold, 1–10 epochs later, and
// remembers it for the accountability invariant. p's own node never hears it back: it would take it for a
// doppelganger's and stop signing, which a process that equivocates on purpose does not.
func (s *Sim) equivocate(p *process, topic string, data []byte, what string) {
	id := msgID(topic, data)
	s.adv.ownTwins[id] = p.id + 1
	made := s.sched.now
	publish := func() {
		if p.up {
			s.adv.equivocations = append(s.adv.equivocations, equivocation{proc: p.id, made: made, released: s.sched.now,
				what: what})
			simTopic{p.net, topic, "gossip:" + topic}.send(data)
		}
	}
	if !s.cfg.Strategies.has(Withhold) {
		publish()
		return
	}
	epoch := time.Duration(s.cfg.Epoch) * s.cfg.Slot
	s.sched.at(s.sched.now+epoch+time.Duration(s.rng.Int64N(int64(9*epoch))), p.id, p.inc, "release-twin", publish)
}

// intercept lets a byzantine process's strategies handle what its node publishes; true when they did (the
// message goes out some other way, or later).
func (s *Sim) intercept(t simTopic, data []byte) bool {
	p := t.pn.p
	if !s.isByzantine(p.id) {
		return false
	}
	switch {
	case t.name == "blocks" && s.cfg.Strategies.has(Release):
		return s.holdPrivate(p, t, data)
	case s.cfg.Strategies.has(Surround) && s.accusesSelf(p, t.name, data):
		return true // its node found its own surround vote against the vote it signed and kept (surround.go)
	case t.name == "blocks" && s.cfg.Strategies.has(Withhold):
		d := s.cfg.Slot/2 + time.Duration(s.rng.Int64N(int64(3*s.cfg.Slot/2)))
		s.sched.at(s.sched.now+d, p.id, p.inc, "release-block", func() { t.send(data) })
		return true
	case t.name == "votes" && s.cfg.Strategies.has(SplitVote):
		return s.splitVote(t, data)
	}
	return false
}

// splitVote sends p's vote to half of its peers and a second vote for the same target to the other half.
func (s *Sim) splitVote(t simTopic, data []byte) bool {
	v, err := chain.DecodeVote(data)
	if err != nil || v.Validator != t.pn.p.addr {
		return false
	}
	p := t.pn.p
	w := s.twinVote(p, v)
	wdata := w.Encode()
	vid, wid := msgID(t.name, data), msgID(t.name, wdata)
	if s.seenBefore(p, vid) {
		return true
	}
	s.seenBefore(p, wid)
	s.adv.ownTwins[wid] = p.id + 1
	s.adv.equivocations = append(s.adv.equivocations, equivocation{proc: p.id, made: s.sched.now, released: s.sched.now,
		what: fmt.Sprintf("split vote for epoch %d", v.Target.Epoch)})
	for i, h := range s.forwardTo(p.id, -1) {
		if i%2 == 0 {
			s.send(p.id, h, t.name, t.kind, vid, data)
		} else {
			s.send(p.id, h, t.name, t.kind, wid, wdata)
		}
	}
	return true
}

// msgID is a gossip message's identity in the simulated network.
func msgID(topic string, data []byte) [32]byte {
	return sha256.Sum256(append([]byte(topic+"\x00"), data...))
}

// adversary is what the byzantine processes and clients of a run hold, and what the invariants remember of them.
type adversary struct {
	ownTwins      map[[32]byte]int // second halves of offences, by message, to their offender's id + 1
	equivocations []equivocation   // offences released, in order
	gapMsgs       map[[32]byte]bool
	gapSent       int                        // gap transactions the clients sent
	gapVerdicts   map[p2p.Verdict]int        // how the first process judged each gap flood message
	forwarded     int                        // gap messages an honest process accepted (forwarded)
	nonces        map[chain.Hash]chain.Nonce // acknowledged records' nonces
	shareSum      float64                    // sum over epoch checks of the byzantine validators' stake share
	shareN        int
	more          moreAdversary // the strategies of surround.go, release.go, and synclie.go
}

func newAdversary() adversary {
	return adversary{ownTwins: map[[32]byte]int{}, gapMsgs: map[[32]byte]bool{}, nonces: map[chain.Hash]chain.Nonce{},
		gapVerdicts: map[p2p.Verdict]int{}}
}

// onBlock runs on p's loop for every block that joins its tree (node.Config.OnBlock).
func (s *Sim) onBlock(p *process, b *chain.Block, local bool) {
	if !local {
		s.maybeRelease(p, b) // release.go
		return
	}
	p.signed = s.sched.now
	s.onOwnBlock(p, b)
}

// onVote runs on p's loop for every vote its node signs (node.Config.OnVote).
func (s *Sim) onVote(p *process, v chain.Vote) {
	p.signed = s.sched.now
	s.noteHonestVote(p, v) // release_lag.go
	s.scheduleSurround(p, v)
	s.onOwnVote(p, v)
}
