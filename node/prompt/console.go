package prompt

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"os"
	"sync"
	"unicode"
	"unicode/utf8"

	"golang.org/x/term"
)

// Errors of Console.ReadLine besides io.EOF (the end of input).
var (
	// ErrLineTooLong: the line was longer than MaxLine; it was read to its end and dropped.
	ErrLineTooLong = errors.New("line too long")
	// ErrNotText: the line held control characters or bytes that are not UTF-8; it was dropped.
	ErrNotText = errors.New("not text")
	// ErrInterrupted: Ctrl-C on a terminal (which, in raw mode, sends no signal).
	ErrInterrupted = errors.New("interrupted")
	// ErrCtrlD: Ctrl-D on an empty line of a terminal; the terminal is still there.
	ErrCtrlD = errors.New("ctrl-d")
)

// MaxLine is the longest line the console takes, in bytes (in runes on a terminal).
const MaxLine = 4096

const ctrlC = 3

// defaultWidth and defaultHeight stand in for a terminal that reports no size: a detached container's terminal
// is 0×0 until a client attaches, and a width of 0 would put every typed key on a row of its own.
const (
	defaultWidth  = 80
	defaultHeight = 24
)

// Console is the prompt's input and output. On a terminal it edits the line being typed in raw mode and prints
// whatever is written to it (announcements, logs) above that line, then draws the line again; on anything else
// (a pipe, a file, a container without a tty) it reads plain lines and prints no prompt. It is safe for one
// reader and any number of writers.
type Console struct {
	mu  sync.Mutex // serialises writes, and guards term
	out io.Writer
	in  *bufio.Reader // pipe mode

	term       *term.Terminal               // terminal mode; replaced by the reader after Ctrl-D
	w, h       int                          // terminal mode: the size the line editor was last given
	size       func() (w, h int, err error) // terminal mode: reads the terminal's size; nil: fixed size
	keys       *keyWatch                    // terminal mode: what the terminal reads, watched for Ctrl-C and the end
	long, junk bool                         // terminal mode: seen while reading the current line (reader goroutine only)
	restore    func() error                 // terminal mode: puts the terminal back
	prompt     string                       // terminal mode: shown before the line being typed; "" is "> "
	stopWinch  func()                       // terminal mode: stops watching for size changes and waits
}

// NewConsole makes the console of a process: terminal mode when both in and out are terminals, pipe mode
// otherwise. In terminal mode the terminal's size is read again before typed keys are drawn, before each write
// and on SIGWINCH (`docker attach` sizes the container's terminal, which starts at 0×0); a size of 0 counts as
// 80 columns. Pastes are asked to come bracketed, so that a paste too long for a line is refused at once (see
// keyWatch). Close restores the terminal.
func NewConsole(in, out *os.File) (*Console, error) {
	inFd, outFd := int(in.Fd()), int(out.Fd())
	if !term.IsTerminal(inFd) || !term.IsTerminal(outFd) {
		return newPipeConsole(in, out), nil
	}
	old, err := term.MakeRaw(inFd)
	if err != nil {
		return nil, err
	}
	c := newTermConsole(in, out)
	c.size = func() (int, int, error) { return term.GetSize(outFd) }
	c.keys.onKeys = c.resize
	c.mu.Lock()
	c.fitSize()
	c.mu.Unlock()
	c.term.SetBracketedPasteMode(true)
	c.stopWinch = watchWinch(c.resize)
	c.restore = func() error {
		c.term.SetBracketedPasteMode(false)
		return term.Restore(inFd, old)
	}
	return c, nil
}

func newPipeConsole(in io.Reader, out io.Writer) *Console {
	return &Console{out: out, in: bufio.NewReaderSize(in, MaxLine)}
}

func newTermConsole(in io.Reader, out io.Writer) *Console {
	c := &Console{out: out, keys: newKeyWatch(in), w: defaultWidth, h: defaultHeight}
	c.term = c.newTerm()
	return c
}

// resize gives the line editor the terminal's size now; it is called on SIGWINCH.
func (c *Console) resize() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.fitSize()
}

// fitSize reads the terminal's size and, if it changed, gives it to the line editor, which redraws the line
// being typed. A size of 0 (a terminal nobody has sized yet) counts as defaultWidth × defaultHeight. c.mu is
// held.
func (c *Console) fitSize() {
	if c.size == nil {
		return
	}
	w, h, err := c.size()
	if err != nil {
		return
	}
	if w <= 0 {
		w = defaultWidth
	}
	if h <= 0 {
		h = defaultHeight
	}
	if w == c.w && h == c.h {
		return
	}
	c.w, c.h = w, h
	c.term.SetSize(w, h)
}

