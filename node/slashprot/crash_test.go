package slashprot

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/posnode/posnode/chain"
)

// crashEnv names the record file that the signer process of TestCrashKeepsEveryAcknowledgedRecord writes.
const crashEnv = "POSNODE_SLASHPROT_CRASH_FILE"

// crashMaxSlots bounds the signer process in case nobody kills it.
const crashMaxSlots = 200_000

// TestCrashKeepsEveryAcknowledgedRecord kills a process that records blocks and votes (and compacts its log
// every few dozen records) with SIGKILL at random moments, and checks after each kill that the file opens,
// that every block and vote the process was told was recorded is refused if asked again with another root,
// and that nothing was recorded that the process did not ask for. The next round continues on the same file.
//
// SIGKILL keeps what reached the kernel, so this tests the atomicity of appends and compactions, not the
// survival of a power cut.
func TestCrashKeepsEveryAcknowledgedRecord(t *testing.T) {
	rounds := 8
	if testing.Short() {
		rounds = 3
	}
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 0))
	path := filepath.Join(t.TempDir(), FileName)
	for round := range rounds {
		acks := 1 + rng.IntN(300)
		jitter := time.Duration(rng.IntN(2000)) * time.Microsecond
		r := runCrashSigner(t, path, acks, jitter, round == 0)
		_, err := os.Stat(path + ".tmp")
		inCompaction := err == nil
		checkAfterCrash(t, path, r)
		t.Logf("round %d: killed %v after %d acks (compaction file left: %t); last acked block %d, vote target %d; last tried block %d",
			round, jitter, acks, inCompaction, r.ackedBlock, r.ackedTarget, r.triedBlock)
	}
}

// crashReport is what the signer process said before it died.
type crashReport struct {
	blocks      []chain.Slot // acknowledged blocks, in order
	targets     []chain.Epoch
	ackedBlock  chain.Slot
	ackedTarget chain.Epoch
	triedBlock  chain.Slot // the highest slot it asked for
	triedTarget chain.Epoch
}

// runCrashSigner starts the signer process on path, waits for acks acknowledgements and jitter more, and kills
// it. With probeLock it also checks that the record cannot be opened while the process holds it.
func runCrashSigner(t *testing.T, path string, acks int, jitter time.Duration, probeLock bool) crashReport {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), os.Args[0], "-test.run=^TestCrashSigner$", "-test.count=1")
	cmd.Env = append(os.Environ(), crashEnv+"="+path)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start signer: %v", err)
	}
	sc := bufio.NewScanner(out)
	var r crashReport
	for n := 0; n < acks; {
		if !sc.Scan() {
			err := cmd.Wait()
			t.Fatalf("signer ended after %d acks: %v\n%s", n, err, stderr.Bytes())
		}
		if r.read(t, sc.Text()) {
			n++
		}
		if probeLock && n == 1 {
			if db, err := Open(path); !errors.Is(err, ErrLocked) {
				if db != nil {
					db.Close()
				}
				t.Fatalf("open while the signer runs: got %v, want ErrLocked", err)
			}
			probeLock = false
		}
	}
	time.Sleep(jitter) // lands the kill at a varying point of a later record; no result depends on it
	if err := cmd.Process.Kill(); err != nil {
		t.Fatalf("kill signer: %v", err)
	}
	for sc.Scan() {
		r.read(t, sc.Text())
	}
	if err := cmd.Wait(); err == nil {
		t.Fatal("signer exited normally before the kill")
	}
	return r
}

// read takes one line of the signer's output; it reports whether it was an acknowledgement.
func (r *crashReport) read(t *testing.T, line string) bool {
	var verb, what string
	var a, b uint64
	if _, err := fmt.Sscan(line, &verb, &what, &a, &b); err != nil {
		t.Fatalf("signer said %q: %v", line, err)
	}
	switch {
	case verb == "try" && what == "block":
		r.triedBlock = chain.Slot(a)
	case verb == "try" && what == "vote":
		r.triedTarget = chain.Epoch(b)
	case verb == "ack" && what == "block":
		r.ackedBlock = chain.Slot(a)
		r.blocks = append(r.blocks, r.ackedBlock)
		return true
	case verb == "ack" && what == "vote":
		r.ackedTarget = chain.Epoch(b)
		r.targets = append(r.targets, r.ackedTarget)
		return true
	}
	return false
}

// checkAfterCrash opens the record after a kill and checks it against what the signer reported.
func checkAfterCrash(t *testing.T, path string, r crashReport) {
	t.Helper()
	db, err := Open(path)
	if err != nil {
		t.Fatalf("open after a kill: %v", err)
	}
	defer db.Close()
	a := key(0)
	latest, _ := db.LatestBlock(a)
	if latest < r.ackedBlock || latest > r.triedBlock {
		t.Fatalf("latest block %d after a kill; acknowledged %d, asked at most %d", latest, r.ackedBlock, r.triedBlock)
	}
	for _, s := range r.blocks {
		if err := db.CheckAndRecordBlock(a, s, root("conflict")); !errors.Is(err, ErrSlashableBlock) {
			t.Fatalf("acknowledged block %d signed again with another root: got %v", s, err)
		}
	}
	s := db.signers[a]
	if s != nil && (s.maxTarget < r.ackedTarget || s.maxTarget > r.triedTarget) {
		t.Fatalf("highest vote target %d after a kill; acknowledged %d, asked at most %d", s.maxTarget, r.ackedTarget, r.triedTarget)
	}
	for _, tg := range r.targets {
		if err := db.CheckAndRecordVote(a, tg-1, tg, root("conflict")); !errors.Is(err, ErrSlashableVote) {
			t.Fatalf("acknowledged vote target %d signed again with another root: got %v", tg, err)
		}
	}
	if err := db.CheckAndRecordBlock(a, latest, crashRoot("block", uint64(latest))); err != nil {
		t.Fatalf("the latest block %d cannot be re-signed after a kill: %v", latest, err)
	}
}

// TestCrashSigner is the signer process of TestCrashKeepsEveryAcknowledgedRecord; run directly, it skips.
func TestCrashSigner(t *testing.T) {
	path := os.Getenv(crashEnv)
	if path == "" {
		t.Skip("the signer process of TestCrashKeepsEveryAcknowledgedRecord")
	}
	if err := crashSigner(path, os.Stdout); err != nil {
		t.Fatal(err)
	}
}

// crashSigner records, for one key, a block per slot and a vote per slot after the latest recorded ones, with
// a small compaction slack, until it is killed. It says "try" before each record and "ack" once it returned.
func crashSigner(path string, out io.Writer) error {
	db, err := Open(path)
	if err != nil {
		return err
	}
	defer db.Close()
	db.slack = 16
	db.compactAt = 2*db.live() + db.slack
	a := key(0)
	slot, _ := db.LatestBlock(a)
	var target chain.Epoch
	if s := db.signers[a]; s != nil {
		target = s.maxTarget
	}
	for range crashMaxSlots {
		slot, target = slot+1, target+1
		fmt.Fprintln(out, "try block", slot, 0)
		if err := db.CheckAndRecordBlock(a, slot, crashRoot("block", uint64(slot))); err != nil {
			return err
		}
		fmt.Fprintln(out, "ack block", slot, 0)
		fmt.Fprintln(out, "try vote", target-1, target)
		if err := db.CheckAndRecordVote(a, target-1, target, crashRoot("vote", uint64(target))); err != nil {
			return err
		}
		fmt.Fprintln(out, "ack vote", target-1, target)
	}
	return nil
}

func crashRoot(kind string, n uint64) chain.Hash { return root(fmt.Sprint(kind, n)) }
