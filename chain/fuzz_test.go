package chain

import (
	"bytes"
	"testing"
)

// FuzzDecodeTx: DecodeTx never panics, and whatever it accepts re-encodes to the same bytes.
func FuzzDecodeTx(f *testing.F) {
	txSeeds, _ := fuzzSeeds(f)
	for _, in := range txSeeds {
		f.Add(in)
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		tx, err := DecodeTx(in)
		if err != nil {
			return
		}
		if out := tx.Encode(); !bytes.Equal(out, in) {
			t.Fatalf("re-encoding differs:\n got %x\nwant %x", out, in)
		}
		_ = tx.ValidateBasic()
		_ = tx.ID()
	})
}

// FuzzDecodeBlock: DecodeBlock never panics, and whatever it accepts re-encodes to the same bytes.
func FuzzDecodeBlock(f *testing.F) {
	_, blockSeeds := fuzzSeeds(f)
	for _, in := range blockSeeds {
		f.Add(in)
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		b, err := DecodeBlock(in)
		if err != nil {
			if b != nil {
				t.Fatalf("got a block and an error %v", err)
			}
			return
		}
		if out := b.Encode(); !bytes.Equal(out, in) {
			t.Fatalf("re-encoding differs:\n got %x\nwant %x", out, in)
		}
		_ = b.ValidateBasic()
		_ = b.Hash()
	})
}

// FuzzVRFProof: a header's VRF proof comes from a peer. Verify and Output never panic on any 80 bytes, a proof
// that verifies gives the output Output gives, and no proof but the real one verifies for a key and slot.
func FuzzVRFProof(f *testing.F) {
	chainID := testGenesis().Hash()
	good := ProveVRF(testKey(1), chainID, 5)
	f.Add(good[:], uint64(5))
	f.Add(make([]byte, VRFProofSize), uint64(5))
	f.Add(bytes.Repeat([]byte{0xff}, VRFProofSize), uint64(1))
	f.Fuzz(func(t *testing.T, in []byte, slot uint64) {
		var p VRFProof
		copy(p[:], in)
		out, err := p.Verify(testAddr(1), chainID, Slot(slot))
		o2, err2 := p.Output()
		if err != nil {
			return
		}
		if err2 != nil || o2 != out {
			t.Fatalf("verified proof: Output gave (%x, %v), want the verified output", o2[:4], err2)
		}
		if want := ProveVRF(testKey(1), chainID, Slot(slot)); p != want {
			t.Fatalf("a second proof verified for slot %d: %x", slot, p[:8])
		}
	})
}

// FuzzDecodeVote: DecodeVote never panics, and whatever it accepts re-encodes to the same bytes.
func FuzzDecodeVote(f *testing.F) {
	chainID := testGenesis().Hash()
	v := sampleVote(chainID, 1, 2, 3)
	f.Add(v.Encode())
	f.Add(v.Encode()[:VoteSize-1])
	f.Fuzz(func(t *testing.T, in []byte) {
		v, err := DecodeVote(in)
		if err != nil {
			return
		}
		if out := v.Encode(); !bytes.Equal(out, in) {
			t.Fatalf("re-encoding differs:\n got %x\nwant %x", out, in)
		}
		_ = v.ValidateBasic()
		_ = v.Verify(chainID)
	})
}

// FuzzDecodeEvidence: DecodeEvidence never panics, whatever it accepts re-encodes to the same bytes, and
// evidence that passes ValidateBasic accuses one offender with a slashable pair.
func FuzzDecodeEvidence(f *testing.F) {
	chainID := testGenesis().Hash()
	dv := NewDoubleVote(sampleVote(chainID, 1, 0, 2), sampleVote(chainID, 1, 1, 2))
	f.Add(dv.Encode())
	a := goldenBlock(f)
	b := goldenBlock(f)
	b.Header.StateRoot[0] ^= 1
	dp := NewDoubleProposal(a, b)
	f.Add(dp.Encode())
	f.Add([]byte{1})
	f.Fuzz(func(t *testing.T, in []byte) {
		e, err := DecodeEvidence(in)
		if err != nil {
			return
		}
		if out := e.Encode(); !bytes.Equal(out, in) {
			t.Fatalf("re-encoding differs:\n got %x\nwant %x", out, in)
		}
		if e.ValidateBasic() == nil && e.Kind == EvidenceDoubleVote && !Slashable(e.VoteA, e.VoteB) {
			t.Fatal("evidence passed ValidateBasic with a pair that is not slashable")
		}
		_ = e.Verify(chainID)
	})
}

