package p2p

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
)

// echo answers with the request.
func echo(_ context.Context, _ string, req []byte) ([]byte, error) { return req, nil }

func TestRequest(t *testing.T) {
	a := newHost(t, Config{})
	b := newHost(t, Config{})
	var gotFrom string
	handlers := map[string]Handler{
		"echo": echo,
		"whoami": func(_ context.Context, from string, _ []byte) ([]byte, error) {
			gotFrom = from
			return []byte(from), nil
		},
		"fail": func(context.Context, string, []byte) ([]byte, error) {
			return nil, errors.New("no such block")
		},
		"huge": func(context.Context, string, []byte) ([]byte, error) {
			return make([]byte, MaxResponseSize+1), nil
		},
		"max": func(context.Context, string, []byte) ([]byte, error) {
			return bytes.Repeat([]byte{7}, MaxResponseSize), nil
		},
	}
	for name, fn := range handlers {
		if err := b.Handle(name, fn); err != nil {
			t.Fatal(err)
		}
	}
	connect(t, a, b)

	tests := []struct {
		name    string
		proto   string
		req     []byte
		want    []byte
		wantLen int
		wantErr error
		errText string
	}{
		{name: "round trip", proto: "echo", req: []byte("hello"), want: []byte("hello")},
		{name: "empty", proto: "echo", req: nil, want: []byte{}},
		{name: "largest request", proto: "echo", req: bytes.Repeat([]byte{1}, MaxRequestSize), wantLen: MaxRequestSize},
		{name: "sender is the caller", proto: "whoami", want: []byte(a.ID())},
		{name: "largest response", proto: "max", wantLen: MaxResponseSize},
		{name: "request too large", proto: "echo", req: make([]byte, MaxRequestSize+1), wantErr: ErrTooLarge},
		{name: "handler error", proto: "fail", wantErr: ErrRemote, errText: "no such block"},
		{name: "response too large", proto: "huge", wantErr: ErrRemote, errText: "too large"},
		{name: "unknown protocol", proto: "nope", wantErr: ErrUnsupported},
		{name: "bad protocol name", proto: "a/b", wantErr: ErrBadName},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := a.Request(testCtx(t), b.ID(), tt.proto, tt.req)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) || !strings.Contains(err.Error(), tt.errText) {
					t.Fatalf("got error %v, want %v containing %q", err, tt.wantErr, tt.errText)
				}
				return
			}
			if err != nil {
				t.Fatalf("got error %v, want nil", err)
			}
			if tt.want != nil && !bytes.Equal(got, tt.want) {
				t.Errorf("got %q, want %q", got, tt.want)
			}
			if tt.wantLen != 0 && len(got) != tt.wantLen {
				t.Errorf("got %d bytes, want %d", len(got), tt.wantLen)
			}
		})
	}
	if gotFrom != a.ID() {
		t.Errorf("handler saw sender %s, want %s", gotFrom, a.ID())
	}
}

// TestOversizedRequestFromPeer sends a request frame above the limit on a raw stream: the
// handler must not run and the answer must be an error frame.
func TestOversizedRequestFromPeer(t *testing.T) {
	a := newHost(t, Config{})
	b := newHost(t, Config{})
	called := make(chan struct{}, 1)
	if err := b.Handle("echo", func(ctx context.Context, from string, req []byte) ([]byte, error) {
		called <- struct{}{}
		return req, nil
	}); err != nil {
		t.Fatal(err)
	}
	connect(t, a, b)

	s, err := a.host.NewStream(testCtx(t), b.host.ID(), protocolID(testNS, "echo"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	head := []byte{0x81, 0x80, 0x04} // uvarint(MaxRequestSize + 1)
	if _, err := s.Write(append(head, "partial"...)); err != nil {
		t.Fatal(err)
	}
	_ = s.CloseWrite()
	_, err = readResponse(bufio.NewReader(s))
	if !errors.Is(err, ErrRemote) || !strings.Contains(err.Error(), "too large") {
		t.Errorf("got %v, want %v about the size", err, ErrRemote)
	}
	select {
	case <-called:
		t.Error("handler ran on an oversized request")
	default:
	}
}

func TestRequestCancelled(t *testing.T) {
	a := newHost(t, Config{})
	b := newHost(t, Config{})
	entered := make(chan struct{})
	if err := b.Handle("slow", func(ctx context.Context, _ string, _ []byte) ([]byte, error) {
		close(entered)
		<-ctx.Done()
		return nil, ctx.Err()
	}); err != nil {
		t.Fatal(err)
	}
	connect(t, a, b)
	ctx, cancel := context.WithCancel(testCtx(t))
	go func() {
		<-entered
		cancel()
	}()
	if _, err := a.Request(ctx, b.ID(), "slow", nil); !errors.Is(err, context.Canceled) {
		t.Errorf("got %v, want %v", err, context.Canceled)
	}
}

// TestCloseWaitsForHandlers checks that Close cancels a running handler's context and returns
// only after the handler has finished.
func TestCloseWaitsForHandlers(t *testing.T) {
	a := newHost(t, Config{})
	b, err := New(testCtx(t), Config{Key: newKey(t), Namespace: testNS, Listen: []string{"/ip4/127.0.0.1/tcp/0"}})
	if err != nil {
		t.Fatal(err)
	}
	entered := make(chan struct{})
	var finished atomic.Bool
	if err := b.Handle("slow", func(ctx context.Context, _ string, _ []byte) ([]byte, error) {
		close(entered)
		<-ctx.Done()
		finished.Store(true)
		return nil, ctx.Err()
	}); err != nil {
		t.Fatal(err)
	}
	connect(t, a, b)
	errc := make(chan error, 1)
	go func() {
		_, err := a.Request(testCtx(t), b.ID(), "slow", nil)
		errc <- err
	}()
	<-entered
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if !finished.Load() {
		t.Error("Close returned before the handler finished")
	}
	if err := <-errc; err == nil {
		t.Error("request to a closing host: got nil error")
	}
}
