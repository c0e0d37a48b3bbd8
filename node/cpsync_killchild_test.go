package node

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/posnode/posnode/chain"
)

// cpkRun is one life of the child of TestKilledDuringCheckpointSyncAndPruning, as its standard output shows it.
type cpkRun struct {
	cmd    *exec.Cmd
	stderr fmt.Stringer
	done   chan struct{} // closed when its output ends
	mu     sync.Mutex
	up     bool
	acked  []chain.Hash
	nonces map[chain.Hash]uint64 // the nonce of each acknowledged record
	writes map[string]int        // its store writes that committed, by kind
	head   struct {
		height uint64
		hash   chain.Hash
		fin    string
	}
}

// runCpkLife starts the child on home for life l and, unless l is final, waits for its end: it kills itself at
// its kill point, or the test kills it l.wait after it is up. A final life is returned running.
func runCpkLife(t *testing.T, home, peer, ckpt string, l cpkLife) *cpkRun {
	t.Helper()
	if l.wipe {
		for _, f := range []string{"chain.db", "chain.db.txindex"} {
			if err := os.Remove(filepath.Join(home, f)); err != nil && !errors.Is(err, os.ErrNotExist) {
				t.Fatal(err)
			}
		}
	}
	load := "1"
	if l.final {
		load = "0"
	}
	cmd, sc, stderr := startChild(t, "TestCpkChild", cpkHomeEnv+"="+home, cpkPeerEnv+"="+peer, cpkCkptEnv+"="+ckpt,
		cpkKillEnv+"="+l.at, cpkLoadEnv+"="+load)
	r := &cpkRun{cmd: cmd, stderr: stderr, done: make(chan struct{}), nonces: map[chain.Hash]uint64{},
		writes: map[string]int{}}
	go func() {
		defer close(r.done)
		for sc.Scan() {
			r.read(sc.Text())
		}
	}()
	if !r.waitUp(30 * time.Second) {
		r.stop(t)
		t.Fatalf("life %+v: the node did not come up (a damaged database?):\n%s", l, stderr)
	}
	switch {
	case l.final:
		return r
	case l.at != "":
		select {
		case <-r.done:
		case <-time.After(30 * time.Second): // a kill point it did not reach: the flushes it counts kept coming
			t.Logf("life %+v: the kill point was not reached in 30 s", l)
		}
	default:
		time.Sleep(l.wait)
	}
	r.stop(t)
	return r
}

// waitUp waits until the child said it is up, or its output ended, or timeout.
func (r *cpkRun) waitUp(timeout time.Duration) bool {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		r.mu.Lock()
		up := r.up
		r.mu.Unlock()
		if up {
			return true
		}
		select {
		case <-r.done:
			return false
		case <-time.After(10 * time.Millisecond):
		}
	}
	return false
}

// stop kills the child, if it still runs, and waits for the end of its output.
func (r *cpkRun) stop(t *testing.T) {
	t.Helper()
	if r.cmd.ProcessState == nil {
		r.cmd.Process.Kill()
		<-r.done
		r.cmd.Wait()
	}
}

// read takes one line of the child's output: "up", "acked <tx id> <nonce>", "wrote <kind>" or "head <height> <hash>
// <finalized checkpoint>".
func (r *cpkRun) read(line string) {
	f := strings.Fields(line)
	r.mu.Lock()
	defer r.mu.Unlock()
	switch {
	case len(f) == 1 && f[0] == "up":
		r.up = true
	case len(f) == 3 && f[0] == "acked":
		id, err := chain.ParseHash(f[1])
		var nonce uint64
		if _, serr := fmt.Sscan(f[2], &nonce); err == nil && serr == nil {
			r.acked = append(r.acked, id)
			r.nonces[id] = nonce
		}
	case len(f) == 2 && f[0] == "wrote":
		r.writes[f[1]]++
	case len(f) == 4 && f[0] == "head":
		h, err := chain.ParseHash(f[2])
		var height uint64
		if _, serr := fmt.Sscan(f[1], &height); err == nil && serr == nil {
			r.head.height, r.head.hash, r.head.fin = height, h, f[3]
		}
	}
}

// latest returns the child's last reported head and finalized checkpoint.
func (r *cpkRun) latest() (uint64, chain.Hash, string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.head.height, r.head.hash, r.head.fin
}

// TestCpkChild is the node process of TestKilledDuringCheckpointSyncAndPruning; run directly, it skips. It prints
// "up" once it runs, "acked <tx id> <nonce>" for each record of its user it acknowledged (with load), "wrote <kind>" after
// each store write, and "head <height> <hash> <finalized checkpoint>" every 100 ms; it logs JSON to stderr, and runs
// until killed, by the test or by itself at its kill point.
func TestCpkChild(t *testing.T) {
	home := os.Getenv(cpkHomeEnv)
	if home == "" {
		t.Skip("the node process of TestKilledDuringCheckpointSyncAndPruning")
	}
	g, err := chain.LoadGenesis(filepath.Join(home, "genesis.json"))
	if err != nil {
		t.Fatal(err)
	}
	cp, err := chain.ParseCheckpoint(os.Getenv(cpkCkptEnv))
	if err != nil {
		t.Fatal(err)
	}
	killer := &selfKiller{counts: map[string]int{}}
	if at := os.Getenv(cpkKillEnv); at != "" {
		var when string
		if _, err := fmt.Sscan(at, &killer.kind, &killer.n, &when); err != nil {
			t.Fatalf("%s=%q: %v", cpkKillEnv, at, err)
		}
		killer.after = when == "after"
	}
	log, err := zap.NewProduction()
	if err != nil {
		t.Fatal(err)
	}
	n, err := New(Config{Home: home, Genesis: g, Listen: []string{"/ip4/127.0.0.1/tcp/0"}, Logger: log,
		Bootstrap: []string{os.Getenv(cpkPeerEnv)}, Checkpoint: &cp, RetainEpochs: cpkRetain, PendingSlack: 1,
		wsEpochs: clusterWSEpochs, storeWrap: func(s chain.Store) chain.Store { killer.Store = s; return killer }})
	if err != nil {
		t.Fatal(err)
	}
	go cpkReport(n, os.Getenv(cpkLoadEnv) == "1")
	if err := n.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// cpkReport prints "up", the node's head every 100 ms and, with load, submits its user's records.
func cpkReport(n *Node, load bool) {
	<-n.Started()
	os.Stdout.WriteString("up\n")
	go func() {
		for {
			st, err1 := n.Status(context.Background())
			f, err2 := n.Finality(context.Background())
			if err1 == nil && err2 == nil {
				fmt.Fprintf(os.Stdout, "head %d %s %s\n", st.Height, st.Head, f.Checkpoint)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}()
	for v := uint64(0); load; v++ {
		if id, err := n.SubmitOwn(context.Background(), chain.TxBPM, chain.Address{}, 60+v%100); err == nil {
			nonce := uint64(1<<64 - 1) // unknown: the lookup lost a race with a reorg
			if st, err := n.Tx(context.Background(), id); err == nil && st.Tx != nil {
				nonce = st.Tx.Nonce
			}
			fmt.Fprintf(os.Stdout, "acked %s %d\n", id, nonce)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
