package p2p

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"strings"
	"unicode"
)

// Wire format of request/response streams (PROTOCOL.md §10):
//
//	request  = frame
//	response = status u8 ‖ frame      status 0: the frame is the response; 1: it is an error text
//	frame    = uvarint(len) ‖ len bytes   (minimal uvarint, at most maxLenBytes bytes)
const (
	statusOK  byte = 0
	statusErr byte = 1

	// maxLenBytes bounds the length prefix: 4 uvarint bytes encode up to 2^28−1 > MaxResponseSize.
	maxLenBytes = 4
	// maxErrorText bounds the error text a handler's failure sends back.
	maxErrorText = 1024
	// eagerAlloc is the largest frame allocated in full before its bytes arrive; longer frames
	// grow as they are read, so a peer cannot make us allocate by merely announcing a length.
	eagerAlloc = 64 << 10
)

// writeFrame writes p as one frame.
func writeFrame(w io.Writer, p []byte) error {
	return writePrefixed(w, binary.AppendUvarint(nil, uint64(len(p))), p)
}

// writeResponse writes a status byte and p as one frame.
func writeResponse(w io.Writer, status byte, p []byte) error {
	return writePrefixed(w, binary.AppendUvarint([]byte{status}, uint64(len(p))), p)
}

func writePrefixed(w io.Writer, head, p []byte) error {
	if _, err := w.Write(head); err != nil {
		return err
	}
	if len(p) == 0 {
		return nil
	}
	_, err := w.Write(p)
	return err
}

// readLength reads a frame's length prefix and checks it against limit.
func readLength(r io.ByteReader, limit int) (int, error) {
	var n uint64
	for i := range maxLenBytes {
		c, err := r.ReadByte()
		if err != nil {
			return 0, fmt.Errorf("%w: length prefix: %w", ErrBadFrame, err)
		}
		n |= uint64(c&0x7f) << (7 * i)
		if c&0x80 != 0 {
			continue
		}
		if c == 0 && i > 0 {
			return 0, fmt.Errorf("%w: non-minimal length prefix", ErrBadFrame)
		}
		if n > uint64(limit) {
			return 0, fmt.Errorf("%w: frame of %d bytes, limit %d", ErrTooLarge, n, limit)
		}
		return int(n), nil
	}
	return 0, fmt.Errorf("%w: length prefix longer than %d bytes", ErrTooLarge, maxLenBytes)
}

// readFrame reads one frame of at most limit bytes.
func readFrame(r *bufio.Reader, limit int) ([]byte, error) {
	n, err := readLength(r, limit)
	if err != nil {
		return nil, err
	}
	if n <= eagerAlloc {
		p := make([]byte, n)
		if _, err := io.ReadFull(r, p); err != nil {
			return nil, fmt.Errorf("%w: %d-byte payload: %w", ErrBadFrame, n, err)
		}
		return p, nil
	}
	var b bytes.Buffer
	b.Grow(eagerAlloc)
	if _, err := io.CopyN(&b, r, int64(n)); err != nil {
		return nil, fmt.Errorf("%w: %d-byte payload: %w", ErrBadFrame, n, err)
	}
	return b.Bytes(), nil
}

// readResponse reads a response: its payload, or the remote handler's error as ErrRemote.
func readResponse(r *bufio.Reader) ([]byte, error) {
	status, err := r.ReadByte()
	if err != nil {
		return nil, fmt.Errorf("%w: status: %w", ErrBadFrame, err)
	}
	switch status {
	case statusOK:
		return readFrame(r, MaxResponseSize)
	case statusErr:
		text, err := readFrame(r, maxErrorText)
		if err != nil {
			return nil, err
		}
		msg := printable(string(text))
		if strings.HasPrefix(msg, ErrRateLimited.Error()) {
			return nil, fmt.Errorf("%w: %w%s", ErrRemote, ErrRateLimited, strings.TrimPrefix(msg, ErrRateLimited.Error()))
		}
		return nil, fmt.Errorf("%w: %s", ErrRemote, msg)
	default:
		return nil, fmt.Errorf("%w: status %d", ErrBadFrame, status)
	}
}

// errorText is the error frame for err: its message cut to maxErrorText bytes of valid UTF-8.
func errorText(err error) []byte {
	s := err.Error()
	if len(s) > maxErrorText {
		s = strings.ToValidUTF8(s[:maxErrorText], "")
	}
	return []byte(s)
}

// printable replaces control characters and invalid UTF-8 in a peer's text so it is safe to log.
func printable(s string) string {
	return strings.Map(func(r rune) rune {
		if r == unicode.ReplacementChar || !unicode.IsPrint(r) {
			return '?'
		}
		return r
	}, strings.ToValidUTF8(s, "?"))
}
