package node

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/posnode/posnode/chain"
	"github.com/posnode/posnode/consensus"
)

// Environment of the child process of TestKilledValidatorNeverSignsTwice.
const (
	crashHomeEnv  = "POSNODE_NODE_CRASH_HOME"  // the validator's home, holding genesis.json
	crashShiftEnv = "POSNODE_NODE_CRASH_SHIFT" // how far back its clock is set, as a Go duration
)

// TestKilledValidatorNeverSignsTwice runs the sole validator of a network as a child process, kills it with
// SIGKILL at random moments while it proposes, and restarts it, each time at random with or without chain.db
// and with its clock at random set back into slots it already signed. Over every run, the blocks it proposed
// (reported by the child as it stores each one, before publishing) and those found in its chain.db after each
// kill never hold two different blocks for one slot.
func TestKilledValidatorNeverSignsTwice(t *testing.T) {
	if testing.Short() {
		t.Skip("restarts a node six times")
	}
	slot := 100 * time.Millisecond
	c := newCluster(t, []uint64{10}, slot, -5*slot)
	home := c.homes[0]
	if err := c.gen.Save(filepath.Join(home, "genesis.json")); err != nil {
		t.Fatal(err)
	}
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 0))
	signed := map[chain.Slot]chain.Hash{}
	self := c.gen.Allocations[0].Address
	var last []ownBlock // the blocks the previous round proposed
	overlaps := 0       // rounds in which the node was ready to propose at or below a slot it had signed
	for round := range 6 {
		dropped := round > 0 && rng.IntN(2) == 0
		if dropped {
			if err := os.Remove(filepath.Join(home, "chain.db")); err != nil {
				t.Fatal(err)
			}
		}
		// Every other round, set the clock back so that the node gets ready (about 3.5 s after it starts)
		// around the first slot it signed in the previous round: it then wins slots it already signed.
		var shift time.Duration
		if round%2 == 1 && len(last) > 0 {
			now := consensus.SlotAt(c.gen.Time, slot, time.Now())
			shift = time.Duration(now+35-last[0].slot) * slot
		}
		r := runCrashNode(t, home, shift, 4+rng.IntN(6), time.Duration(rng.IntN(int(slot))))
		highest := maxSlot(signed)
		stored := ownStoredBlocks(t, home, self)
		for _, b := range append(r.blocks, stored...) {
			if h, ok := signed[b.slot]; ok && h != b.hash {
				t.Fatalf("round %d: two blocks for slot %d: %s and %s", round, b.slot, h.Short(), b.hash.Short())
			}
			signed[b.slot] = b.hash
		}
		if shift > 0 && r.ready <= highest {
			overlaps++
		}
		last = r.blocks
		t.Logf("round %d: chain.db deleted %t, clock back %v, ready at slot %d (highest signed %d): proposed slots %v, %d own blocks stored",
			round, dropped, shift, r.ready, highest, slotsOf(r.blocks), len(stored))
	}
	if overlaps == 0 {
		t.Fatal("in no round was the node ready at a slot it had signed; the test exercises nothing")
	}
}

func maxSlot(m map[chain.Slot]chain.Hash) chain.Slot {
	var hi chain.Slot
	for s := range m {
		hi = max(hi, s)
	}
	return hi
}

func slotsOf(bs []ownBlock) []chain.Slot {
	var out []chain.Slot
	for _, b := range bs {
		out = append(out, b.slot)
	}
	return out
}

type ownBlock struct {
	slot chain.Slot
	hash chain.Hash
}

// crashRun is what the child reported: the slot at which it was first ready to propose, and its proposals.
type crashRun struct {
	ready  chain.Slot
	blocks []ownBlock
}

// runCrashNode starts the child on home with its clock shift back, waits for want proposals and jitter more,
// and kills it.
func runCrashNode(t *testing.T, home string, shift time.Duration, want int, jitter time.Duration) crashRun {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), os.Args[0], "-test.run=^TestCrashNodeChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), crashHomeEnv+"="+home, crashShiftEnv+"="+shift.String())
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(out)
	var r crashRun
	for len(r.blocks) < want {
		if !sc.Scan() {
			err := cmd.Wait()
			t.Fatalf("node ended after %d proposals: %v\n%s", len(r.blocks), err, stderr.Bytes())
		}
		r.read(t, sc.Text())
	}
	time.Sleep(jitter)
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	for sc.Scan() {
		r.read(t, sc.Text())
	}
	cmd.Wait()
	return r
}

// read takes one line of the child's output.
func (r *crashRun) read(t *testing.T, line string) {
	var s uint64
	var h string
	if n, _ := fmt.Sscanf(line, "ready %d", &s); n == 1 {
		r.ready = chain.Slot(s)
		return
	}
	if n, _ := fmt.Sscanf(line, "proposed %d %s", &s, &h); n != 2 {
		return // the test framework's own lines
	}
	hash, err := chain.ParseHash(h)
	if err != nil {
		t.Fatalf("child said %q: %v", line, err)
	}
	r.blocks = append(r.blocks, ownBlock{chain.Slot(s), hash})
}

// ownStoredBlocks returns self's blocks in home's chain.db, if there is one.
func ownStoredBlocks(t *testing.T, home string, self chain.Address) []ownBlock {
	t.Helper()
	path := filepath.Join(home, "chain.db")
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		return nil
	}
	s, err := chain.OpenBolt(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var out []ownBlock
	err = s.ForEach(func(b *chain.Block) error {
		if b.Header.Proposer == self {
			out = append(out, ownBlock{b.Header.Slot, b.Hash()})
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestCrashNodeChild is the validator process of TestKilledValidatorNeverSignsTwice; run directly, it skips. It
// prints "ready <slot>" once it is ready to propose and "proposed <slot> <hash>" for each block it proposes, when
// the block is stored and before it is published, and runs until killed.
func TestCrashNodeChild(t *testing.T) {
	home := os.Getenv(crashHomeEnv)
	if home == "" {
		t.Skip("the validator process of TestKilledValidatorNeverSignsTwice")
	}
	g, err := chain.LoadGenesis(filepath.Join(home, "genesis.json"))
	if err != nil {
		t.Fatal(err)
	}
	shift, err := time.ParseDuration(os.Getenv(crashShiftEnv))
	if err != nil {
		t.Fatal(err)
	}
	n, err := New(Config{Home: home, Genesis: g, Listen: []string{"/ip4/127.0.0.1/tcp/0"},
		Now: func() time.Time { return time.Now().Add(-shift) },
		OnBlock: func(b *chain.Block, local bool) {
			if local {
				os.Stdout.WriteString("proposed " + strconv.FormatUint(uint64(b.Header.Slot), 10) + " " + b.Hash().String() + "\n")
			}
		}})
	if err != nil {
		t.Fatal(err)
	}
	go reportReady(n)
	if err := n.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// reportReady prints the slot at which n is first ready to propose. The process ends by SIGKILL, which also
// ends this goroutine.
func reportReady(n *Node) {
	<-n.Started()
	for {
		if st, err := n.Status(context.Background()); err == nil && readyToPropose(n) {
			os.Stdout.WriteString("ready " + strconv.FormatUint(st.Slot, 10) + "\n")
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
}