// FuzzDecodeTxBatch: DecodeTxBatch never panics, accepts only whole numbers of transactions within the bound, and
// whatever it accepts re-encodes to the same bytes.
func FuzzDecodeTxBatch(f *testing.F) {
	txSeeds, _ := fuzzSeeds(f)
	for _, in := range txSeeds {
		f.Add(in)
		f.Add(append(append([]byte{}, in...), in...))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		txs, err := DecodeTxBatch(in)
		if err != nil {
			if txs != nil {
				t.Fatalf("got %d transactions and an error %v", len(txs), err)
			}
			return
		}
		if len(txs) == 0 || len(txs) > MaxTxBatch {
			t.Fatalf("accepted a batch of %d transactions", len(txs))
		}
		if out := EncodeTxBatch(txs); !bytes.Equal(out, in) {
			t.Fatalf("re-encoding differs:\n got %x\nwant %x", out, in)
		}
	})
}

// FuzzDecodeMerkleProof: a transaction's inclusion proof comes from a peer. DecodeMerkleProof never panics,
// whatever it accepts re-encodes to the same bytes, and the only proof that verifies the golden block's
// transaction 2 against its TxRoot is the real one.
func FuzzDecodeMerkleProof(f *testing.F) {
	b := goldenBlock(f)
	real, err := TxProof(b.Txs, 2)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(real.Encode())
	for i := range b.Txs {
		p, _ := TxProof(b.Txs, i)
		f.Add(p.Encode())
	}
	f.Add([]byte{0, 0, 0, 0, 0, 0, 0, 1, 0})
	f.Add(bytes.Repeat([]byte{0xff}, merkleProofFixedSize+MaxMerkleDepth*32))
	id := b.Txs[2].ID()
	f.Fuzz(func(t *testing.T, in []byte) {
		p, err := DecodeMerkleProof(in)
		if err != nil {
			return
		}
		if out := p.Encode(); !bytes.Equal(out, in) {
			t.Fatalf("re-encoding differs:\n got %x\nwant %x", out, in)
		}
		if VerifyTxProof(b.Header.TxRoot, id, p) == nil && !bytes.Equal(in, real.Encode()) {
			t.Fatalf("a second proof verified tx 2: %x", in)
		}
	})
}

// FuzzDecodeAccountProof: DecodeAccountProof never panics, whatever it accepts re-encodes to the same bytes, and
// the only proof that verifies key 2's account against the state root is the real one.
func FuzzDecodeAccountProof(f *testing.F) {
	s := provenState(f)
	real, err := s.AccountProof(testAddr(2))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(real.Encode())
	f.Add(real.Encode()[:stateProofFixedSize])
	root, acc := s.Root(), s.Account(testAddr(2))
	f.Fuzz(func(t *testing.T, in []byte) {
		p, err := DecodeAccountProof(in)
		if err != nil {
			return
		}
		if out := p.Encode(); !bytes.Equal(out, in) {
			t.Fatalf("re-encoding differs:\n got %x\nwant %x", out, in)
		}
		if VerifyAccountProof(root, testAddr(2), acc, p) == nil && !bytes.Equal(in, real.Encode()) {
			t.Fatalf("a second proof verified the account: %x", in)
		}
	})
}

// FuzzDecodeStakeTableProof: DecodeStakeTableProof never panics, whatever it accepts re-encodes to the same
// bytes, and the only proof that verifies the stake table of epoch 2 against the state root is the real one.
func FuzzDecodeStakeTableProof(f *testing.F) {
	s := provenState(f)
	table, real, err := s.StakeTableProof(2)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(real.Encode())
	for e := range Epoch(2) {
		_, p, _ := s.StakeTableProof(e)
		f.Add(p.Encode())
	}
	root := s.Root()
	f.Fuzz(func(t *testing.T, in []byte) {
		p, err := DecodeStakeTableProof(in)
		if err != nil {
			return
		}
		if out := p.Encode(); !bytes.Equal(out, in) {
			t.Fatalf("re-encoding differs:\n got %x\nwant %x", out, in)
		}
		if VerifyStakeTable(root, 2, table, p) == nil && !bytes.Equal(in, real.Encode()) {
			t.Fatalf("a second proof verified the table of epoch 2: %x", in)
		}
	})
}
