package chain

import (
	"bytes"
	"encoding/binary"
	"errors"
	"reflect"
	"strings"
	"testing"
)

// sampleBlock returns a signed block of n transfer and bpm transactions on the test genesis. Its
// StateRoot is arbitrary: it is for encoding tests. Beyond 16 transactions their signatures are
// filler bytes, to keep the tests fast.
func sampleBlock(n int) *Block {
	g := testGenesis()
	chainID := g.Hash()
	var txs []Tx
	for i := range n {
		tx := NewTx(TxBPM, testAddr(0), Nonce(i), Address{}, 60, 1)
		if i%2 == 0 {
			tx = NewTx(TxTransfer, testAddr(0), Nonce(i), testAddr(1), 1, 1)
		}
		if n <= 16 {
			tx.Sign(chainID, testKey(0))
		} else {
			binary.BigEndian.PutUint64(tx.Sig[:], uint64(i))
		}
		txs = append(txs, tx)
	}
	b := &Block{Header: Header{Height: 1, Slot: 3, Parent: chainID, Proposer: testAddr(2), TxRoot: TxRoot(txs)}, Txs: txs}
	b.Header.StateRoot = HashBytes([]byte("state"))
	b.Sign(chainID, testKey(2))
	return b
}

func TestBlockEncodeRoundTrip(t *testing.T) {
	for _, n := range []int{0, 1, 7, MaxBlockTxs} {
		b := sampleBlock(n)
		enc := b.Encode()
		if want := 1 + HeaderSize + 4 + n*TxSize + 64; len(enc) != want || b.EncodedSize() != want {
			t.Fatalf("txs=%d: got %d bytes (EncodedSize %d), want %d", n, len(enc), b.EncodedSize(), want)
		}
		got, err := DecodeBlock(enc)
		if err != nil {
			t.Fatalf("txs=%d: DecodeBlock: %v", n, err)
		}
		if !reflect.DeepEqual(got, b) {
			t.Errorf("txs=%d: decoded block differs from the original", n)
		}
		if again := got.Encode(); !bytes.Equal(again, enc) {
			t.Errorf("txs=%d: re-encoding differs", n)
		}
	}
	if n := len(sampleBlock(MaxBlockTxs).Encode()); n >= 800_000 {
		t.Errorf("largest block is %d bytes, want < 800000", n)
	}
}

func TestHeaderEncoding(t *testing.T) {
	h := Header{Height: 0x0102030405060708, Slot: 0x1112131415161718}
	h.Parent[0], h.Proposer[0], h.TxRoot[0], h.StateRoot[31] = 0xa1, 0xa2, 0xa3, 0xa4
	h.Mix[0], h.VRFProof[0], h.VRFProof[79] = 0xa5, 0xa6, 0xa7
	enc := h.Encode()
	if len(enc) != HeaderSize {
		t.Fatalf("got %d bytes, want %d", len(enc), HeaderSize)
	}
	checks := []struct {
		off  int
		want byte
	}{{0, 0x01}, {7, 0x08}, {8, 0x11}, {15, 0x18}, {16, 0xa1}, {48, 0xa2}, {80, 0xa3}, {143, 0xa4}, {144, 0xa5}, {176, 0xa6}, {255, 0xa7}}
	for _, c := range checks {
		if enc[c.off] != c.want {
			t.Errorf("byte %d: got %#x, want %#x", c.off, enc[c.off], c.want)
		}
	}
	if got, want := h.Hash(), HashBytes([]byte("posnode/header/v2"), enc); got != want {
		t.Errorf("Hash: got %s, want %s", got, want)
	}
	if got := decodeHeader(enc); got != h {
		t.Errorf("decodeHeader: got %+v, want %+v", got, h)
	}
}

func TestDecodeBlockErrors(t *testing.T) {
	valid := sampleBlock(2).Encode()
	mutate := func(f func([]byte) []byte) []byte { return f(bytes.Clone(valid)) }
	setNtx := func(n uint32) func([]byte) []byte {
		return func(b []byte) []byte { binary.BigEndian.PutUint32(b[1+HeaderSize:], n); return b }
	}
	tests := []struct {
		name   string
		in     []byte
		also   error  // a finer sentinel, if any
		substr string // part of the message
	}{
		{"empty", nil, nil, "shorter than the minimum"},
		{"fixed part short", valid[:blockFixedSize-1], nil, "shorter than the minimum"},
		{"version 0", mutate(func(b []byte) []byte { b[0] = 0; return b }), ErrBadVersion, "version"},
		{"version 1", mutate(func(b []byte) []byte { b[0] = 1; return b }), ErrBadVersion, "version"},
		{"version 3", mutate(func(b []byte) []byte { b[0] = 3; return b }), ErrBadVersion, "version"},
		{"vrf proof truncated", valid[:1+HeaderSize-40], nil, "shorter than the minimum"},
		{"ntx over limit", mutate(setNtx(MaxBlockTxs + 1)), ErrTooManyTxs, "limit"},
		{"ntx max uint32", mutate(setNtx(^uint32(0))), ErrTooManyTxs, "limit"},
		{"ntx larger than data", mutate(setNtx(3)), nil, "short"},
		{"ntx smaller than data", mutate(setNtx(1)), nil, "trailing"},
		{"truncated signature", valid[:len(valid)-1], nil, "short"},
		{"trailing byte", append(bytes.Clone(valid), 0), nil, "trailing"},
		{"bad tx kind", mutate(func(b []byte) []byte { b[1+HeaderSize+4+TxSize] = 0; return b }), nil, "tx 1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := DecodeBlock(tt.in)
			if b != nil || !errors.Is(err, ErrMalformed) {
				t.Fatalf("got (%v, %v), want ErrMalformed", b, err)
			}
			if tt.also != nil && !errors.Is(err, tt.also) {
				t.Errorf("got %v, want it to wrap %v", err, tt.also)
			}
			if !strings.Contains(err.Error(), tt.substr) {
				t.Errorf("got %q, want it to mention %q", err, tt.substr)
			}
		})
	}
}

