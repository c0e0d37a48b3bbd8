package node

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/posnode/posnode/chain"
)

// Environment of the child process of TestKilledBeforeFlushSyncsBack.
const (
	fwdHomeEnv = "POSNODE_FWD_CRASH_HOME" // the validator's home, holding genesis.json
	fwdPeerEnv = "POSNODE_FWD_CRASH_PEER" // the multiaddr of the node it bootstraps from
)

// TestKilledBeforeFlushSyncsBack runs one of two validators as a child process and kills it with SIGKILL the
// moment it reports that it accepted a peer's block (gossip has it and may forward it; chain.db does not yet),
// then restarts it, several times (PROTOCOL.md §11, "What a crash can lose"). After each kill, the blocks it
// accepted or proposed (a node's own block reaches chain.db with the write-behind too) and lost are counted. In
// the next run the child syncs back every lost block that the other node holds on its canonical chain before it
// is killed again. Over all runs, the blocks the child proposed, those in
// its chain.db and those the other node received from it never hold two different blocks for one slot.
func TestKilledBeforeFlushSyncsBack(t *testing.T) {
	if testing.Short() {
		t.Skip("restarts a node five times")
	}
	c := newCluster(t, []uint64{10, 10}, 200*time.Millisecond, 0)
	home, self := c.homes[1], c.gen.Allocations[1].Address
	if err := c.gen.Save(filepath.Join(home, "genesis.json")); err != nil {
		t.Fatal(err)
	}
	seen := newSignedLog(self)
	c.run(0, Config{Home: c.homes[0], Genesis: c.gen, Listen: []string{"/ip4/127.0.0.1/tcp/0"},
		Logger: zap.NewNop(), OnBlock: seen.onBlock})
	peer := c.nodes[0].Addrs()[0]
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 0))
	var lost []ownBlock // accepted by the child and missing from its chain.db after the last kill
	totalLost := 0
	for round := range 5 {
		need := onCanonical(t, c, lost)
		r := runForwardCrash(t, home, peer, need, 2+rng.IntN(5))
		stored := storedSlots(t, home)
		for _, b := range r.proposed {
			seen.add(t, b)
		}
		for _, b := range ownBlocksStored(t, home, self) {
			seen.add(t, b)
		}
		lost = lost[:0]
		for _, b := range slices.Concat(r.accepted, r.proposed) {
			if stored[b.hash] == 0 {
				lost = append(lost, b)
			}
		}
		totalLost += len(lost)
		t.Logf("round %d: re-accepted %d of the blocks lost before; proposed slots %v; killed after accepting %d blocks; %d accepted or proposed not in chain.db",
			round, len(need), slotsOf(r.proposed), len(r.accepted), len(lost))
	}
	if totalLost == 0 {
		t.Fatal("no kill landed between accepting a block and flushing it; the test exercises nothing")
	}
	seen.check(t)
}

// onCanonical returns the blocks of bs that node 0 of c holds on its canonical chain.
func onCanonical(t *testing.T, c *cluster, bs []ownBlock) []ownBlock {
	t.Helper()
	canon := map[chain.Hash]bool{}
	for _, h := range c.canonical(0, c.status(0).Height) {
		canon[h] = true
	}
	var out []ownBlock
	for _, b := range bs {
		if canon[b.hash] {
			out = append(out, b)
		}
	}
	return out
}

// fwdRun is what the child reported: the blocks it proposed and those it accepted from peers.
type fwdRun struct {
	proposed, accepted []ownBlock
}

