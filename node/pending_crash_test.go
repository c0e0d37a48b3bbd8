package node

import (
	"bufio"
	"context"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/posnode/posnode/chain"
)

// Environment of the child process of TestKilledDuringReorgsLosesNoRecord.
const (
	pendHomeEnv = "POSNODE_PENDING_CRASH_HOME" // the validator's home, holding genesis.json
	pendPeerEnv = "POSNODE_PENDING_CRASH_PEER" // the multiaddr of the node it bootstraps from
	pendLoadEnv = "POSNODE_PENDING_CRASH_LOAD" // "1": its user submits records until it is killed
)

// TestKilledDuringReorgsLosesNoRecord runs validator A (40 % of the stake) as a child process whose user submits
// records without pause, next to validator B (60 %) in this process. In each round B cuts A off for a moment, so
// that each builds its own branch, and lets it back, so that A's branch is abandoned and its records return to the
// mempool; A is killed with SIGKILL at a random point of that, and started again. A last run without a kill and
// without load follows. Every record A acknowledged must end on B's canonical chain exactly once
// (PROTOCOL.md §11).
func TestKilledDuringReorgsLosesNoRecord(t *testing.T) {
	if testing.Short() {
		t.Skip("kills and restarts a node five times")
	}
	c := newCluster(t, []uint64{60, 40}, 200*time.Millisecond, 0)
	home := c.homes[1]
	if err := c.gen.Save(filepath.Join(home, "genesis.json")); err != nil {
		t.Fatal(err)
	}
	b := c.run(0, Config{Home: c.homes[0], Genesis: c.gen, Listen: []string{"/ip4/127.0.0.1/tcp/0"}, Logger: zap.NewNop()})
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 0))
	var acked []chain.Hash
	reorgs, returned := 0, 0
	for round := range 5 {
		child := startPendingChild(t, home, b.Addrs()[0], true)
		cut := time.Duration(300+rng.IntN(1200)) * time.Millisecond
		apart := time.Duration(600+rng.IntN(1000)) * time.Millisecond
		kill := cut + time.Duration(rng.IntN(int(apart/time.Millisecond)+1500))*time.Millisecond
		time.AfterFunc(cut, func() {
			b.host.Block(child.id)
			time.AfterFunc(apart, func() {
				b.host.Unblock(child.id)
				b.Connect(context.Background(), child.addr)
			})
		})
		time.Sleep(kill)
		r := child.kill(t)
		acked = append(acked, r.acked...)
		reorgs, returned = reorgs+r.reorgs, returned+r.returned
		t.Logf("round %d: cut off after %s for %s, killed after %s: %d records acknowledged, %d reorgs, %d transactions returned",
			round, cut, apart, kill, len(r.acked), r.reorgs, r.returned)
		time.Sleep(apart) // the cut is over before the next start
	}
	if reorgs == 0 || returned == 0 {
		t.Fatalf("%d reorgs returned %d transactions on A: the test exercised nothing", reorgs, returned)
	}
	child := startPendingChild(t, home, b.Addrs()[0], false)
	defer child.kill(t)
	deadline := time.Now().Add(40 * time.Second)
	for !allCommitted(b, acked) && time.Now().Before(deadline) {
		time.Sleep(200 * time.Millisecond)
	}
	counts := c.txCounts(0, c.status(0).Height)
	lost, twice := 0, 0
	for _, id := range acked {
		switch {
		case counts[id] == 0:
			lost++
		case counts[id] > 1:
			twice++
		}
	}
	t.Logf("lost %d of %d acknowledged records (%d committed twice) over 5 kills, %d reorgs returning %d transactions",
		lost, len(acked), twice, reorgs, returned)
	if lost > 0 || twice > 0 {
		t.Fatalf("%d of %d acknowledged records lost, %d committed more than once", lost, len(acked), twice)
	}
}

// pendingChild is one life of the child of TestKilledDuringReorgsLosesNoRecord.
type pendingChild struct {
	cmd      *exec.Cmd
	sc       *bufio.Scanner
	stderr   interface{ String() string }
	id, addr string // its peer ID and a multiaddr
	acked    []chain.Hash
}