func TestTxRoot(t *testing.T) {
	b := sampleBlock(3)
	ids := []byte("posnode/txroot/v1\x00\x00\x00\x03")
	for i := range b.Txs {
		id := b.Txs[i].ID()
		ids = append(ids, id[:]...)
	}
	if got, want := TxRoot(b.Txs), HashBytes(ids); got != want {
		t.Errorf("got %s, want %s", got, want)
	}
	if got, want := TxRoot(nil), HashBytes([]byte("posnode/txroot/v1\x00\x00\x00\x00")); got != want {
		t.Errorf("empty: got %s, want %s", got, want)
	}
	swapped := []Tx{b.Txs[1], b.Txs[0], b.Txs[2]}
	if TxRoot(swapped) == TxRoot(b.Txs) {
		t.Errorf("TxRoot ignores order")
	}
}

func TestBlockSignVerify(t *testing.T) {
	chainID := testGenesis().Hash()
	b := sampleBlock(2)
	if err := b.Verify(chainID); err != nil {
		t.Fatalf("Verify: %v", err)
	}
	want := append(append([]byte("posnode/block/v2"), chainID[:]...), b.Header.Encode()...)
	if got := b.SigningBytes(chainID); !bytes.Equal(got, want) {
		t.Errorf("SigningBytes: got %x, want %x", got, want)
	}
	other := chainID
	other[31] ^= 1
	tests := []struct {
		name    string
		mutate  func(*Block)
		chainID Hash
	}{
		{"other chain", func(*Block) {}, other},
		{"height", func(b *Block) { b.Header.Height++ }, chainID},
		{"slot", func(b *Block) { b.Header.Slot++ }, chainID},
		{"parent", func(b *Block) { b.Header.Parent[0] ^= 1 }, chainID},
		{"proposer", func(b *Block) { b.Header.Proposer = testAddr(1) }, chainID},
		{"tx root", func(b *Block) { b.Header.TxRoot[0] ^= 1 }, chainID},
		{"state root", func(b *Block) { b.Header.StateRoot[0] ^= 1 }, chainID},
		{"sig", func(b *Block) { b.Sig[0] ^= 1 }, chainID},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := *b
			tt.mutate(&c)
			if err := c.Verify(tt.chainID); !errors.Is(err, ErrBadSignature) {
				t.Errorf("got %v, want ErrBadSignature", err)
			}
		})
	}
}

func TestBlockValidateBasic(t *testing.T) {
	bad := NewTx(TxBPM, testAddr(0), 5, Address{}, 0, 1)
	tests := []struct {
		name   string
		mutate func(*Block)
		want   error
	}{
		{"valid", func(*Block) {}, nil},
		{"empty", func(b *Block) { b.Txs = nil; b.Header.TxRoot = TxRoot(nil) }, nil},
		{"height 0", func(b *Block) { b.Header.Height = 0 }, ErrInvalidBlock},
		{"slot 0", func(b *Block) { b.Header.Slot = 0 }, ErrInvalidBlock},
		{"tx root", func(b *Block) { b.Header.TxRoot[3] ^= 1 }, ErrBadTxRoot},
		{"tx order", func(b *Block) { b.Txs[0], b.Txs[1] = b.Txs[1], b.Txs[0] }, ErrBadTxRoot},
		{"invalid tx", func(b *Block) { b.Txs = append(b.Txs, bad); b.Header.TxRoot = TxRoot(b.Txs) }, ErrInvalidTx},
		{"duplicate tx", func(b *Block) { b.Txs = append(b.Txs, b.Txs[0]); b.Header.TxRoot = TxRoot(b.Txs) }, ErrDuplicateTx},
		{"too many txs", func(b *Block) {
			b.Txs = make([]Tx, MaxBlockTxs+1)
			for i := range b.Txs {
				b.Txs[i] = NewTx(TxBPM, testAddr(0), Nonce(i), Address{}, 60, 1)
			}
			b.Header.TxRoot = TxRoot(b.Txs)
		}, ErrTooManyTxs},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := sampleBlock(3)
			tt.mutate(b)
			err := b.ValidateBasic()
			if tt.want == nil && err != nil || tt.want != nil && !errors.Is(err, tt.want) {
				t.Errorf("got %v, want %v", err, tt.want)
			}
		})
	}
}