// width is the number of columns the line editor draws in.
func (c *Console) width() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.w
}

func (c *Console) newTerm() *term.Terminal {
	p := c.prompt
	if p == "" {
		p = "> "
	}
	t := term.NewTerminal(struct {
		io.Reader
		io.Writer
	}{c.keys, c.out}, p)
	t.AutoCompleteCallback = c.watchKey
	t.SetSize(c.w, c.h)
	return t
}

// SetPrompt sets the text shown before the line being typed on a terminal ("> " until set); pipe mode shows none.
func (c *Console) SetPrompt(p string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.prompt = p
	if c.term != nil {
		c.term.SetPrompt(p)
	}
}

// Terminal reports whether the console edits lines on a terminal.
func (c *Console) Terminal() bool { return c.term != nil }

// Write prints p above the line being typed (terminal) or as it is (pipe). Logs may be routed here.
func (c *Console) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.term != nil {
		c.fitSize()
		return c.term.Write(p)
	}
	return c.out.Write(p)
}

// Close stops watching the terminal's size and reading it (after the read under way), and puts the terminal
// back as it was; a no-op in pipe mode. It is called once.
func (c *Console) Close() error {
	if c.stopWinch != nil {
		c.stopWinch()
	}
	if c.keys != nil {
		close(c.keys.stop)
	}
	if c.restore == nil {
		return nil
	}
	return c.restore()
}

// ReadLine returns the next line without its end. It drops a line that is too long (ErrLineTooLong) or not text
// (ErrNotText) after reading it whole, so the next call starts on a fresh line. On a terminal it also returns
// ErrCtrlD and ErrInterrupted; io.EOF means the input itself ended.
func (c *Console) ReadLine() (string, error) {
	if c.term != nil {
		return c.readTerm()
	}
	return c.readPipe()
}

func (c *Console) readPipe() (string, error) {
	var line []byte
	long := false
	for {
		chunk, err := c.in.ReadSlice('\n')
		if !long {
			line = append(line, chunk...)
			if len(bytes.TrimRight(line, "\r\n")) > MaxLine {
				long, line = true, nil
			}
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		if err != nil && (len(line) == 0 && !long || !errors.Is(err, io.EOF)) {
			return "", err
		}
		break // a line, or the last one without its end
	}
	if long {
		return "", ErrLineTooLong
	}
	line = bytes.TrimRight(line, "\r\n")
	if !isText(line) {
		return "", ErrNotText
	}
	return string(line), nil
}

// isText reports whether b is UTF-8 without control characters other than tab.
func isText(b []byte) bool {
	if !utf8.Valid(b) {
		return false
	}
	for _, r := range string(b) {
		if unicode.IsControl(r) && r != '\t' {
			return false
		}
	}
	return true
}

func (c *Console) readTerm() (string, error) {
	c.long, c.junk = false, false
	c.keys.newLine()
	line, err := c.term.ReadLine()
	switch {
	case errors.Is(err, term.ErrPasteIndicator):
		err = nil
	case err != nil && c.keys.err != nil:
		return "", c.keys.err
	case errors.Is(err, io.EOF) && c.keys.interrupt:
		return "", ErrInterrupted
	case errors.Is(err, io.EOF):
		c.afterCtrlD()
		return "", ErrCtrlD
	case err != nil:
		return "", err
	}
	if c.long || c.keys.long {
		return "", ErrLineTooLong
	}
	if c.junk || c.keys.junk {
		return "", ErrNotText
	}
	return line, nil
}

// afterCtrlD starts a new line editor: the old one keeps a Ctrl-D unread and would report it forever. The
// prompt it drew is cleared, so that the new one draws its own.
func (c *Console) afterCtrlD() {
	c.mu.Lock()
	defer c.mu.Unlock()
	io.WriteString(c.out, "\r\x1b[K")
	c.term = c.newTerm()
}

// watchKey sees every key the line editor does not handle itself: it notes a line grown to MaxLine (the editor
// drops keys beyond it) and control keys the editor would drop silently.
func (c *Console) watchKey(line string, _ int, key rune) (string, int, bool) {
	if utf8.RuneCountInString(line) >= MaxLine {
		c.long = true
	}
	if key < ' ' && key != '\t' {
		c.junk = true
	}
	return "", 0, false
}
