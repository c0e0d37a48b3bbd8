package node

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/posnode/posnode/chain"
	"github.com/posnode/posnode/consensus"
)

// TestKilledValidatorNeverSignsTwice runs the sole validator of a network (100 ms slots, epochs of 8 slots, so it
// proposes every slot and votes every epoch) as a child process, kills it with SIGKILL at random moments while it
// proposes and votes, and restarts it, with or without chain.db and, every other round, with its clock set back
// into slots and epochs it already signed. Over every run, what it signed — the blocks and votes it reported
// (before publishing each), those found in its chain.db, and the latest block and vote of its slashing
// protection record after each kill — never holds two different blocks for one slot, two different votes for
// one target epoch, or a vote surrounding another (PROTOCOL.md §8b, §11).
//
// chain.db is kept in the first half of the rounds and deleted at random in the second: a sole validator whose
// chain.db is gone restarts from genesis, whose justified checkpoint is below its vote watermark, so it can never
// vote again (every vote it tries is refused); the first half is where it votes across restarts.
func TestKilledValidatorNeverSignsTwice(t *testing.T) {
	if testing.Short() {
		t.Skip("restarts a node eight times")
	}
	const rounds = 8
	slot := 100 * time.Millisecond
	c := newCluster(t, []uint64{10}, slot, -5*slot)
	home := c.homes[0]
	if err := c.gen.Save(filepath.Join(home, "genesis.json")); err != nil {
		t.Fatal(err)
	}
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 0))
	self, chainID := c.gen.Allocations[0].Address, c.gen.Hash()
	var seen signedByKey
	var last crashRun
	var blockOverlaps, voteOverlaps, skipped, refused, deletions int
	for round := range rounds {
		dropped := round >= rounds/2 && (rng.IntN(2) == 0 || deletions == 0 && round == rounds-1)
		if dropped {
			deletions++
			if err := os.Remove(filepath.Join(home, "chain.db")); err != nil {
				t.Fatal(err)
			}
		}
		// Every other round, set the clock back so that the node gets ready (about 3.5 s after it starts)
		// around the first slot it signed a block or voted in during the previous round.
		var shift time.Duration
		if first, ok := last.firstSigned(c.gen.EpochLength); round%2 == 1 && ok {
			now := consensus.SlotAt(c.gen.Time, slot, time.Now())
			shift = time.Duration(now+35-first) * slot
		}
		highBlock, highVote := seen.highest()
		kill := crashKill{wantBlocks: 4 + rng.IntN(9), wantVotes: 1 + rng.IntN(2), jitter: time.Duration(rng.IntN(int(slot)))}
		r := runCrashNode(t, home, shift, kill)
		blocks, votes := ownStored(t, home, self)
		pb, hasBlock, pv := protectionRecord(t, home, chainID, self)
		if hasBlock {
			blocks = append(blocks, pb)
		}
		for _, b := range append(r.blocks, blocks...) {
			if err := seen.addBlock(b); err != nil {
				t.Fatalf("round %d: %v", round, err)
			}
		}
		for _, v := range append(r.votes, votes...) {
			if err := seen.addVote(protectedSpan{v.Source.Epoch, v.Target.Epoch, v.Root()}); err != nil {
				t.Fatalf("round %d: %v", round, err)
			}
		}
		if pv != nil {
			if err := seen.addVote(*pv); err != nil {
				t.Fatalf("round %d: protection record: %v", round, err)
			}
		}
		if shift > 0 && r.ready <= highBlock {
			blockOverlaps++
		}
		if shift > 0 && c.gen.EpochOf(r.ready) <= highVote {
			voteOverlaps++
		}
		skipped, refused = skipped+r.recordHolds, refused+r.votesRefused
		last = r
		t.Logf("round %d: chain.db deleted %t, clock back %v, ready at slot %d (highest signed slot %d, target epoch %d), "+
			"killed %v after the %s bound (%d blocks / %d votes): proposed slots %v, voted %v; chain.db holds %d own blocks, %d own votes; "+
			"held back by the record %d times, %d votes refused",
			round, dropped, shift, r.ready, highBlock, highVote, kill.jitter, r.killedAfter, len(r.blocks), len(r.votes),
			slotsOf(r.blocks), spansOf(r.votes), len(blocks), len(votes), r.recordHolds, r.votesRefused)
	}
	t.Logf("checked %d blocks (%d slots) and %d votes (%d distinct) over %d rounds; clock set back into signed slots "+
		"in %d rounds and into voted epochs in %d; held back by the record %d times, %d votes refused by it",
		seen.blockChecks, len(seen.blocks), seen.voteChecks, len(seen.votes), rounds, blockOverlaps, voteOverlaps, skipped, refused)
	if blockOverlaps == 0 || voteOverlaps == 0 {
		t.Fatalf("the clock reached signed slots in %d rounds and voted epochs in %d: the test exercises nothing", blockOverlaps, voteOverlaps)
	}
	if len(seen.votes) < 2 {
		t.Fatalf("%d distinct votes seen over all rounds: the test exercises no voting", len(seen.votes))
	}
}

