package p2p

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"strings"
	"testing"
)

func TestReadFrame(t *testing.T) {
	big := bytes.Repeat([]byte{9}, eagerAlloc+1)
	tests := []struct {
		name  string
		in    []byte
		limit int
		want  []byte
		err   error
	}{
		{"empty frame", []byte{0}, 10, []byte{}, nil},
		{"short frame", []byte{3, 'a', 'b', 'c', 'x'}, 10, []byte("abc"), nil},
		{"at limit", []byte{2, 'a', 'b'}, 2, []byte("ab"), nil},
		{"above limit", []byte{3, 'a', 'b', 'c'}, 2, nil, ErrTooLarge},
		{"grown frame", append(binary.AppendUvarint(nil, uint64(len(big))), big...), len(big), big, nil},
		{"no input", nil, 10, nil, ErrBadFrame},
		{"truncated payload", []byte{3, 'a'}, 10, nil, ErrBadFrame},
		{"truncated prefix", []byte{0x80}, 1 << 20, nil, ErrBadFrame},
		{"non-minimal prefix", []byte{0x81, 0x00, 'a'}, 10, nil, ErrBadFrame},
		{"overlong prefix", []byte{0x80, 0x80, 0x80, 0x80, 0x01}, MaxResponseSize, nil, ErrTooLarge},
		{"huge announced length", []byte{0xff, 0xff, 0xff, 0x7f}, MaxResponseSize, nil, ErrTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := readFrame(bufio.NewReader(bytes.NewReader(tt.in)), tt.limit)
			if !errors.Is(err, tt.err) {
				t.Fatalf("error: got %v, want %v", err, tt.err)
			}
			if !bytes.Equal(got, tt.want) {
				t.Errorf("got %d bytes %.20q, want %d bytes %.20q", len(got), got, len(tt.want), tt.want)
			}
		})
	}
}

func TestReadResponse(t *testing.T) {
	frame := func(status byte, p string) []byte {
		var b bytes.Buffer
		if err := writeResponse(&b, status, []byte(p)); err != nil {
			t.Fatal(err)
		}
		return b.Bytes()
	}
	tests := []struct {
		name    string
		in      []byte
		want    string
		err     error
		errText string
	}{
		{"ok", frame(statusOK, "blocks"), "blocks", nil, ""},
		{"remote error", frame(statusErr, "unknown block"), "", ErrRemote, "unknown block"},
		{"control characters escaped", frame(statusErr, "a\nb\x1b"), "", ErrRemote, "a?b?"},
		{"error text too long", frame(statusErr, strings.Repeat("x", maxErrorText+1)), "", ErrTooLarge, ""},
		{"unknown status", frame(7, "x"), "", ErrBadFrame, "status 7"},
		{"empty", nil, "", ErrBadFrame, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := readResponse(bufio.NewReader(bytes.NewReader(tt.in)))
			if !errors.Is(err, tt.err) || (err != nil && !strings.Contains(err.Error(), tt.errText)) {
				t.Fatalf("error: got %v, want %v containing %q", err, tt.err, tt.errText)
			}
			if string(got) != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestErrorText(t *testing.T) {
	long := errors.New(strings.Repeat("é", maxErrorText)) // 2 bytes per rune: the cut splits one
	got := errorText(long)
	if len(got) > maxErrorText || !strings.HasPrefix(string(got), "éé") || !utf8Valid(got) {
		t.Errorf("got %d bytes (valid UTF-8 %v), want ≤ %d valid bytes", len(got), utf8Valid(got), maxErrorText)
	}
}

func utf8Valid(b []byte) bool { return strings.ToValidUTF8(string(b), "\uFFFD") == string(b) }

// FuzzReadFrame checks that any bytes from a peer give either an error or a frame within the
// limit whose encoding begins the input (the length prefix is canonical), never a panic.
func FuzzReadFrame(f *testing.F) {
	f.Add([]byte{3, 'a', 'b', 'c'}, uint16(10))
	f.Add([]byte{0x81, 0x00}, uint16(10))
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 0x0f}, uint16(100))
	f.Add([]byte{0}, uint16(0))
	f.Fuzz(func(t *testing.T, data []byte, limit uint16) {
		got, err := readFrame(bufio.NewReader(bytes.NewReader(data)), int(limit))
		if err != nil {
			if !errors.Is(err, ErrBadFrame) && !errors.Is(err, ErrTooLarge) {
				t.Fatalf("error %v wraps neither ErrBadFrame nor ErrTooLarge", err)
			}
			return
		}
		if len(got) > int(limit) {
			t.Fatalf("got %d bytes, limit %d", len(got), limit)
		}
		var enc bytes.Buffer
		if err := writeFrame(&enc, got); err != nil {
			t.Fatal(err)
		}
		if !bytes.HasPrefix(data, enc.Bytes()) {
			t.Fatalf("re-encoding %x is not a prefix of the input %x", enc.Bytes(), data)
		}
	})
}

// FuzzReadResponse checks that any response bytes give a payload, a remote error or a frame
// error, never a panic, and that remote error text is printable.
func FuzzReadResponse(f *testing.F) {
	f.Add([]byte{statusOK, 2, 'o', 'k'})
	f.Add([]byte{statusErr, 3, 'e', '\n', 'r'})
	f.Add([]byte{9})
	f.Fuzz(func(t *testing.T, data []byte) {
		got, err := readResponse(bufio.NewReader(bytes.NewReader(data)))
		switch {
		case err == nil:
			if len(got) > MaxResponseSize {
				t.Fatalf("got %d bytes, limit %d", len(got), MaxResponseSize)
			}
		case errors.Is(err, ErrRemote):
			if strings.ContainsFunc(err.Error(), func(r rune) bool { return r < ' ' || r == 0x7f }) {
				t.Fatalf("remote error text not sanitized: %q", err.Error())
			}
		case !errors.Is(err, ErrBadFrame) && !errors.Is(err, ErrTooLarge):
			t.Fatalf("error %v wraps no frame sentinel", err)
		}
	})
}
