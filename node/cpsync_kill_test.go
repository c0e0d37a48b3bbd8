package node

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/posnode/posnode/chain"
)

// Environment of the child process of TestKilledDuringCheckpointSyncAndPruning.
const (
	cpkHomeEnv = "POSNODE_CPKILL_HOME"       // its home, holding genesis.json
	cpkPeerEnv = "POSNODE_CPKILL_PEER"       // the multiaddr of the node it bootstraps from
	cpkCkptEnv = "POSNODE_CPKILL_CHECKPOINT" // its trusted checkpoint, EPOCH:HASH
	cpkKillEnv = "POSNODE_CPKILL_AT"         // "<kind> <n> <before|after>": it kills itself at its n-th store write of kind
	cpkLoadEnv = "POSNODE_CPKILL_LOAD"       // "1": its user submits records until it is killed
)

// The kinds of a node's store writes that the child can kill itself at (writeKind).
const (
	writeInstall  = "install"  // the anchor's install: the floor's snapshot with the checkpoint block (§13a)
	writeFinalize = "finalize" // a floor rise: the snapshot, the canonical index and the pruning below the window (§13)
	writeFlush    = "flush"    // accepted blocks (§11)
	writeMeta     = "meta"
)

// cpkRetain is the child's retention window in epochs: each floor rise prunes.
const cpkRetain = 1

// writeKind names a store write for the kill points of the child.
func writeKind(f *chain.Finalization) string {
	if f == nil {
		return writeFlush
	}
	if len(f.Blocks) > 0 {
		return writeInstall
	}
	return writeFinalize
}

// selfKiller is the child's chain store: at the n-th write of one kind it kills its own process with SIGKILL,
// before that write or right after it commits. It prints "wrote <kind>" after each write.
type selfKiller struct {
	chain.Store
	mu     sync.Mutex
	kind   string
	n      int
	after  bool
	counts map[string]int
}

func (s *selfKiller) around(kind string, write func() error) error {
	s.mu.Lock()
	s.counts[kind]++
	hit := kind == s.kind && s.counts[kind] == s.n
	s.mu.Unlock()
	if hit && !s.after {
		killSelf()
	}
	err := write()
	if hit {
		killSelf()
	}
	if err == nil {
		os.Stdout.WriteString("wrote " + kind + "\n")
	}
	return err
}

func killSelf() {
	p, _ := os.FindProcess(os.Getpid())
	p.Kill()
	select {} // SIGKILL ends the process
}

func (s *selfKiller) PutBlock(b *chain.Block) error {
	return s.around(writeFlush, func() error { return s.Store.PutBlock(b) })
}

func (s *selfKiller) PutBlocks(bs []*chain.Block) error {
	return s.around(writeFlush, func() error { return s.Store.PutBlocks(bs) })
}

func (s *selfKiller) PutMeta(key string, val []byte) error {
	return s.around(writeMeta, func() error { return s.Store.PutMeta(key, val) })
}

func (s *selfKiller) Finalize(f *chain.Finalization) error {
	return s.around(writeKind(f), func() error { return s.Store.Finalize(f) })
}

// cpkLife is how one life of the child ends: killed by itself at a store write, or by the test after a while.
type cpkLife struct {
	wipe  bool          // the life starts without chain.db: a checkpoint sync
	at    string        // the child's kill point (cpkKillEnv), or "" for a kill after wait
	wait  time.Duration // with at "", how long after it is up the test kills it
	final bool          // the last life: no load, no kill
}

// drawLife draws round's life: the first starts empty and dies in its checkpoint sync (the anchor's install or
// the first flushes above it); later ones start without chain.db now and then, and die at a floor rise's write, at
// a flush, or at a random instant.
func drawLife(rng *rand.Rand, round int) cpkLife {
	l := cpkLife{wipe: round == 0 || rng.IntN(3) == 0}
	when := []string{"before", "after"}[rng.IntN(2)]
	switch k := rng.IntN(4); {
	case l.wipe && k < 2:
		l.at = fmt.Sprintf("%s 1 %s", writeInstall, when)
	case l.wipe && k == 2:
		l.at = fmt.Sprintf("%s %d %s", writeFlush, 1+rng.IntN(4), when)
	case k < 2:
		l.at = fmt.Sprintf("%s %d %s", writeFinalize, 1+rng.IntN(3), when)
	case k == 2:
		l.at = fmt.Sprintf("%s %d %s", writeFlush, 1+rng.IntN(20), when)
	default:
		l.wait = time.Duration(50+rng.IntN(2500)) * time.Millisecond
	}
	return l
}