// runForwardCrash starts the child on home, bootstrapped to peer, and kills it the moment it reports its k-th
// accepted block after it has accepted every block of need again.
func runForwardCrash(t *testing.T, home, peer string, need []ownBlock, k int) fwdRun {
	t.Helper()
	cmd, sc, stderr := startChild(t, "TestForwardCrashChild", fwdHomeEnv+"="+home, fwdPeerEnv+"="+peer)
	missing := map[chain.Hash]bool{}
	for _, b := range need {
		missing[b.hash] = true
	}
	var r fwdRun
	timeout := time.AfterFunc(60*time.Second, func() { cmd.Process.Kill() })
	defer timeout.Stop()
	for fresh := 0; fresh < k; {
		if !sc.Scan() {
			cmd.Wait()
			t.Fatalf("child ended with %d blocks it should sync back still missing, %d accepted after them:\n%s", len(missing), fresh, stderr.Bytes())
		}
		if b, ok := r.read(t, sc.Text()); ok {
			delete(missing, b.hash)
			if len(missing) == 0 {
				fresh++
			}
		}
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	for sc.Scan() {
		r.read(t, sc.Text())
	}
	cmd.Wait()
	return r
}

// read takes one line of the child's output; it returns the block of an "accepted" line.
func (r *fwdRun) read(t *testing.T, line string) (ownBlock, bool) {
	var kind, h string
	var s uint64
	if n, _ := fmt.Sscanf(line, "%s %d %s", &kind, &s, &h); n != 3 || (kind != "proposed" && kind != "accepted") {
		return ownBlock{}, false // the test framework's own lines
	}
	hash, err := chain.ParseHash(h)
	if err != nil {
		t.Fatalf("child said %q: %v", line, err)
	}
	b := ownBlock{chain.Slot(s), hash}
	if kind == "proposed" {
		r.proposed = append(r.proposed, b)
		return b, false
	}
	r.accepted = append(r.accepted, b)
	return b, true
}

// storedSlots returns the slot of every block in home's chain.db.
func storedSlots(t *testing.T, home string) map[chain.Hash]chain.Slot {
	t.Helper()
	s, err := chain.OpenBolt(filepath.Join(home, "chain.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	out := map[chain.Hash]chain.Slot{}
	if err := s.ForEach(func(b *chain.Block) error { out[b.Hash()] = b.Header.Slot; return nil }); err != nil {
		t.Fatal(err)
	}
	return out
}

// signedLog collects the blocks signed with one key, from any source, and finds two for one slot.
type signedLog struct {
	self     chain.Address
	mu       sync.Mutex
	bySlot   map[chain.Slot]chain.Hash
	conflict string
}

func newSignedLog(self chain.Address) *signedLog {
	return &signedLog{self: self, bySlot: map[chain.Slot]chain.Hash{}}
}

// onBlock is node 0's OnBlock hook: it records the blocks of self that node 0 receives.
func (l *signedLog) onBlock(b *chain.Block, _ bool) {
	if b.Header.Proposer == l.self {
		l.note(ownBlock{b.Header.Slot, b.Hash()})
	}
}

func (l *signedLog) add(t *testing.T, b ownBlock) {
	l.note(b)
	l.check(t)
}

func (l *signedLog) note(b ownBlock) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if h, ok := l.bySlot[b.slot]; ok && h != b.hash && l.conflict == "" {
		l.conflict = fmt.Sprintf("two blocks for slot %d: %s and %s", b.slot, h.Short(), b.hash.Short())
	}
	l.bySlot[b.slot] = b.hash
}

func (l *signedLog) check(t *testing.T) {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.conflict != "" {
		t.Fatal(l.conflict)
	}
}

// TestForwardCrashChild is the validator process of TestKilledBeforeFlushSyncsBack; run directly, it skips. It
// prints "proposed <slot> <hash>" for each block it proposes (durable, not yet published) and "accepted <slot>
// <hash>" for each block of a peer it accepts (validated, not yet flushed), and runs until killed.
func TestForwardCrashChild(t *testing.T) {
	home := os.Getenv(fwdHomeEnv)
	if home == "" {
		t.Skip("the validator process of TestKilledBeforeFlushSyncsBack")
	}
	g, err := chain.LoadGenesis(filepath.Join(home, "genesis.json"))
	if err != nil {
		t.Fatal(err)
	}
	n, err := New(Config{Home: home, Genesis: g, Listen: []string{"/ip4/127.0.0.1/tcp/0"},
		Bootstrap: []string{os.Getenv(fwdPeerEnv)},
		OnBlock: func(b *chain.Block, local bool) {
			kind := "accepted "
			if local {
				kind = "proposed "
			}
			os.Stdout.WriteString(kind + strconv.FormatUint(uint64(b.Header.Slot), 10) + " " + b.Hash().String() + "\n")
		}})
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// ownBlocksStored returns self's blocks in home's chain.db; none when there is no chain.db.
func ownBlocksStored(t *testing.T, home string, self chain.Address) []ownBlock {
	blocks, _ := ownStored(t, home, self)
	return blocks
}
