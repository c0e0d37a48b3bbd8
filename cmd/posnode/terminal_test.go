package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/creack/pty"
)

// The real binary on a pseudo-terminal: the prompt edits the line in raw mode, an announcement lands above the
// half-typed line, which is drawn again; Ctrl-D leaves the prompt alive; Ctrl-C stops the node cleanly. The log
// goes to the data directory's posnode.log, not between the prompt's lines.
func TestPromptOnTerminal(t *testing.T) {
	bin := buildBinary(t)
	dir := makeTestnet(t, bin)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "run", "--home", filepath.Join(dir, "node1"), "--listen", "/ip4/127.0.0.1/tcp/0",
		"--http", "127.0.0.1:0", "--mdns=false", "--log-level", "info")
	tty, err := pty.StartWithSize(cmd, &pty.Winsize{Rows: 40, Cols: 200})
	if err != nil {
		t.Fatal(err)
	}
	defer tty.Close()
	tr := &transcript{grown: make(chan struct{}, 1)}
	go readInto(tty, tr)
	type_ := func(s string) { tty.WriteString(s) }

	at := tr.expect(t, 0, "log: "+filepath.Join(dir, "node1", LogFile))
	at = tr.expect(t, at, "`stake N` bonds N of them")
	at = tr.expect(t, at, "> ")
	type_("sta")
	at = tr.expect(t, at, "sta")
	at = tr.expect(t, at, "won -> block #") // an announcement arrives while "sta" is typed …
	at = tr.expect(t, at, "\r\n> sta")      // … and the typed line is drawn again below it
	type_("tus\r")
	at = tr.expect(t, at, "height ")
	type_("\x04")
	at = tr.expect(t, at, "(Ctrl-D ignored")
	type_("status\r")
	at = tr.expect(t, at, "height ")
	type_("\x03")
	tr.expect(t, at, "interrupted: stopping")
	if err := cmd.Wait(); err != nil {
		t.Fatalf("exit after Ctrl-C: %v\n%s", err, tr.String())
	}
	if strings.Contains(tr.String(), "INFO") {
		t.Errorf("INFO log lines on the prompt's terminal:\n%s", tr.String())
	}
	if b, err := os.ReadFile(filepath.Join(dir, "node1", LogFile)); err != nil || !strings.Contains(string(b), "chain opened") {
		t.Errorf("log file: want the node's INFO lines, got %d bytes, %v", len(b), err)
	}
}