// pendingRun is what one life of the child showed.
type pendingRun struct {
	acked            []chain.Hash
	reorgs, returned int // reorg log lines, and transactions those reorgs returned to the mempool
}

// startPendingChild starts the child on home, bootstrapped to peer, with or without load, and waits for its
// peer ID and address.
func startPendingChild(t *testing.T, home, peer string, load bool) *pendingChild {
	t.Helper()
	l := "0"
	if load {
		l = "1"
	}
	cmd, sc, stderr := startChild(t, "TestPendingCrashChild", pendHomeEnv+"="+home, pendPeerEnv+"="+peer, pendLoadEnv+"="+l)
	ch := &pendingChild{cmd: cmd, sc: sc, stderr: stderr}
	for ch.addr == "" {
		if !sc.Scan() {
			cmd.Wait()
			t.Fatalf("child ended before it was up:\n%s", stderr.Bytes())
		}
		ch.read(t, sc.Text())
	}
	return ch
}

// read takes one line of the child's output: "up <peer id> <multiaddr>" or "acked <tx id>".
func (ch *pendingChild) read(t *testing.T, line string) {
	f := strings.Fields(line)
	switch {
	case len(f) == 3 && f[0] == "up":
		ch.id, ch.addr = f[1], f[2]
	case len(f) == 2 && f[0] == "acked":
		id, err := chain.ParseHash(f[1])
		if err != nil {
			t.Fatalf("child said %q: %v", line, err)
		}
		ch.acked = append(ch.acked, id)
	}
}

// kill ends the child with SIGKILL and returns what it showed; what it printed before it died counts.
func (ch *pendingChild) kill(t *testing.T) pendingRun {
	t.Helper()
	if ch.cmd.ProcessState == nil {
		ch.cmd.Process.Kill()
		for ch.sc.Scan() {
			ch.read(t, ch.sc.Text())
		}
		ch.cmd.Wait()
	}
	r := pendingRun{acked: ch.acked}
	for line := range strings.Lines(ch.stderr.String()) {
		if strings.Contains(line, `"msg":"reorg"`) {
			r.reorgs++
		}
		if strings.Contains(line, `"msg":"transactions of abandoned blocks returned to the mempool"`) {
			var n int
			if i := strings.Index(line, `"txs":`); i >= 0 {
				for _, c := range line[i+6:] {
					if c < '0' || c > '9' {
						break
					}
					n = 10*n + int(c-'0')
				}
			}
			r.returned += n
		}
	}
	return r
}

// TestPendingCrashChild is the validator process of TestKilledDuringReorgsLosesNoRecord; run directly, it skips.
// It prints "up <peer id> <multiaddr>" once its network is up and, with load, "acked <tx id>" for each record of
// its user that it acknowledged; it logs JSON to stderr, and runs until killed.
func TestPendingCrashChild(t *testing.T) {
	home := os.Getenv(pendHomeEnv)
	if home == "" {
		t.Skip("the validator process of TestKilledDuringReorgsLosesNoRecord")
	}
	g, err := chain.LoadGenesis(filepath.Join(home, "genesis.json"))
	if err != nil {
		t.Fatal(err)
	}
	log, err := zap.NewProduction()
	if err != nil {
		t.Fatal(err)
	}
	n, err := New(Config{Home: home, Genesis: g, Listen: []string{"/ip4/127.0.0.1/tcp/0"}, Logger: log,
		Bootstrap: []string{os.Getenv(pendPeerEnv)}, PendingSlack: 1})
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		<-n.Started()
		os.Stdout.WriteString("up " + n.host.ID() + " " + n.Addrs()[0] + "\n")
		if os.Getenv(pendLoadEnv) != "1" {
			return
		}
		for v := uint64(0); ; v++ {
			id, err := submitOwn(n, chain.TxBPM, chain.Address{}, 60+v%100)
			if err == nil {
				os.Stdout.WriteString("acked " + id.String() + "\n")
			}
			time.Sleep(5 * time.Millisecond)
		}
	}()
	if err := n.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
}
