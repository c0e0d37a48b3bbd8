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
	if n <= 16 {
		b.Votes = []Vote{sampleVote(chainID, 1, 0, 1), sampleVote(chainID, 3, 0, 1)}
		b.Evidence = []Evidence{NewDoubleVote(sampleVote(chainID, 1, 0, 2), sampleVote(chainID, 1, 1, 2))}
	}
	b.Header.VoteRoot, b.Header.EvRoot = VoteRoot(b.Votes), EvidenceRoot(b.Evidence)
	b.Header.StateRoot = HashBytes([]byte("state"))
	b.Sign(chainID, testKey(2))
	return b
}

// sampleVote returns key i's vote from a checkpoint of epoch source to one of epoch target, with hashes made
// from the epochs.
func sampleVote(chainID Hash, i int, source, target Epoch) Vote {
	v := Vote{Validator: testAddr(i),
		Source: Checkpoint{Epoch: source, Hash: HashBytes([]byte{byte(source)})},
		Target: Checkpoint{Epoch: target, Hash: HashBytes([]byte{byte(target)})}}
	v.Sign(chainID, testKey(i))
	return v
}

func TestBlockEncodeRoundTrip(t *testing.T) {
	for _, n := range []int{0, 1, 7, MaxBlockTxs} {
		b := sampleBlock(n)
		enc := b.Encode()
		want := 1 + HeaderSize + 4 + n*TxSize + 2 + len(b.Votes)*VoteSize + 1 + len(b.Evidence)*doubleVoteSize + 64
		if len(enc) != want || b.EncodedSize() != want {
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
		t.Errorf("block of %d transactions is %d bytes, want < 800000", MaxBlockTxs, n)
	}
	largest := blockFixedSize + MaxBlockTxs*TxSize + MaxBlockVotes*VoteSize + MaxBlockEvidence*MaxEvidenceSize
	if largest != 816_600 || largest > 1<<20-64<<10 {
		t.Errorf("largest block is %d bytes, want 816,600 as documented, with 64 KiB to spare below 1 MiB", largest)
	}
}

func TestHeaderEncoding(t *testing.T) {
	h := Header{Height: 0x0102030405060708, Slot: 0x1112131415161718}
	h.Parent[0], h.Proposer[0], h.TxRoot[0], h.StateRoot[31] = 0xa1, 0xa2, 0xa3, 0xa4
	h.Mix[0], h.VRFProof[0], h.VRFProof[79] = 0xa5, 0xa6, 0xa7
	h.VoteRoot[0], h.EvRoot[31] = 0xa8, 0xa9
	enc := h.Encode()
	if len(enc) != HeaderSize {
		t.Fatalf("got %d bytes, want %d", len(enc), HeaderSize)
	}
	checks := []struct {
		off  int
		want byte
	}{{0, 0x01}, {7, 0x08}, {8, 0x11}, {15, 0x18}, {16, 0xa1}, {48, 0xa2}, {80, 0xa3}, {112, 0xa8}, {175, 0xa9}, {207, 0xa4}, {208, 0xa5}, {240, 0xa6}, {319, 0xa7}}
	for _, c := range checks {
		if enc[c.off] != c.want {
			t.Errorf("byte %d: got %#x, want %#x", c.off, enc[c.off], c.want)
		}
	}
	if got, want := h.Hash(), HashBytes([]byte("posnode/header/v3"), enc); got != want {
		t.Errorf("Hash: got %s, want %s", got, want)
	}
	if got := decodeHeader(enc); got != h {
		t.Errorf("decodeHeader: got %+v, want %+v", got, h)
	}
}

// evidenceAt returns the offset of the evidence section's first entry in the encoding of a sampleBlock of ntx
// transactions and nv votes.
func evidenceAt(ntx, nv int) int { return 1 + HeaderSize + 4 + ntx*TxSize + 2 + nv*VoteSize + 1 }

// setCount sets the vote count (width 2) or the evidence count (width 3, one byte) of sampleBlock(2)'s encoding.
func setCount(width, n int) func([]byte) []byte {
	return func(b []byte) []byte {
		if width == 2 {
			binary.BigEndian.PutUint16(b[1+HeaderSize+4+2*TxSize:], uint16(n))
		} else {
			b[evidenceAt(2, 2)-1] = byte(n)
		}
		return b
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
		{"version 2", mutate(func(b []byte) []byte { b[0] = 2; return b }), ErrBadVersion, "version"},
		{"version 4", mutate(func(b []byte) []byte { b[0] = 4; return b }), ErrBadVersion, "version"},
		{"vrf proof truncated", valid[:1+HeaderSize-40], nil, "shorter than the minimum"},
		{"ntx over limit", mutate(setNtx(MaxBlockTxs + 1)), ErrTooManyTxs, "limit"},
		{"ntx max uint32", mutate(setNtx(^uint32(0))), ErrTooManyTxs, "limit"},
		{"ntx larger than data", mutate(setNtx(3)), nil, ""},
		{"ntx far larger than data", mutate(setNtx(40)), nil, "short"},
		{"ntx smaller than data", mutate(setNtx(1)), nil, ""},
		{"votes over limit", mutate(setCount(2, MaxBlockVotes+1)), nil, "limit"},
		{"votes more than data", mutate(setCount(2, 9)), nil, "short"},
		{"evidence over limit", mutate(setCount(3, MaxBlockEvidence+1)), nil, "limit"},
		{"evidence unknown kind", mutate(func(b []byte) []byte { b[evidenceAt(2, 2)] = 9; return b }), nil, "unknown kind"},
		{"evidence count more than data", mutate(setCount(3, 2)), nil, "short"},
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

// TestTxRoot spells out PROTOCOL.md §4a for three transactions: leaves H(0x00 | id), the first two paired,
// the third moved up unpaired, and the tree head wrapped with the domain and the count.
func TestTxRoot(t *testing.T) {
	b := sampleBlock(3)
	var leaf [3]Hash
	for i := range b.Txs {
		id := b.Txs[i].ID()
		leaf[i] = HashBytes([]byte{0}, id[:])
	}
	left := HashBytes([]byte{1}, leaf[0][:], leaf[1][:])
	head := HashBytes([]byte{1}, left[:], leaf[2][:])
	if got, want := TxRoot(b.Txs), HashBytes([]byte("posnode/txroot/v2\x00\x00\x00\x03"), head[:]); got != want {
		t.Errorf("got %s, want %s", got, want)
	}
	empty := HashBytes()
	if got, want := TxRoot(nil), HashBytes([]byte("posnode/txroot/v2\x00\x00\x00\x00"), empty[:]); got != want {
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
	want := append(append([]byte("posnode/block/v3"), chainID[:]...), b.Header.Encode()...)
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
		{"vote root", func(b *Block) { b.Header.VoteRoot[0] ^= 1 }, ErrInvalidBlock},
		{"vote order", func(b *Block) { b.Votes[0], b.Votes[1] = b.Votes[1], b.Votes[0] }, ErrInvalidBlock},
		{"vote twice for an epoch", func(b *Block) {
			b.Votes = append(b.Votes, b.Votes[0])
			b.Votes[2].Source.Hash[0] ^= 1
			b.Header.VoteRoot = VoteRoot(b.Votes)
		}, ErrInvalidBlock},
		{"vote source not below target", func(b *Block) {
			b.Votes[0].Source.Epoch = b.Votes[0].Target.Epoch
			b.Header.VoteRoot = VoteRoot(b.Votes)
		}, ErrInvalidVote},
		{"evidence root", func(b *Block) { b.Header.EvRoot[0] ^= 1 }, ErrInvalidBlock},
		{"evidence not slashable", func(b *Block) {
			b.Evidence[0].VoteB = b.Evidence[0].VoteA
			b.Evidence[0].VoteB.Target.Epoch += 5
			b.Evidence[0].VoteB.Source.Epoch += 5
			b.Header.EvRoot = EvidenceRoot(b.Evidence)
		}, ErrInvalidEvidence},
		{"evidence twice", func(b *Block) {
			b.Evidence = append(b.Evidence, b.Evidence[0])
			b.Header.EvRoot = EvidenceRoot(b.Evidence)
		}, ErrInvalidBlock},
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
