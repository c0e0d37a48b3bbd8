package simnet

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/posnode/posnode/chain"
	"github.com/posnode/posnode/p2p"
)

// The long-range strategy (PROTOCOL.md §12, issue 21's attack): the byzantine validators hold three quarters of
// the genesis stake and unstake all of it in the real chain's first block they can reach (a client submits the
// unstake transactions they signed to an honest process); from then on their keys hold nothing there. Their own
// processes never meet the honest ones: they run the node's own code from genesis among themselves, on a rebuilt
// history in which they never unstaked, which their three quarters finalize under its own stake tables. Every few
// epochs an honest process restarts without chain.db, as a fresh node would, given the real chain's finalized
// checkpoint as its trusted checkpoint (node.Config.Checkpoint, `posnode run --checkpoint`), and meets the
// byzantine processes first: for witnessAlone its only links are to them, then its links to the honest processes
// come up too. The byzantine processes' anchor answers to it are their own anchors at their own finalized
// checkpoint (a rebuilt state for the checkpoint asked for); their range answers are their node's own.
const (
	// lrByzantineShare is the byzantine validators' share of the genesis stake, in quarters: more than two
	// thirds, so that the rebuilt chain finalizes without the honest validators.
	lrByzantineShare = 3
	// maxWitnesses is how many honest processes a run restarts with a trusted checkpoint.
	maxWitnesses = 2
	// witnessEvery is how many epochs apart two witnesses start, at the least.
	witnessEvery = 3
	// witnessAlone is how many epochs a witness's only links are to the byzantine processes.
	witnessAlone = 2
	// witnessConverge is how many epochs a witness has, after its links to honest processes come up, to follow the
	// real chain past its trusted checkpoint.
	witnessConverge = 4
	// lrLivenessAfter is how many epochs after the unstakes took effect the real chain's finality is held to the
	// liveness bound: before, the honest validators hold a quarter of the stake and cannot finalize.
	lrLivenessAfter = 2
)

// longRange is what the long-range strategy holds and what its invariant remembers.
type longRange struct {
	witnesses int
	next      time.Duration // the earliest time of the next witness
	unstaked  chain.Epoch   // the epoch from which the real chain's stake tables hold no byzantine stake (0: not yet)
	pending   bool          // the answer being made serves the rebuilt chain: its delivery counts (servedRebuilt)
	served    map[[2]int]int
	told      map[int]bool
}

// genesisStake is validator i's genesis stake: stakeOf(i), or, for a byzantine validator of a long-range run, its
// part of lrByzantineShare quarters of the whole.
func (s *Sim) genesisStake(i int) uint64 {
	if !s.cfg.Strategies.has(LongRange) || !s.isByzantine(i) {
		return s.cfg.stakeOf(i)
	}
	var honest uint64
	for j := range s.cfg.Validators {
		if !s.isByzantine(j) {
			honest += s.cfg.stakeOf(j)
		}
	}
	b := uint64(s.cfg.byzantineCount())
	return max(honest*lrByzantineShare/(4-lrByzantineShare)/b+1, 1)
}

// scheduleLongRange starts the strategy: the unstakes at the first half slot.
func (s *Sim) scheduleLongRange() {
	if s.longRange {
		s.sched.at(s.cfg.Slot/2, -1, 0, "unstake-exited", s.unstakeExited)
	}
}

// unstakeExited submits, through the first live honest process, each byzantine key's unstake of all its stake,
// signed with that key, until that process's head state shows no byzantine stake; then notes the epoch from which
// the stake tables hold none (PROTOCOL.md §6: StakeLag epochs after the block's).
func (s *Sim) unstakeExited() {
	var p *process
	for _, q := range s.procs {
		if q.up && !s.isByzantine(q.id) && q.trusted == nil {
			p = q
			break
		}
	}
	if p == nil {
		s.sched.at(s.sched.now+s.cfg.Slot, -1, 0, "unstake-exited", s.unstakeExited)
		return
	}
	st, left := p.node.Chain().HeadState(), 0
	for i := range s.cfg.Validators {
		q := s.procs[i]
		a := st.Account(q.addr)
		if !s.isByzantine(i) || a.Stake == 0 {
			continue
		}
		left++
		tx := chain.NewTx(chain.TxUnstake, q.addr, a.Nonce, chain.Address{}, uint64(a.Stake), s.gen.TxFee)
		tx.Sign(s.gen.Hash(), q.key)
		_, _ = p.node.Submit(context.Background(), tx) // a refused or repeated one is submitted again next slot
	}
	if left == 0 {
		head := p.node.Chain().Head()
		s.adv.more.lr.unstaked = s.gen.EpochOf(head.Slot) + chain.StakeLag
		return
	}
	s.sched.at(s.sched.now+s.cfg.Slot, -1, 0, "unstake-exited", s.unstakeExited)
}

