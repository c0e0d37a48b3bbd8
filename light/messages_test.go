package light

import (
	"bytes"
	"errors"
	"fmt"
	"testing"

	"github.com/posnode/posnode/chain"
)

// TestUpdateStrictDecoding: every truncation and an extra byte fail with ErrMalformed; unsorted tables and
// repeated vote indices too.
func TestUpdateStrictDecoding(t *testing.T) {
	f := newFixture(t, 4)
	u := f.update(t, f.genesisCheckpoint(), 1, 3)
	enc := u.Encode()
	if len(enc) != u.EncodedSize() {
		t.Fatalf("encoding of %d bytes, EncodedSize %d", len(enc), u.EncodedSize())
	}
	for n := range len(enc) {
		if _, err := DecodeUpdate(enc[:n]); !errors.Is(err, ErrMalformed) {
			t.Fatalf("%d of %d bytes: got %v, want ErrMalformed", n, len(enc), err)
		}
	}
	if _, err := DecodeUpdate(append(enc, 0)); !errors.Is(err, ErrMalformed) {
		t.Errorf("a trailing byte: got %v", err)
	}
	swapped := cloneUpdate(u)
	swapped.Table[0], swapped.Table[1] = swapped.Table[1], swapped.Table[0]
	repeated := cloneUpdate(u)
	repeated.Votes[1].Index = repeated.Votes[0].Index
	for name, bad := range map[string]Update{"unsorted table": swapped, "repeated voter": repeated} {
		if _, err := DecodeUpdate(bad.Encode()); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: got %v, want ErrMalformed", name, err)
		}
	}
}

// TestSmallMessagesRoundTrip: inclusion, account request and answer decode to what was encoded.
func TestSmallMessagesRoundTrip(t *testing.T) {
	f := newFixture(t, 3)
	a := f.st.Validators(0)[0].Addr
	p, err := f.st.AccountProof(a)
	if err != nil {
		t.Fatal(err)
	}
	ans := AccountAnswer{Account: f.st.Account(a), Proof: p}
	got, err := DecodeAccountAnswer(ans.Encode())
	if err != nil || got.Account != ans.Account || !bytes.Equal(got.Proof.Encode(), p.Encode()) {
		t.Errorf("account answer: got %+v, %v", got, err)
	}
	req := AccountRequest{Address: a, At: chain.Checkpoint{Epoch: 4, Hash: chain.Hash{4}}}
	if got, err := DecodeAccountRequest(req.Encode()); err != nil || got != req {
		t.Errorf("account request: got %+v, %v", got, err)
	}
	txs := []chain.Tx{{Kind: chain.TxBPM, From: a, Value: 70}, {Kind: chain.TxBPM, From: a, Nonce: 1, Value: 71}}
	tp, err := chain.TxProof(txs, 1)
	if err != nil {
		t.Fatal(err)
	}
	inc := Inclusion{Header: f.header(2, chain.Hash{2}), Proof: tp}
	if got, err := DecodeInclusion(inc.Encode()); err != nil || got.Header != inc.Header || got.Proof.Index != 1 {
		t.Errorf("inclusion: got %+v, %v", got, err)
	}
	for name, dec := range map[string]func([]byte) error{
		"inclusion":  func(b []byte) error { _, err := DecodeInclusion(b); return err },
		"account":    func(b []byte) error { _, err := DecodeAccountAnswer(b); return err },
		"request":    func(b []byte) error { _, err := DecodeAccountRequest(b); return err },
		"checkpoint": func(b []byte) error { _, err := DecodeCheckpoint(b); return err },
	} {
		if err := dec([]byte{1, 2, 3}); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s of 3 bytes: got %v, want ErrMalformed", name, err)
		}
	}
}

