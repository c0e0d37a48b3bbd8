package prompt

import (
	"bytes"
	"io"
	"unicode/utf8"
)

// The markers a terminal in bracketed paste mode puts around what is pasted (xterm's "bracketed paste").
var (
	pasteStart = []byte("\x1b[200~")
	pasteEnd   = []byte("\x1b[201~")
)

// keyWatch stands between a terminal and the line editor. It notes Ctrl-C (which the editor reports as the end
// of input) and the real end of input, and it takes pastes in hand: the paste markers are removed, a pasted line
// is passed on only when it ends (or the paste does), and a pasted line longer than MaxLine runes is refused at
// once — the editor gets a line end in its place, long is set, and the rest of that line is dropped unread — so
// that a paste of any size costs one line on the screen. Control bytes in a paste are dropped and set junk
// (a paste never stops the node with a pasted Ctrl-C).
//
// Each Read returns at most one line end, as its last byte, so that long, junk and interrupt always belong to the
// line the editor returns next; newLine clears them. Only the reading goroutine touches a keyWatch.
type keyWatch struct {
	r      io.Reader
	onKeys func() // called before keys go to the editor (the console reads the terminal's size then); may be nil
	buf    [4096]byte
	in     []byte // read from r, not looked at yet
	out    []byte // looked at, for the editor

	pasting bool   // between the paste markers
	held    []byte // pasting: the pasted part of the current line
	runes   int    // pasting: runes in held
	skip    bool   // pasting: the rest of a refused line, dropped
	lastCR  bool   // pasting: the previous pasted byte was '\r' (a '\n' after it ends no second line)

	interrupt, long, junk bool  // seen in the current line
	err                   error // the end of input, or why reading failed
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
		n, err := k.r.Read(k.buf[len(k.in):])
		k.in = k.buf[:len(k.in)+n]
		if err != nil {
			k.err = err
		}
	}
	if k.onKeys != nil {
		k.onKeys()
	}
	n := copy(p, k.out)
	k.out = k.out[n:]
	return n, nil
}

// sort looks at the bytes in k.in until it has passed on a line end or needs more input. It reports whether it
// used any byte. What is left of k.in moves to the front of k.buf.
func (k *keyWatch) sort() bool {
	used := false
	defer func() { k.in = k.buf[:copy(k.buf[:], k.in)] }()
	for len(k.in) > 0 {
		if k.in[0] == 0x1b {
			if m, partial := k.marker(); partial && k.err == nil {
				return used // wait for the rest of what may be a marker
			} else if m != nil {
				k.in, used = k.in[len(m):], true
				k.mark(bytes.Equal(m, pasteStart))
				continue
			}
		}
		b := k.in[0]
		k.in, used = k.in[1:], true
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

// marker returns the paste marker k.in starts with, or reports that k.in is a part of one.
func (k *keyWatch) marker() (m []byte, partial bool) {
	for _, m := range [][]byte{pasteStart, pasteEnd} {
		if bytes.HasPrefix(k.in, m) {
			return m, false
		}
		if len(k.in) < len(m) && bytes.HasPrefix(m, k.in) {
			partial = true
		}
	}
	return nil, partial
}

// mark starts or ends a paste. At its end, the pasted part of the line goes to the editor.
func (k *keyWatch) mark(start bool) {
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
