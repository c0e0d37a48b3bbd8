package main

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/posnode/posnode/chain"
	"github.com/posnode/posnode/client"
	"github.com/posnode/posnode/node/prompt"
	"github.com/posnode/posnode/p2p"
)

// TestClientFlagsAnywhere: flags may come before, between or after a command's arguments; "--" ends them.
func TestClientFlagsAnywhere(t *testing.T) {
	for _, args := range [][]string{
		{"--genesis", "g.json", "--json", "72", "--wait", "0"},
		{"72", "--genesis", "g.json", "--json", "--wait=0"},
		{"--json", "--genesis=g.json", "--wait", "0", "--", "72"},
	} {
		o, pos, err := parseClient("client bpm", "client bpm [flags] BPM", "", args)
		if err != nil {
			t.Fatalf("%q: %v", args, err)
		}
		if o.genesis != "g.json" || !o.json || o.wait != 0 || !slices.Equal(pos, []string{"72"}) {
			t.Errorf("%q: got genesis %q json %v wait %v args %q", args, o.genesis, o.json, o.wait, pos)
		}
	}
	if _, _, err := parseClient("client status", "client status", "", []string{"--bogus"}); err == nil ||
		!strings.Contains(err.Error(), "posnode client status --help") {
		t.Errorf("unknown flag: got %v, want a pointer to --help", err)
	}
}

// lines is a prompt input of fixed lines, then an error, or a block until the test ends.
type lines struct {
	text []string
	end  error
	hold chan struct{}
}

func (l *lines) ReadLine() (string, error) {
	if len(l.text) > 0 {
		s := l.text[0]
		l.text = l.text[1:]
		return s, nil
	}
	if l.end == nil {
		<-l.hold
		return "", io.EOF
	}
	return "", l.end
}

// failNet is a transport whose every request fails, as when no node is reachable.
type failNet struct{}

func (failNet) Request(context.Context, string, string, []byte) ([]byte, error) {
	return nil, errors.New("dial backoff")
}

func testSession(t *testing.T, w io.Writer) *session {
	t.Helper()
	_, key, _ := ed25519.GenerateKey(rand.Reader)
	g := &chain.Genesis{ChainID: "cmd-test", Time: time.Unix(1_800_000_000, 0), SlotDuration: chain.Duration(time.Hour),
		EpochLength: 8, BlockReward: 10, MinStake: 1, TxFee: 1}
	cl, err := client.Load(client.Config{Genesis: g, Wallet: client.New(key, g.Hash(), 1), Net: failNet{}, Peers: []string{"a"}})
	if err != nil {
		t.Fatal(err)
	}
	return &session{cl: cl, g: g, out: &printer{w: w}}
}

// TestClientPromptEnds: the prompt stops on quit, at the end of input, on Ctrl-D and Ctrl-C from a terminal,
// and when its context ends (Ctrl-C as a signal) while a read blocks.
func TestClientPromptEnds(t *testing.T) {
	for name, in := range map[string]*lines{
		"quit":   {text: []string{"help", "quit", "72"}},
		"eof":    {end: io.EOF},
		"ctrl-d": {end: prompt.ErrCtrlD},
		"ctrl-c": {end: prompt.ErrInterrupted},
	} {
		var out bytes.Buffer
		if err := clientPrompt(context.Background(), testSession(t, &out), in); err != nil {
			t.Errorf("%s: %v", name, err)
		}
		if name == "quit" && (strings.Contains(out.String(), "error") || !strings.Contains(out.String(), "records a heart rate")) {
			t.Errorf("quit: printed %q, want help and nothing of the line after quit", out.String())
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	hold := &lines{hold: make(chan struct{})}
	defer close(hold.hold)
	done := make(chan error)
	go func() { done <- clientPrompt(ctx, testSession(t, io.Discard), hold) }()
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("cancelled: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the prompt still reads after its context ended")
	}
}

// TestFollowFailurePrintedOnce: nodes that stay unreachable are reported once, not every slot.
func TestFollowFailurePrintedOnce(t *testing.T) {
	var out bytes.Buffer
	s := testSession(t, &out)
	for range 5 {
		s.follow(context.Background())
	}
	if n := strings.Count(out.String(), "follow finality"); n != 1 {
		t.Errorf("printed %d failures, want 1:\n%s", n, out.String())
	}
}

// TestProbeOtherNetwork: a peer that does not speak this network's light protocols is named as not of this
// network, and dropped.
func TestProbeOtherNetwork(t *testing.T) {
	ctx := context.Background()
	newHost := func(ns string) *p2p.Host {
		_, key, _ := ed25519.GenerateKey(rand.Reader)
		h, err := p2p.New(ctx, p2p.Config{Key: key, Listen: []string{"/ip4/127.0.0.1/tcp/0"}, Namespace: ns, NoPeerExchange: true})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { h.Close() })
		return h
	}
	other := newHost("another-network")
	var out bytes.Buffer
	s := testSession(t, &out)
	s.host = newHost(s.g.Hash().String())
	addr := other.Addrs()[0]
	ids, _, err := s.connect(ctx, []string{addr})
	if err == nil || len(ids) != 0 || !strings.Contains(out.String(), "not a node of network \"cmd-test\"") {
		t.Errorf("got ids %v, err %v, printed %q; want the peer dropped as of another network", ids, err, out.String())
	}
}