// maybeWitness restarts a random live honest process as a witness, at an epoch check of the fault phase, when the
// real chain has finalized a checkpoint after genesis, at most maxWitnesses times, witnessEvery epochs apart, and
// early enough for the witness to converge before the end.
func (s *Sim) maybeWitness(ref *process) {
	lr := &s.adv.more.lr
	epoch := time.Duration(s.cfg.Epoch) * s.cfg.Slot
	if !s.longRange || s.phase != "faults" || lr.witnesses >= maxWitnesses || s.sched.now < lr.next ||
		s.sched.now+(witnessAlone+witnessConverge+1)*epoch > s.cfg.Duration+s.cfg.Heal {
		return
	}
	_, f := ref.node.Chain().Finality()
	if f.Epoch == 0 {
		return
	}
	var cands []*process
	for _, p := range s.procs {
		if p.up && p != ref && !s.isByzantine(p.id) && p.trusted == nil {
			cands = append(cands, p)
		}
	}
	if len(cands) == 0 {
		return
	}
	p := cands[s.rng.IntN(len(cands))]
	lr.witnesses++
	s.stats.Witnesses++
	lr.next = s.sched.now + witnessEvery*epoch
	s.witness(p, f, s.sched.now+witnessAlone*epoch)
}

// witness restarts p at once without chain.db, with trusted checkpoint c, linked to every byzantine process, and
// alone with them until join.
func (s *Sim) witness(p *process, c chain.Checkpoint, join time.Duration) {
	s.crash(p)
	p.disk.wipe()
	if err := os.Remove(filepath.Join(p.dir, "chain.db")); err != nil && !os.IsNotExist(err) {
		s.fail(fmt.Errorf("remove chain.db of process %d: %w", p.id, err))
		return
	}
	p.trusted, p.joinAt = &c, join
	for i := range s.cfg.Validators {
		if s.isByzantine(i) {
			s.addLink(p.id, i)
		}
	}
	s.sched.at(join, -1, 0, "witness-join", func() {
		for _, j := range s.adj[p.id] {
			s.connect(p.id, j)
		}
	})
	if err := s.start(p); err != nil && !s.restartLater(p, err) {
		s.fail(err)
	}
}

// lrLinked reports whether a long-range run lets messages pass between a and b: the byzantine processes meet
// only each other and the witnesses; a witness meets no honest process before it joins.
func (s *Sim) lrLinked(a, b int) bool {
	ba, bb := s.isByzantine(a), s.isByzantine(b)
	switch {
	case ba && bb:
		return true
	case ba:
		return s.procs[b].trusted != nil
	case bb:
		return s.procs[a].trusted != nil
	}
	return s.procs[a].joinAt <= s.sched.now && s.procs[b].joinAt <= s.sched.now
}

// rebuiltHandler wraps the anchor and range handlers of a byzantine process of a long-range run: an anchor
// request from an honest process is answered with the node's anchor at its own finalized checkpoint, and an
// answer that holds the rebuilt state or a rebuilt block of the asker's trusted checkpoint's epoch or later is
// counted when it is delivered (servedRebuilt).
func (s *Sim) rebuiltHandler(p *process, proto string, h p2p.Handler) p2p.Handler {
	if !s.longRange || !s.isByzantine(p.id) || proto != "anchor" && proto != "blocks" {
		return h
	}
	return func(ctx context.Context, from string, req []byte) ([]byte, error) {
		j, ok := s.byPeer[from]
		if !ok || s.isByzantine(j) || s.procs[j].trusted == nil {
			return h(ctx, from, req)
		}
		c := *s.procs[j].trusted
		if proto == "anchor" {
			req = s.ownAnchorReq(p, req)
		}
		resp, err := h(ctx, from, req)
		if err == nil && s.rebuilt(p, proto, resp, c) {
			s.adv.more.lr.pending = true
		}
		return resp, err
	}
}

// ownAnchorReq is an anchor request for p's own finalized checkpoint's block, for the chunk req asks.
func (s *Sim) ownAnchorReq(p *process, req []byte) []byte {
	_, f := p.node.Chain().Finality()
	if len(req) != 36 || f.Epoch == 0 {
		return req
	}
	out := append(append([]byte(nil), f.Hash[:]...), req[32:]...)
	return out
}

// rebuilt reports whether an answer of p serves the rebuilt chain against checkpoint c: a held anchor, or a range
// with a block of c's epoch or later, from a process whose head's branch does not contain c.
func (s *Sim) rebuilt(p *process, proto string, resp []byte, c chain.Checkpoint) bool {
	t := p.node.Chain()
	if in, _ := t.Contains(t.Head().Hash, c); in {
		return false
	}
	if proto == "anchor" {
		return len(resp) > 1 && resp[0] == 0 // anchorHeld
	}
	for _, enc := range splitBlocks(resp) {
		if b, err := chain.DecodeBlock(enc); err == nil && s.gen.EpochOf(b.Header.Slot) >= c.Epoch {
			return true
		}
	}
	return false
}

// takeServed reports whether the answer just made serves the rebuilt chain, and forgets it.
func (s *Sim) takeServed() bool {
	lr := &s.adv.more.lr
	served := lr.pending
	lr.pending = false
	return served
}

// servedRebuilt counts an answer of byzantine process byz that served the rebuilt chain to witness w.
func (s *Sim) servedRebuilt(w, byz int) {
	lr := &s.adv.more.lr
	if lr.served == nil {
		lr.served = map[[2]int]int{}
	}
	lr.served[[2]int{w, byz}]++
	s.stats.RebuiltServed++
}
