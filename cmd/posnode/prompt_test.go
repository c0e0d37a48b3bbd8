package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
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

func (tr *transcript) String() string {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	return tr.text.String()
}

// expect waits until the output after offset contains want and returns the offset just past it.
func (tr *transcript) expect(t *testing.T, from int, want string) int {
	t.Helper()
	deadline := time.After(30 * time.Second)
	for {
		s := tr.String()
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

// freeAddr returns a loopback address with a port nothing listens on now.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// makeTestnet writes a one-node testnet with unstaked tokens and returns its directory.
func makeTestnet(t *testing.T, bin string) string {
	t.Helper()
	dir := t.TempDir()
	out, err := exec.Command(bin, "testnet", "--nodes", "1", "--dir", dir, "--slot", "200ms", "--start-in", "0s",
		"--stakes", "50", "--balance", "1000").CombinedOutput()
	if err != nil {
		t.Fatalf("testnet: %v\n%s", err, out)
	}
	return dir
}

// The real binary through a pipe: no stake question, bad lines answered, nothing unapplicable signed, and at
// the end of input the prompt says it stopped while the node runs on. The data directory is created.
func TestPromptThroughPipe(t *testing.T) {
	bin := buildBinary(t)
	dir := makeTestnet(t, bin)
	api := freeAddr(t)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "run", "--home", filepath.Join(dir, "node1"), "--listen", "/ip4/127.0.0.1/tcp/0",
		"--data", filepath.Join(dir, "not", "yet", "there"), "--http", api, "--mdns=false", "--log-level", "warn")
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

	at := tr.expect(t, 0, "you hold 1000 unstaked tokens (staked: 50); `stake N` bonds N of them")
	steps := []struct{ in, want string }{
		{"7", "bpm 7 submitted"}, // a heart rate, not an answer to a question nobody saw
		{"stake lots", `error: not a number: an amount is a whole number from 1 to 18446744073709551615, got "lots"`},
		{"-5", `error: out of range: bpm is a whole number from 1 to 300, got "-5"`},
		{"send " + strings.Repeat("1", 10), "usage: send <address> <amount>"},
		{"bpm 999", "error: out of range: bpm is a whole number from 1 to 300"},
		{"stake 100", "stake 100 submitted"},
		{"72", "bpm 72 submitted"},
		{strings.Repeat("z", 100<<10), "error: line ignored: longer than 4096 bytes"},
		{"\x1b\x00\xff binary", "error: line ignored: it holds control characters"},
		{"frobnicate now", `error: unknown command "frobnicate" (type help)`},
	}
	for _, st := range steps {
		say(st.in)
		at = tr.expect(t, at, st.want)
	}
	say("send 12D3KooWEyoppNCUx8Yx66oV9fJnriXwCcXwDDUA2kj6vnc6iDEp 18446744073709551615")
	at = tr.expect(t, at, "error: amount plus fee overflows: 18446744073709551615 + fee 1")
	at = tr.expect(t, at, "(3 txs)") // the records and the stake land in a block, announced on the prompt
	say("status")
	at = tr.expect(t, at, "synced false") // no peers: it cannot know
	say("balance")
	at = tr.expect(t, at, "stake 150 nonce 3 pending 0")
	say("chain 3")
	at = tr.expect(t, at, "bpm [")
	if out := tr.String(); strings.Contains(out, "Enter tokens") || strings.Contains(out, "invalid transaction: invalid transaction") {
		t.Errorf("output asks a question or repeats a prefix:\n%s", out)
	}

	stdin.Close()
	tr.expect(t, at, "end of input: the prompt stopped reading; the node runs on.")
	resp, err := http.Get("http://" + api + "/api/status")
	if err != nil {
		t.Fatalf("the node stopped with its input: %v", err)
	}
	resp.Body.Close()
	cmd.Process.Signal(os.Interrupt)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("exit: %v\n%s", err, tr.String())
	}
}

// A listen port in use ends the start with one line on stderr that names the port and the flag.
func TestPortInUse(t *testing.T) {
	bin := buildBinary(t)
	dir := makeTestnet(t, bin)
	held, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	port := held.Addr().(*net.TCPAddr).Port
	for _, tt := range []struct{ flag, value, want string }{
		{"--listen", fmt.Sprintf("/ip4/127.0.0.1/tcp/%d", port), "choose a free port with --listen"},
		{"--http", held.Addr().String(), "choose a free address with --http"},
	} {
		args := []string{"run", "--home", filepath.Join(dir, "node1"), "--no-prompt", "--mdns=false",
			"--listen", "/ip4/127.0.0.1/tcp/0", "--http", "127.0.0.1:0", tt.flag, tt.value}
		out, err := exec.Command(bin, args...).CombinedOutput()
		lines := strings.Split(strings.TrimSpace(string(out)), "\n")
		last := lines[len(lines)-1]
		if err == nil || !strings.Contains(last, "address already in use") || !strings.Contains(last, tt.want) {
			t.Errorf("%s %s: got %v and\n%s\nwant a last line that says the address is in use and %q", tt.flag, tt.value, err, out, tt.want)
		}
		for _, l := range lines[:len(lines)-1] {
			if !strings.Contains(l, "\tINFO\t") {
				t.Errorf("%s in use: a line besides the error and the start's info: %q", tt.flag, l)
			}
		}
	}
}