// signedByKey is everything one key was seen to sign, checked as it is added: one block per slot, and no pair of
// votes that is slashable (PROTOCOL.md §8b).
type signedByKey struct {
	blocks                  map[chain.Slot]chain.Hash
	votes                   []protectedSpan // distinct
	blockChecks, voteChecks int
}

func (s *signedByKey) addBlock(b ownBlock) error {
	s.blockChecks++
	if s.blocks == nil {
		s.blocks = map[chain.Slot]chain.Hash{}
	}
	if h, ok := s.blocks[b.slot]; ok && h != b.hash && !h.IsZero() && !b.hash.IsZero() {
		return fmt.Errorf("two blocks for slot %d: %s and %s", b.slot, h.Short(), b.hash.Short())
	}
	if !b.hash.IsZero() || s.blocks[b.slot].IsZero() {
		s.blocks[b.slot] = b.hash
	}
	return nil
}

// addVote checks v against every vote seen. A span without a root (a watermark of the record) is checked for
// surrounds only.
func (s *signedByKey) addVote(v protectedSpan) error {
	s.voteChecks++
	for _, w := range s.votes {
		if w == v {
			return nil
		}
		known := !v.root.IsZero() && !w.root.IsZero()
		if v.target == w.target && known && v.root != w.root {
			return fmt.Errorf("two votes for target epoch %d: %d→%d (root %s) and %d→%d (root %s)",
				v.target, w.source, w.target, w.root.Short(), v.source, v.target, v.root.Short())
		}
		if v.source < w.source && w.target < v.target || w.source < v.source && v.target < w.target {
			return fmt.Errorf("surround votes: %d→%d and %d→%d", w.source, w.target, v.source, v.target)
		}
	}
	s.votes = append(s.votes, v)
	return nil
}

// highest returns the highest slot signed and the highest target epoch voted so far.
func (s *signedByKey) highest() (chain.Slot, chain.Epoch) {
	var hs chain.Slot
	var he chain.Epoch
	for sl := range s.blocks {
		hs = max(hs, sl)
	}
	for _, v := range s.votes {
		he = max(he, v.target)
	}
	return hs, he
}

// firstSigned returns the earliest slot the run signed a block at, or whose epoch it voted for (the epoch's first
// slot); ok is false when it signed nothing.
func (r crashRun) firstSigned(epochLength uint64) (first chain.Slot, ok bool) {
	for _, b := range r.blocks {
		if !ok || b.slot < first {
			first, ok = b.slot, true
		}
	}
	for _, v := range r.votes {
		if s := chain.Slot(uint64(v.Target.Epoch) * epochLength); !ok || s < first {
			first, ok = s, true
		}
	}
	return first, ok
}

func slotsOf(bs []ownBlock) []chain.Slot {
	var out []chain.Slot
	for _, b := range bs {
		out = append(out, b.slot)
	}
	return out
}

func spansOf(vs []chain.Vote) []string {
	var out []string
	for _, v := range vs {
		out = append(out, fmt.Sprintf("%d→%d", v.Source.Epoch, v.Target.Epoch))
	}
	return out
}
