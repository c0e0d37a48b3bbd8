package prompt

import (
	"bytes"
	"io"
	"strings"
	"time"
	"unicode/utf8"
)

// The markers a terminal in bracketed paste mode puts around what is pasted (xterm's "bracketed paste").
var (
	pasteStart = []byte("\x1b[200~")
	pasteEnd   = []byte("\x1b[201~")
)

// burstBytes and burstQuiet tell a paste from typing on a terminal that does not bracket pastes: a person's keys
// come a few bytes at a time (an escape sequence is at most a dozen), a paste comes in reads of many bytes. A read
// of burstBytes or more starts a paste, which ends when no byte has come for burstQuiet.
const (
	burstBytes = 16
	burstQuiet = 30 * time.Millisecond
)

// keyWatch stands between a terminal and the line editor. It notes Ctrl-C (which the editor reports as the end
// of input) and the real end of input, and it takes pastes in hand — bracketed ones, and on a terminal that does
// not bracket them, bursts of input: the paste markers are removed, a pasted line is passed on only when it ends
// (or the paste does), and a pasted line longer than MaxLine runes is refused at once — the editor gets a line
// end in its place, long is set, and the rest of that line is dropped unread — so that a paste of any size costs
// one line on the screen. Control bytes in a paste are dropped and set junk (a bracketed paste never stops the
// node with a pasted Ctrl-C; in a burst, Ctrl-C ends the burst and is the key it always is).
//
// Each Read returns at most one line end, as its last byte, so that long, junk and interrupt always belong to the
// line the editor returns next; newLine clears them. Only the reading goroutine touches a keyWatch; a goroutine
// of its own reads the terminal (pump), which ends with the input or, once stop is closed, with its next read.
type keyWatch struct {
	r      io.Reader
	onKeys func() // called before keys go to the editor (the console reads the terminal's size then); may be nil
	chunks chan chunk
	stop   chan struct{} // closed by the console's Close
	in     []byte        // read from r, not looked at yet
	out    []byte        // looked at, for the editor

	pasting bool   // between the paste markers, or in a burst
	burst   bool   // pasting: a burst, not bracketed
	held    []byte // pasting: the pasted part of the current line
	runes   int    // pasting: runes in held
	skip    bool   // pasting: the rest of a refused line, dropped
	lastCR  bool   // pasting: the previous pasted byte was '\r' (a '\n' after it ends no second line)

	interrupt, long, junk bool  // seen in the current line
	err                   error // the end of input, or why reading failed
}

// chunk is one read of the terminal.
type chunk struct {
	data []byte
	err  error
}

func newKeyWatch(r io.Reader) *keyWatch {
	return &keyWatch{r: r, stop: make(chan struct{})}
}

// pump reads the terminal until it fails or ends, or stop is closed: it starts no read after that, and a read
// under way then ends with the next input (a blocking read cannot be called off).
func (k *keyWatch) pump() {
	for {
		select {
		case <-k.stop:
			return
		default:
		}
		buf := make([]byte, 4096)
		n, err := k.r.Read(buf)
		select {
		case k.chunks <- chunk{buf[:n], err}:
		case <-k.stop:
			return
		}
		if err != nil {
			return
		}
	}
}

// newLine forgets what was seen in the previous line.
func (k *keyWatch) newLine() { k.interrupt, k.long, k.junk = false, false, false }

func (k *keyWatch) Read(p []byte) (int, error) {
	for len(k.out) == 0 {
		if len(k.in) > 0 && k.sort() {
			continue
		}
		if k.err != nil {
			return 0, k.err
		}
		k.fill()
	}
	if k.onKeys != nil {
		k.onKeys()
	}
	n := copy(p, k.out)
	k.out = k.out[n:]
	return n, nil
}

// fill waits for the terminal's next read. A read of burstBytes or more starts a burst; in a burst, burstQuiet
// without input ends it.
func (k *keyWatch) fill() {
	if k.chunks == nil {
		k.chunks = make(chan chunk)
		go k.pump()
	}
	var c chunk
	if k.burst {
		t := time.NewTimer(burstQuiet)
		defer t.Stop()
		select {
		case c = <-k.chunks:
		case <-t.C:
			k.mark(false)
			return
		}
	} else {
		c = <-k.chunks
	}
	k.in = append(k.in, c.data...)
	k.err = c.err
	if len(c.data) >= burstBytes && !k.pasting {
		k.pasting, k.burst = true, true
	}
}

