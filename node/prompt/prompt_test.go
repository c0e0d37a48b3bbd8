package prompt

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/posnode/posnode/chain"
	"github.com/posnode/posnode/node/view"
)

// fakeNode is a Backend that records what the prompt submits.
type fakeNode struct {
	mu        sync.Mutex
	submitted []string // "kind value"
}

var errDial = errors.New("dial tcp 127.0.0.1:1: connection refused")

func (f *fakeNode) Address() chain.Address { return chain.Address{1} }

func (f *fakeNode) Status(context.Context) (view.Status, error) {
	return view.Status{ChainID: "test", Height: 7, Balance: 1000, Stake: 50, TxFee: 1, Peers: 1,
		Justified: chain.Checkpoint{Epoch: 3, Hash: chain.Hash{0xab, 0xcd, 0xef, 0x01}},
		Finalized: chain.Checkpoint{Epoch: 2, Hash: chain.Hash{0x12, 0x34, 0x56, 0x78}}}, nil
}

func (f *fakeNode) Blocks(context.Context, uint64, uint64) ([]view.Block, error) { return nil, nil }

func (f *fakeNode) Account(_ context.Context, a chain.Address) (view.Account, error) {
	return view.Account{Address: a, Balance: 1000}, nil
}

func (f *fakeNode) Validators(context.Context) (uint64, []view.Validator, error) {
	return 4, []view.Validator{{Address: chain.Address{1}, Stake: 100, Share: 0.1}, {Address: chain.Address{2}, Stake: 900, Share: 0.9}}, nil
}

func (f *fakeNode) Peers() []view.Peer { return nil }

func (f *fakeNode) SubmitOwn(_ context.Context, kind chain.TxKind, _ chain.Address, v uint64) (chain.Hash, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.submitted = append(f.submitted, fmt.Sprintf("%s %d", kind, v))
	return chain.Hash{0xab}, nil
}

func (f *fakeNode) Connect(_ context.Context, addr string) error {
	if strings.Contains(addr, "/tcp/1/") {
		return errDial
	}
	return nil
}

func (f *fakeNode) submissions() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.submitted...)
}

// screen collects what the prompt prints.
type screen struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (s *screen) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.Write(p)
}

func (s *screen) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.String()
}

// expect waits until the output after offset from contains want and returns the offset just past it.
func (s *screen) expect(t *testing.T, from int, want string) int {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		out := s.String()
		if i := strings.Index(out[from:], want); i >= 0 {
			return from + i + len(want)
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %q in the output after offset %d:\n%q", want, from, out[from:])
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// session runs a prompt over a console made by mk, fed through a pipe.
type session struct {
	in     *io.PipeWriter
	out    *screen
	node   *fakeNode
	events chan string
	quit   chan struct{}
	done   chan struct{}
}

func startSession(t *testing.T, terminal bool) *session {
	r, w := io.Pipe()
	s := &session{in: w, out: &screen{}, node: &fakeNode{}, events: make(chan string, 8), quit: make(chan struct{}),
		done: make(chan struct{})}
	c := newPipeConsole(r, s.out)
	if terminal {
		c = newTermConsole(r, s.out)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var once sync.Once
	go func() {
		defer close(s.done)
		Run(ctx, Config{Console: c, Backend: s.node, Events: s.events, Quit: func() { once.Do(func() { close(s.quit) }) }})
	}()
	t.Cleanup(func() {
		cancel()
		w.Close()
		<-s.done
	})
	return s
}

func (s *session) say(text string) { io.WriteString(s.in, text) }

// Through a pipe: no question at start, bad lines of every kind answered with what was wrong, and the prompt
// still answers after each.
func TestPromptPipe(t *testing.T) {
	s := startSession(t, false)
	at := s.out.expect(t, 0, "you hold 1000 unstaked tokens (staked: 50); `stake N` bonds N of them (up to 999)\n")
	steps := []struct{ in, want string }{
		{"7\n", "bpm 7 submitted"}, // a number is a heart rate, never the answer to a hidden question
		{"-5\n", `error: out of range: bpm is a whole number from 1 to 300, got "-5"`},
		{"72.5\n", `error: out of range: bpm is a whole number from 1 to 300, got "72.5"`},
		{"99999999999999999999\n", `error: out of range: bpm is a whole number from 1 to 300, got "99999999999999999999"`},
		{"bpm\n", "usage: bpm <1-300>\n"},
		{"bpm 0\n", `error: out of range: bpm is a whole number from 1 to 300, got "0"`},
		{"send 12D3KooWAddr\n", "usage: send <address> <amount>\n"},
		{"stake\n", "usage: stake <amount>\n"},
		{"stake -1\n", "error: out of range: an amount is a whole number from 1 to 18446744073709551615, got \"-1\""},
		{"stake lots\n", `error: not a number: an amount is a whole number from 1 to 18446744073709551615, got "lots"`},
		{"bpm abc\n", `error: not a number: bpm is a whole number from 1 to 300, got "abc"`},
		{"bpm inf\n", `error: not a number: bpm is a whole number from 1 to 300, got "inf"`},
		{"bpm 1e400\n", `error: out of range: bpm is a whole number from 1 to 300, got "1e400"`},
		{"validators\n", "  " + chain.Address{1}.String() + "  stake 100  10.00%  (you)\n"},
		{"chain 0\n", `error: out of range: the count is a whole number from 1 to 256, got "0"`},
		{"status now\n", "usage: status\n"},
		{"frobnicate now\n", `error: unknown command "frobnicate" (type help)`},
		{strings.Repeat("x", 70<<10) + "\n", "error: line ignored: longer than 4096 bytes\n"},
		{"\x00\xff\xfe\x01 junk\n", "error: line ignored: it holds control characters or bytes that are not UTF-8 text\n"},
		{"connect /ip4/127.0.0.1/tcp/1/p2p/12D3KooWX\n", "error: " + errDial.Error() + "\n"},
		{"stake 100\n", "stake 100 submitted"},
		{"status\n", "height 7"},
		{"status\n", "justified 3/abcdef01 finalized 2/12345678"},
	}
	for _, st := range steps {
		s.say(st.in)
		at = s.out.expect(t, at, st.want)
	}
	s.events <- "slot 9: you won -> block #8 abcd1234 (1 txs)"
	at = s.out.expect(t, at, "slot 9: you won -> block #8 abcd1234 (1 txs)\n")
	if got, want := s.node.submissions(), []string{"bpm 7", "stake 100"}; !equal(got, want) {
		t.Errorf("submitted %v, want %v", got, want)
	}
	out := s.out.String()
	for _, never := range []string{"Enter tokens", "error: error:", "connected to /ip4/127.0.0.1/tcp/1/"} {
		if strings.Contains(out, never) {
			t.Errorf("output holds %q:\n%s", never, out)
		}
	}
	s.in.Close() // end of input
	s.out.expect(t, at, "end of input: the prompt stopped reading; the node runs on.")
	<-s.done
	select {
	case <-s.quit:
		t.Errorf("end of input stopped the node")
	default:
	}
}

func equal(a, b []string) bool { return strings.Join(a, "|") == strings.Join(b, "|") }
