//go:build unix

package prompt

import (
	"context"
	"io"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/creack/pty"
	"golang.org/x/sys/unix"
	"golang.org/x/term"
)

// Through a pseudo-terminal that starts at 0×0 and is sized later, as `docker attach` sizes a detached
// container's terminal: typed lines echo on one row before and after the size changes; a size change is seen on
// SIGWINCH and, without one, before the next keys are drawn; a 70,000-character paste is refused in one line and
// the prompt goes on.
func TestPromptPseudoTerminal(t *testing.T) {
	ptm, tty, err := pty.Open()
	if err != nil {
		t.Skipf("no pseudo-terminal: %v", err)
	}
	defer ptm.Close()
	defer tty.Close()
	if w, h, err := term.GetSize(int(tty.Fd())); err != nil || w != 0 || h != 0 {
		t.Fatalf("a new pseudo-terminal is %d×%d (%v), want 0×0", w, h, err)
	}
	c, err := NewConsole(tty, tty)
	if err != nil {
		t.Fatal(err)
	}
	if !c.Terminal() {
		t.Fatal("a pseudo-terminal gave a console in pipe mode")
	}
	out := &screen{}
	copied := make(chan struct{})
	go func() { defer close(copied); io.Copy(out, ptm) }()
	node := &fakeNode{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	var once sync.Once
	quit := make(chan struct{})
	go func() {
		defer close(done)
		Run(ctx, Config{Console: c, Backend: node, Events: make(chan string),
			Quit: func() { once.Do(func() { close(quit) }) }})
	}()
	defer func() {
		cancel()
		ptm.Write([]byte("\r")) // the reading goroutine waits for a line
		<-done
		c.Close()
		ptm.Write([]byte("\r")) // a read of the terminal under way ends, and no other starts
		tty.Close()
		ptm.Close()
		<-copied
	}()
	typeKeys := func(s string) { // one key at a time, as a person types
		for _, k := range []byte(s) {
			if _, err := ptm.Write([]byte{k}); err != nil {
				t.Fatal(err)
			}
		}
	}

	at := out.expect(t, 0, "\x1b[?2004h") // bracketed pastes asked for
	at = out.expect(t, at, "`stake N` bonds N of them")
	typeKeys("status\r")
	at = out.expect(t, at, "> status\r\n") // at 0×0: one row, not ">\r\n \r\n s\r\n t..."
	at = out.expect(t, at, "height 7")
	// Home and End as tmux and screen send them, and an arrow in application cursor mode, edit the line.
	// Each batch stays under burstBytes, so that the keys cannot reach the console in one read that looks pasted.
	typeKeys("pm 2\x1b[1~b")
	at = out.expect(t, at, "bpm 2")
	typeKeys("\x1b[4~\x1bOD7\r")
	at = out.expect(t, at, "bpm 72 submitted")

	// docker attach sizes the terminal; the kernel signals the terminal's foreground process, which here is
	// not the test, so the test signals itself.
	setSize(t, ptm, 40)
	if err := unix.Kill(os.Getpid(), unix.SIGWINCH); err != nil {
		t.Fatal(err)
	}
	waitWidth(t, c, 40)
	typeKeys(strings.Repeat("x", 60) + "\r") // wraps after 38 columns of a 40-column terminal
	at = out.expect(t, at, "> "+strings.Repeat("x", 38)+"\r\n"+strings.Repeat("x", 22)+"\r\n")
	at = out.expect(t, at, `unknown command "`+strings.Repeat("x", 60)+`"`)

	setSize(t, ptm, 120) // no signal: the size is read again before the keys are drawn
	typeKeys(strings.Repeat("y", 100) + "\r")
	at = out.expect(t, at, "> "+strings.Repeat("y", 100)+"\r\n")
	at = out.expect(t, at, "\" (type help)\r\n")
	if got := c.width(); got != 120 {
		t.Errorf("width %d after the terminal was sized to 120 columns, want 120", got)
	}

	start := at
	paste := string(pasteStart) + strings.Repeat("a", 70_000) + string(pasteEnd)
	if _, err := io.WriteString(ptm, paste); err != nil {
		t.Fatal(err)
	}
	at = out.expect(t, at, "error: line ignored: longer than 4096 bytes\r\n")
	shown := out.String()[start:at]
	if rows := strings.Count(shown, "\n"); rows > 2 || strings.Contains(shown, "aaaa") {
		t.Errorf("the paste took %d rows (want at most 2) and echoed %d of its characters:\n%q", rows,
			strings.Count(shown, "a"), shown)
	}
	t.Logf("a 70,000-character paste was answered in %d rows: %q", strings.Count(shown, "\n"), shown)
	typeKeys("status\r")
	at = out.expect(t, at, "> status\r\n")
	at = out.expect(t, at, "height 7")
	at = out.expect(t, at, "stake 50\r\n") // the end of the status line

	// The same paste on a terminal that does not bracket pastes (or from tmux send-keys): a burst of input,
	// refused as soon as it is longer than a line may be; Enter ends the refused line.
	start = at
	if _, err := io.WriteString(ptm, strings.Repeat("c", 70_000)); err != nil {
		t.Fatal(err)
	}
	at = out.expect(t, at, "error: line ignored: longer than 4096 bytes\r\n")
	shown = out.String()[start:at]
	if rows, echoed := strings.Count(shown, "\n"), strings.Count(shown, "c"); rows > 2 || echoed > 40 {
		t.Errorf("the unbracketed paste took %d rows (want at most 2) and echoed %d characters:\n%q", rows, echoed, shown)
	}
	t.Logf("an unbracketed 70,000-character paste was answered in %d rows: %q", strings.Count(shown, "\n"), shown)
	typeKeys("\r")
	typeKeys("status\r")
	at = out.expect(t, at, "> status\r\n")
	out.expect(t, at, "height 7")
	if got := node.submissions(); len(got) != 1 || got[0] != "bpm 72" {
		t.Errorf("submitted %v, want only the edited line's bpm 72", got)
	}
}

func setSize(t *testing.T, ptm *os.File, cols uint16) {
	t.Helper()
	if err := pty.Setsize(ptm, &pty.Winsize{Rows: 30, Cols: cols}); err != nil {
		t.Fatal(err)
	}
}

// waitWidth waits until the console draws in cols columns.
func waitWidth(t *testing.T, c *Console, cols int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for c.width() != cols {
		if time.Now().After(deadline) {
			t.Fatalf("the console draws in %d columns, want %d", c.width(), cols)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
