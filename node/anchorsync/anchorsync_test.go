package anchorsync

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"github.com/posnode/posnode/chain"
	"github.com/posnode/posnode/node/blocksync"
)

// FuzzDecodeAnchorMessages: the anchor protocol's decoders never panic, and what they accept re-encodes to the
// same bytes (PROTOCOL.md §13a).
func FuzzDecodeAnchorMessages(f *testing.F) {
	f.Add(Req{Chunk: 3}.Encode(), uint32(0))
	f.Add(Resp{Total: 5, Data: []byte("abcde")}.Encode(), uint32(0))
	f.Add(Resp{NotHeld: true}.Encode(), uint32(1))
	f.Fuzz(func(t *testing.T, in []byte, chunk uint32) {
		if r, err := DecodeReq(in); err == nil && !bytes.Equal(r.Encode(), in) {
			t.Fatalf("request re-encodes to %x, want %x", r.Encode(), in)
		}
		if r, err := DecodeResp(in, chunk); err == nil && !bytes.Equal(r.Encode(), in) {
			t.Fatalf("answer re-encodes to %x, want %x", r.Encode(), in)
		}
	})
}

// A fetch asks chunk after chunk of what Serve answers and assembles the anchor's bytes whole; an answer whose
// length differs from the first chunk's, or that does not decode, fails it as the peer's fault
// (blocksync.ErrBadMessage); "not held" says so.
func TestFetchAssemblesServedChunks(t *testing.T) {
	block := chain.HashBytes([]byte("anchor block"))
	enc := bytes.Repeat([]byte("0123456789abcdef"), ChunkBytes/16*2+7) // two whole chunks and 112 bytes
	f := NewFetch(block)
	asked := 0
	for out := More; out == More; asked++ {
		r := f.Next()
		if r.Block != block || int(r.Chunk) != asked {
			t.Fatalf("request %d: %+v", asked, r)
		}
		resp, err := Serve(r, enc)
		if err != nil {
			t.Fatal(err)
		}
		if out, err = f.OnAnswer(resp, nil); err != nil || out != More && out != Whole {
			t.Fatalf("answer %d: %v, %v", asked, out, err)
		}
	}
	if asked != 3 || !bytes.Equal(f.Bytes(), enc) {
		t.Fatalf("after %d answers: %d bytes, want 3 answers and the %d bytes served", asked, len(f.Bytes()), len(enc))
	}
	if _, err := Serve(Req{Block: block, Chunk: 3}, enc); !errors.Is(err, blocksync.ErrBadMessage) {
		t.Errorf("a chunk past the end: %v, want ErrBadMessage", err)
	}

	f = NewFetch(block)
	first, _ := Serve(f.Next(), enc)
	f.OnAnswer(first, nil)
	longer := append(enc, 'x')
	second, _ := Serve(f.Next(), longer)
	if out, err := f.OnAnswer(second, nil); out != Failed || !errors.Is(err, blocksync.ErrBadMessage) {
		t.Errorf("a second chunk of another length: %v, %v; want Failed, ErrBadMessage", out, err)
	}
	if out, err := NewFetch(block).OnAnswer([]byte{9}, nil); out != Failed || !errors.Is(err, blocksync.ErrBadMessage) {
		t.Errorf("an answer that does not decode: %v, %v; want Failed, ErrBadMessage", out, err)
	}
	if out, err := NewFetch(block).OnAnswer(Resp{NotHeld: true}.Encode(), nil); out != NotHeld || err != nil {
		t.Errorf("not held: %v, %v", out, err)
	}
	timeout := errors.New("timed out")
	if out, err := NewFetch(block).OnAnswer(nil, timeout); out != Failed || !errors.Is(err, timeout) {
		t.Errorf("a failed request: %v, %v", out, err)
	}
}

// A peer that holds no anchor is not asked again before its backoff (3 s, doubling to 5 min); the operator is
// warned once every connected peer said so since the last warning, and not again before a minute, doubling to an
// hour (PROTOCOL.md §13a).
func TestAbsentBacksOffAndWarnsOnce(t *testing.T) {
	var a Absent
	now := time.Unix(1000, 0)
	peers := []string{"p", "q"}
	if a.Waits("p", now) {
		t.Fatal("a peer never asked waits")
	}
	if a.NotHeld("p", now, peers) {
		t.Error("warned while q has not answered")
	}
	if !a.Waits("p", now.Add(RetryFirst-time.Millisecond)) || a.Waits("p", now.Add(RetryFirst)) {
		t.Errorf("p's first backoff is not %v", RetryFirst)
	}
	if !a.NotHeld("q", now, peers) {
		t.Error("no warning once every connected peer said not held")
	}
	later := now.Add(RetryFirst)
	a.NotHeld("p", later, peers)
	if a.NotHeld("q", later, peers) {
		t.Error("warned again before WarnFirst")
	}
	if !a.Waits("p", later.Add(2*RetryFirst-time.Millisecond)) {
		t.Error("p's second backoff did not double")
	}
	again := now.Add(WarnFirst) // both said so since the warning: the first answer after WarnFirst warns
	if !a.NotHeld("p", again, peers) || a.NotHeld("q", again, peers) {
		t.Error("not one warning after WarnFirst")
	}
	if a.NotHeld("p", again.Add(WarnMax), nil) {
		t.Error("warned with no peer connected")
	}
	for range 20 {
		a.NotHeld("p", now, peers)
	}
	if a.Waits("p", now.Add(RetryMax)) {
		t.Errorf("p's backoff grew past %v", RetryMax)
	}
}