// sort looks at the bytes in k.in until it has passed on a line end or needs more input. It reports whether it
// used any byte.
func (k *keyWatch) sort() bool {
	used := false
	for len(k.in) > 0 {
		if k.in[0] == 0x1b {
			if m, partial := k.marker(); partial && k.err == nil {
				return used // wait for the rest of what may be a marker
			} else if m != nil {
				k.in, used = k.in[len(m):], true
				k.mark(bytes.Equal(m, pasteStart))
				continue
			}
			if a, ok := keyAlias(k.in); ok && !k.pasting {
				k.in, k.out, used = k.in[len(a[0]):], append(k.out, a[1]...), true
				continue
			}
		}
		b := k.in[0]
		k.in, used = k.in[1:], true
		if k.burst && b == ctrlC { // a key pressed during a burst, not pasted: Ctrl-C still stops the node
			k.mark(false)
		}
		var ended bool
		if k.pasting {
			ended = k.pasted(b)
		} else {
			k.out = append(k.out, b)
			k.interrupt = k.interrupt || b == ctrlC
			ended = b == '\r' || b == '\n'
		}
		if ended {
			return true
		}
	}
	return used
}

// marker returns the paste marker k.in starts with, or reports that k.in is a part of one, or, out of a paste,
// of a key alias.
func (k *keyWatch) marker() (m []byte, partial bool) {
	for _, m := range [][]byte{pasteStart, pasteEnd} {
		if bytes.HasPrefix(k.in, m) {
			return m, false
		}
		if len(k.in) < len(m) && bytes.HasPrefix(m, k.in) {
			partial = true
		}
	}
	for _, a := range keyAliases {
		if !k.pasting && len(k.in) < len(a[0]) && strings.HasPrefix(a[0], string(k.in)) {
			partial = true
		}
	}
	return nil, partial
}

// keyAliases are keys that terminals send in forms the line editor (golang.org/x/term) does not know, with the
// form it knows: Home and End as tmux, screen and the Linux console send them (ESC [1~, ESC [4~), as rxvt does
// (ESC [7~, ESC [8~), and in application cursor mode (ESC O H, ESC O F, as Ctrl-A and Ctrl-E), and the arrows in
// application cursor mode (ESC O A … D).
var keyAliases = [][2]string{
	{"\x1b[1~", "\x01"}, {"\x1b[4~", "\x05"}, {"\x1b[7~", "\x01"}, {"\x1b[8~", "\x05"},
	{"\x1bOH", "\x01"}, {"\x1bOF", "\x05"},
	{"\x1bOA", "\x1b[A"}, {"\x1bOB", "\x1b[B"}, {"\x1bOC", "\x1b[C"}, {"\x1bOD", "\x1b[D"},
}

// keyAlias returns the alias in starts with.
func keyAlias(in []byte) ([2]string, bool) {
	for _, a := range keyAliases {
		if bytes.HasPrefix(in, []byte(a[0])) {
			return a, true
		}
	}
	return [2]string{}, false
}

// mark starts or ends a paste (a bracketed one, or a burst). At its end, the pasted part of the line goes to the
// editor.
func (k *keyWatch) mark(start bool) {
	k.burst = false // a marker takes over from a burst
	if start == k.pasting {
		return
	}
	k.pasting = start
	if !start {
		k.out = append(k.out, k.held...)
		k.held, k.runes, k.skip, k.lastCR = k.held[:0], 0, false, false
	}
}

// pasted takes one pasted byte; it reports whether it passed on a line end.
func (k *keyWatch) pasted(b byte) bool {
	cr := k.lastCR
	k.lastCR = b == '\r'
	switch {
	case b == '\n' && cr:
		return false // the second half of a "\r\n"
	case b == '\r' || b == '\n':
		if k.skip { // the refused line already ended
			k.skip = false
			return false
		}
		k.out = append(append(k.out, k.held...), '\r')
		k.held, k.runes = k.held[:0], 0
		return true
	case k.skip:
		return false
	case b < ' ' && b != '\t' || b == 0x7f:
		k.junk = true
		return false
	}
	k.held = append(k.held, b)
	if utf8.RuneStart(b) {
		k.runes++
	}
	if k.runes <= MaxLine {
		return false
	}
	k.long, k.skip = true, true
	k.held, k.runes = k.held[:0], 0
	k.out = append(k.out, '\r')
	return true
}
