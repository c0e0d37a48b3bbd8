package main

import (
	"bufio"
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// buildBinary compiles posnode into a temporary directory.
func buildBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "posnode")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	return bin
}

// transcript collects a process's output and lets a test wait for a line.
type transcript struct {
	mu    sync.Mutex
	text  strings.Builder
	grown chan struct{}
}

func readInto(r io.Reader, tr *transcript) {
	sc := bufio.NewScanner(r)
	sc.Split(bufio.ScanRunes)
	for sc.Scan() {
		tr.mu.Lock()
		tr.text.WriteString(sc.Text())
		tr.mu.Unlock()
		select {
		case tr.grown <- struct{}{}:
		default:
		}
	}
}

// expect waits until the output after offset contains want and returns the offset just past it.
func (tr *transcript) expect(t *testing.T, from int, want string) int {
	t.Helper()
	deadline := time.After(30 * time.Second)
	for {
		tr.mu.Lock()
		s := tr.text.String()
		tr.mu.Unlock()
		if i := strings.Index(s[from:], want); i >= 0 {
			return from + i + len(want)
		}
		select {
		case <-tr.grown:
		case <-time.After(100 * time.Millisecond):
		case <-deadline:
			t.Fatalf("no %q in output after offset %d:\n%s", want, from, s[from:])
		}
	}
}

// The prompt takes a stake at start, then bpm, status, garbage and quit, through a pipe to the real binary.
func TestPromptThroughPipe(t *testing.T) {
	bin := buildBinary(t)
	dir := t.TempDir()
	out, err := exec.Command(bin, "testnet", "--nodes", "1", "--dir", dir, "--slot", "200ms", "--start-in", "0s",
		"--stakes", "50", "--balance", "1000").CombinedOutput()
	if err != nil {
		t.Fatalf("testnet: %v\n%s", err, out)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "run", "--home", filepath.Join(dir, "node1"), "--listen", "/ip4/127.0.0.1/tcp/0",
		"--http", "127.0.0.1:0", "--mdns=false", "--log-level", "warn")
	cmd.Env = os.Environ()
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, _ := cmd.StdoutPipe()
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	tr := &transcript{grown: make(chan struct{}, 1)}
	go readInto(stdout, tr)
	say := func(line string) { io.WriteString(stdin, line+"\n") }

	at := tr.expect(t, 0, "Enter tokens to stake [0]: ")
	say("99999999")
	at = tr.expect(t, at, "error: ") // more than the balance: asked again
	say("status")                    // not a number: the question is skipped, the command runs
	at = tr.expect(t, at, "stake question skipped")
	at = tr.expect(t, at, "height ")
	say("stake lots")
	at = tr.expect(t, at, `error: "lots" is not a whole number`)
	say("stake 100")
	at = tr.expect(t, at, "stake 100 submitted")
	say("72")
	at = tr.expect(t, at, "bpm 72 submitted")
	say("bpm 999")
	at = tr.expect(t, at, "error: ")
	say("frobnicate now")
	at = tr.expect(t, at, `error: unknown command "frobnicate now"`)
	at = tr.expect(t, at, "(2 txs)") // the stake and the record land in a block, announced on the prompt
	say("status")
	at = tr.expect(t, at, "synced true")
	say("balance")
	at = tr.expect(t, at, "stake 150 nonce 2")
	say("chain 3")
	at = tr.expect(t, at, "bpm [72]")
	say("quit")
	tr.expect(t, at, "stopping")
	if err := cmd.Wait(); err != nil {
		t.Fatalf("exit: %v\n%s", err, tr.text.String())
	}
}
