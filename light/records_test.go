package light

import (
	"bytes"
	"errors"
	"testing"

	"github.com/posnode/posnode/chain"
)

// TestRecordsRoundTrip: a request and an answer decode to what was encoded; a limit out of 1..MaxRecords and a
// count above MaxRecords are malformed.
func TestRecordsRoundTrip(t *testing.T) {
	req := RecordsRequest{Address: chain.Address{7}, Before: 12, BelowNonce: 9, Limit: 5}
	if got, err := DecodeRecordsRequest(req.Encode()); err != nil || got != req {
		t.Errorf("request: got %+v, %v, want %+v", got, err, req)
	}
	for _, l := range []uint16{0, MaxRecords + 1} {
		bad := RecordsRequest{Limit: l}
		if _, err := DecodeRecordsRequest(bad.Encode()); !errors.Is(err, ErrMalformed) {
			t.Errorf("limit %d: got %v, want ErrMalformed", l, err)
		}
	}
	txs := []chain.Tx{{Kind: chain.TxBPM, Value: 70, Nonce: 1}, {Kind: chain.TxBPM, Value: 71, Nonce: 2}}
	p, err := chain.TxProof(txs, 1)
	if err != nil {
		t.Fatal(err)
	}
	a := RecordsAnswer{Next: 3, Records: []Record{{Tx: txs[1], Header: chain.Header{Height: 4, TxRoot: chain.TxRoot(txs)}, Proof: p}}}
	b := a.Encode()
	got, err := DecodeRecordsAnswer(b)
	if err != nil || got.Next != 3 || len(got.Records) != 1 || got.Records[0].Tx != txs[1] ||
		got.Records[0].Header.Height != 4 || !bytes.Equal(got.Encode(), b) {
		t.Errorf("answer: got %+v, %v", got, err)
	}
	many := append(b[:8:8], 0xff, 0xff)
	if _, err := DecodeRecordsAnswer(many); !errors.Is(err, ErrMalformed) {
		t.Errorf("65535 records: got %v, want ErrMalformed", err)
	}
	if _, err := DecodeRecordsAnswer(b[:len(b)-1]); !errors.Is(err, ErrMalformed) {
		t.Errorf("short answer: got %v, want ErrMalformed", err)
	}
}

func FuzzDecodeRecords(f *testing.F) {
	txs := []chain.Tx{{Kind: chain.TxBPM, Value: 70}}
	p, _ := chain.TxProof(txs, 0)
	a := RecordsAnswer{Next: 1, Records: []Record{{Tx: txs[0], Header: chain.Header{Height: 2}, Proof: p}}}
	f.Add(a.Encode())
	f.Add((&RecordsRequest{Limit: 1}).Encode())
	f.Fuzz(func(t *testing.T, b []byte) {
		a, err := DecodeRecordsAnswer(b)
		if err == nil && (!bytes.Equal(a.Encode(), b) || len(a.Records) > MaxRecords) {
			t.Fatal("decoded records answer does not encode back to its bytes")
		}
		if err != nil && !errors.Is(err, ErrMalformed) {
			t.Fatalf("error without ErrMalformed: %v", err)
		}
		if r, err := DecodeRecordsRequest(b); err == nil && !bytes.Equal(r.Encode(), b) {
			t.Fatal("records request does not encode back")
		}
	})
}
