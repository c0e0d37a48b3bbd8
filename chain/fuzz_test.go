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