// TestUpdateSize prints the bytes of one epoch's update at 4 and 128 validators with two thirds of them
// voting, and holds the 128-validator update under 25 KB (Ethereum's sync-committee update is 25,368 bytes).
func TestUpdateSize(t *testing.T) {
	for _, n := range []int{4, 128} {
		f := newFixture(t, n)
		u := f.update(t, f.genesisCheckpoint(), 1, twoThirds(n))
		tr, err := Verify(f.g.Hash(), testEpochLength, GenesisTrust(f.g), &u)
		if err != nil || tr.Justified.Checkpoint != u.Target {
			t.Fatalf("%d validators: %v", n, err)
		}
		size := len(u.Encode())
		fmt.Printf("update at %d validators, %d votes: %d bytes (table %d, votes %d)\n", n, len(u.Votes), size,
			len(u.Table)*stakeSize, len(u.Votes)*signatureSize)
		if n == 128 && size >= 25_000 {
			t.Errorf("update at 128 validators is %d bytes, goal under 25,000", size)
		}
	}
}

func FuzzDecodeUpdate(f *testing.F) {
	fx := newFixture(f, 4)
	u := fx.update(f, fx.genesisCheckpoint(), 1, 3)
	f.Add(u.Encode())
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		u, err := DecodeUpdate(b)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error without ErrMalformed: %v", err)
			}
			return
		}
		if !bytes.Equal(u.Encode(), b) {
			t.Fatal("decoded update does not encode back to its bytes")
		}
	})
}

func FuzzDecodeInclusion(f *testing.F) {
	f.Add((&Inclusion{Proof: chain.MerkleProof{Size: 1}}).Encode())
	f.Fuzz(func(t *testing.T, b []byte) {
		i, err := DecodeInclusion(b)
		if err == nil && !bytes.Equal(i.Encode(), b) {
			t.Fatal("decoded inclusion does not encode back to its bytes")
		}
		if err != nil && !errors.Is(err, ErrMalformed) {
			t.Fatalf("error without ErrMalformed: %v", err)
		}
	})
}

func FuzzDecodeAccountAnswer(f *testing.F) {
	f.Add((&AccountAnswer{Proof: chain.AccountProof{Path: chain.MerkleProof{Size: 1}}}).Encode())
	f.Fuzz(func(t *testing.T, b []byte) {
		a, err := DecodeAccountAnswer(b)
		if err == nil && !bytes.Equal(a.Encode(), b) {
			t.Fatal("decoded account answer does not encode back to its bytes")
		}
		if err != nil && !errors.Is(err, ErrMalformed) {
			t.Fatalf("error without ErrMalformed: %v", err)
		}
	})
}

func FuzzDecodeRequests(f *testing.F) {
	f.Add(make([]byte, 72))
	f.Add(make([]byte, 40))
	f.Fuzz(func(t *testing.T, b []byte) {
		if r, err := DecodeAccountRequest(b); err == nil && !bytes.Equal(r.Encode(), b) {
			t.Fatal("account request does not encode back")
		}
		if c, err := DecodeCheckpoint(b); err == nil && !bytes.Equal(EncodeCheckpoint(c), b) {
			t.Fatal("checkpoint does not encode back")
		}
		if cs, err := DecodeSources(b); err == nil && (!bytes.Equal(EncodeSources(cs), b) || len(cs) > MaxSources) {
			t.Fatal("update request does not encode back")
		}
	})
}

// TestDecodeSources: an update request is 1 to MaxSources checkpoints, in order; anything else is malformed.
func TestDecodeSources(t *testing.T) {
	cs := []chain.Checkpoint{{Epoch: 9, Hash: chain.Hash{9}}, {Epoch: 7, Hash: chain.Hash{7}}}
	got, err := DecodeSources(EncodeSources(cs))
	if err != nil || len(got) != 2 || got[0] != cs[0] || got[1] != cs[1] {
		t.Errorf("two sources: got %v, %v, want %v", got, err, cs)
	}
	for _, n := range []int{0, 39, 41, 40 * (MaxSources + 1)} {
		if _, err := DecodeSources(make([]byte, n)); !errors.Is(err, ErrMalformed) {
			t.Errorf("%d bytes: got %v, want ErrMalformed", n, err)
		}
	}
}