// TestKilledDuringCheckpointSyncAndPruning runs a node as a child process that checkpoint-syncs from three
// validators of this process, keeps one epoch of blocks below its floor (so that every floor rise prunes), and
// whose user submits records without pause. Each round, chosen by a seeded PRNG (the seed is logged, so that a
// failure replays), it starts with or without its chain.db and is killed with SIGKILL at a random point: by itself,
// before or right after the anchor's install, a floor rise's write (snapshot and pruning) or a flush, or by the test
// after a random while. After every kill the node opens again (no damaged database); at the end it converges with
// the validators (their finalized checkpoint and head) and every record it acknowledged is on their chain exactly
// once (PROTOCOL.md §11, §13, §13a).
func TestKilledDuringCheckpointSyncAndPruning(t *testing.T) {
	if testing.Short() {
		t.Skip("kills and restarts a node eight times")
	}
	c := newCluster(t, []uint64{10, 10, 10, 0}, 100*time.Millisecond, 0)
	c.start(0)
	c.start(1, 0)
	c.start(2, 0)
	home := c.homes[3]
	if err := c.gen.Save(filepath.Join(home, "genesis.json")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 60*time.Second, "the chain to finalize epoch 3", func() bool {
		f, err := c.nodes[0].Finality(context.Background())
		return err == nil && f.Finalized.Epoch >= 3
	})
	view, err := c.nodes[0].Finality(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d, checkpoint %s", seed, view.Checkpoint)
	rng := rand.New(rand.NewPCG(seed, 0))
	peer := c.nodes[0].Addrs()[0]
	var acked []chain.Hash
	roundOf := map[chain.Hash]int{}
	nonceOf := map[chain.Hash]uint64{}
	for round := range 8 {
		l := drawLife(rng, round)
		r := runCpkLife(t, home, peer, view.Checkpoint, l)
		acked = append(acked, r.acked...)
		for _, id := range r.acked {
			roundOf[id], nonceOf[id] = round, r.nonces[id]
		}
		t.Logf("round %d: wipe %t, kill at %q / after %s: %d records acknowledged, writes %v", round, l.wipe, l.at,
			l.wait, len(r.acked), r.writes)
	}
	r := runCpkLife(t, home, peer, view.Checkpoint, cpkLife{final: true})
	defer r.stop(t)
	for deadline := time.Now().Add(60 * time.Second); !allCommitted(c.nodes[0], acked) && time.Now().Before(deadline); {
		time.Sleep(100 * time.Millisecond) // the count below names what is missing
	}
	checkCpkConverged(t, c, r)
	counts := c.txCounts(0, c.status(0).Height)
	lost, twice := 0, 0
	lostIn := map[int]int{}
	for _, id := range acked {
		switch {
		case counts[id] == 0:
			lost++
			lostIn[roundOf[id]]++
		case counts[id] > 1:
			twice++
		}
	}
	if lost > 0 {
		t.Logf("lost records by round: %v", lostIn)
		logLostNonces(t, c, acked, counts, roundOf, nonceOf)
	}
	t.Logf("%d records acknowledged over 8 kills: %d lost, %d committed twice", len(acked), lost, twice)
	if lost > 0 || twice > 0 {
		t.Fatalf("%d of %d acknowledged records lost, %d committed more than once", lost, len(acked), twice)
	}
}

// logLostNonces names, for each lost record, its nonce and the committed record that took that nonce, if any:
// a lost record whose nonce another acknowledged record took was signed twice over.
func logLostNonces(t *testing.T, c *cluster, acked []chain.Hash, counts map[chain.Hash]int, roundOf map[chain.Hash]int,
	nonceOf map[chain.Hash]uint64) {
	t.Helper()
	byNonce := map[uint64][]chain.Hash{}
	for _, id := range acked {
		if counts[id] > 0 {
			byNonce[nonceOf[id]] = append(byNonce[nonceOf[id]], id)
		}
	}
	for _, id := range acked {
		if counts[id] == 0 {
			t.Logf("lost %s: nonce %d, round %d; committed with that nonce: %v", id.Short(), nonceOf[id], roundOf[id],
				byNonce[nonceOf[id]])
		}
	}
}

// checkCpkConverged waits until the child reports the validators' finalized checkpoint and a head on their chain.
func checkCpkConverged(t *testing.T, c *cluster, r *cpkRun) {
	t.Helper()
	waitFor(t, 60*time.Second, "the restarted node to converge", func() bool {
		h, hash, fin := r.latest()
		f, err := c.nodes[0].Finality(context.Background())
		if h == 0 || err != nil || f.Checkpoint != fin {
			return false
		}
		canon := c.canonical(0, h)
		return uint64(len(canon)) == h && canon[h-1] == hash
	})
}
