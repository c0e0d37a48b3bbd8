package main

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/posnode/posnode/p2p"
)

// TestLogSink: with the prompt on a terminal the log goes to <data>/posnode.log and only WARN and above reach the
// terminal; "-" keeps every line on the terminal; without a terminal the default is stderr; an explicit file is
// used either way.
func TestLogSink(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name, flag string
		term       bool
		wantFile   string // "" for no file
		wantOnTerm []string
	}{
		{"terminal, default", "", true, filepath.Join(dir, "data", LogFile), []string{"careful"}},
		{"terminal, -", "-", true, "", []string{"hello", "careful"}},
		{"no terminal, default", "", false, "", nil},
		{"no terminal, a file", filepath.Join(dir, "x.log"), false, filepath.Join(dir, "x.log"), nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var screen bytes.Buffer
			var term *bytes.Buffer
			if tc.term {
				term = &screen
			}
			s, err := chooseLogSink(tc.flag, filepath.Join(dir, "data"), writerOrNil(term))
			if err != nil {
				t.Fatal(err)
			}
			if s.path != tc.wantFile {
				t.Fatalf("log file: got %q, want %q", s.path, tc.wantFile)
			}
			if tc.wantFile == "" && tc.term == false && s.w != os.Stderr {
				t.Fatalf("without a terminal or a file the log should go to stderr")
			}
			log, err := newLogger("console", "info", s)
			if err != nil {
				t.Fatal(err)
			}
			log.Info("hello")
			log.Warn("careful")
			log.Sync()
			for _, w := range []string{"hello", "careful"} {
				if got := strings.Contains(screen.String(), w); got != slices.Contains(tc.wantOnTerm, w) {
					t.Errorf("%q on the terminal: %t, want %t; terminal:\n%s", w, got, !got, screen.String())
				}
			}
			if tc.wantFile != "" {
				b, err := os.ReadFile(tc.wantFile)
				if err != nil || !strings.Contains(string(b), "hello") || !strings.Contains(string(b), "careful") {
					t.Errorf("log file %s: want both lines, got %q (%v)", tc.wantFile, b, err)
				}
			}
		})
	}
}

// writerOrNil keeps a nil *bytes.Buffer a nil io.Writer.
func writerOrNil(b *bytes.Buffer) interface{ Write([]byte) (int, error) } {
	if b == nil {
		return nil
	}
	return b
}

// TestCopyLog: posnode logs prints the whole lines of the file's end.
func TestCopyLog(t *testing.T) {
	path := filepath.Join(t.TempDir(), LogFile)
	if err := os.WriteFile(path, []byte("first line\nsecond\nthird\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := lastLines(f, 10) // "nd\nthird\n": the cut line is skipped
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := copyLog(&out, r, false, 0); err != nil || out.String() != "third\n" {
		t.Fatalf("got %q, %v; want the last whole line", out.String(), err)
	}
}

// TestLibraryLogsStayInTheFile: with the prompt on a terminal, libp2p's identify warning when a peer goes away
// (issue 22's joiner, defect D) and gossipsub's lines reach the log file only, at every level, while the node's
// own warnings still reach the terminal.
func TestLibraryLogsStayInTheFile(t *testing.T) {
	const identify = "failed to identify peer"
	tests := []struct {
		level      string
		wantInFile []string
	}{
		{"debug", []string{"node warn", identify, "identify error"}},
		{"info", []string{"node warn", identify, "identify error"}},
		{"warn", []string{"node warn", identify, "identify error"}},
		{"error", []string{"identify error"}},
	}
	for _, tc := range tests {
		t.Run(tc.level, func(t *testing.T) {
			var file, screen bytes.Buffer
			log, err := newLogger("console", tc.level, logSink{w: &file, tee: &screen, path: "posnode.log"})
			if err != nil {
				t.Fatal(err)
			}
			p2p.RouteLibraryLogs(log.Named("libp2p"))
			lib := p2p.Libp2pLogger("net/identify")
			lib.Debug("identify debug")
			lib.Info("identify info")
			lib.Warn(identify, "peer", "12D3KooWQy96", "error",
				"multistream mux select protocol failed: stream reset: read: connection reset by peer")
			lib.Error("identify error")
			log.Warn("node warn")
			for _, m := range []string{identify, "identify error", "identify debug", "identify info"} {
				if strings.Contains(screen.String(), m) {
					t.Errorf("the terminal shows libp2p's %q:\n%s", m, screen.String())
				}
			}
			if tc.level != "error" && !strings.Contains(screen.String(), "node warn") {
				t.Errorf("the terminal lacks the node's own warning: got %q", screen.String())
			}
			for _, m := range tc.wantInFile {
				if !strings.Contains(file.String(), m) {
					t.Errorf("the log file lacks %q: got\n%s", m, file.String())
				}
			}
		})
	}
}
