package slashprot

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/posnode/posnode/chain"
)

// logSeed returns the bytes of a record file with a few blocks and votes, written by the DB itself.
func logSeed(f *testing.F) []byte {
	path := filepath.Join(f.TempDir(), FileName)
	db, err := Open(path)
	if err != nil {
		f.Fatal(err)
	}
	for i := range 3 {
		db.CheckAndRecordBlock(key(i), chain.Slot(i+1), root(fmt.Sprint(i)))
		db.CheckAndRecordVote(key(i), chain.Epoch(i), chain.Epoch(i+2), root(fmt.Sprint("v", i)))
	}
	db.Close()
	data, err := os.ReadFile(path)
	if err != nil {
		f.Fatal(err)
	}
	return data
}

// FuzzParseLog: the record file decoder never panics, fails only with ErrDamaged, drops nothing but a short last
// record or trailing zeros, and what it accepts re-encodes to exactly its valid prefix.
func FuzzParseLog(f *testing.F) {
	good := logSeed(f)
	f.Add(good)
	f.Add(good[:len(good)-7])
	f.Add([]byte(fileHeader))
	f.Add([]byte(fileHeader[:5]))
	f.Add([]byte{})
	flipped := bytes.Clone(good)
	flipped[len(fileHeader)+3] ^= 0x10
	f.Add(flipped)
	f.Fuzz(func(t *testing.T, in []byte) {
		recs, valid, err := parseLog(in)
		if err != nil {
			if !errors.Is(err, ErrDamaged) {
				t.Fatalf("error not wrapping ErrDamaged: %v", err)
			}
			return
		}
		if valid > int64(len(in)) {
			t.Fatalf("valid prefix %d of %d bytes", valid, len(in))
		}
		if rest := in[valid:]; len(rest) >= recordSize && !allZero(rest) {
			t.Fatalf("dropped %d bytes that are neither a short last record nor zeros", len(rest))
		}
		want := int64(0)
		if valid > 0 {
			want = int64(len(fileHeader) + len(recs)*recordSize)
		}
		if valid != want {
			t.Fatalf("valid prefix %d, want %d for %d records", valid, want, len(recs))
		}
		var out []byte
		if valid > 0 {
			out = []byte(fileHeader)
		}
		s := &signer{}
		for _, r := range recs {
			out = r.appendTo(out)
			s.apply(r)
		}
		if !bytes.Equal(out, in[:valid]) {
			t.Fatalf("re-encoding differs from the valid prefix")
		}
		checkSigner(t, s)
	})
}

// FuzzDecodeInterchange: the interchange decoder never panics, fails only with ErrInterchange or
// ErrWrongGenesis, and what it accepts merges into a consistent state.
func FuzzDecodeInterchange(f *testing.F) {
	pk := hex0x(addrBytes(key(1)))
	g := hex0x(testGenesis[:])
	f.Add([]byte(`{"metadata":{"interchange_format_version":"5","genesis_validators_root":"` + g + `"},"data":[]}`))
	f.Add([]byte(`{"metadata":{"interchange_format_version":"5","genesis_validators_root":"` + g + `"},"data":[{"pubkey":"` + pk +
		`","signed_blocks":[{"slot":"5","signing_root":"` + g + `"},{"slot":"3"}],"signed_attestations":[{"source_epoch":"1","target_epoch":"2"}]}]}`))
	f.Add([]byte(`{"metadata":{"interchange_format_version":"4"},"data":null}`))
	f.Add([]byte(`[`))
	f.Fuzz(func(t *testing.T, in []byte) {
		staged, err := decodeInterchange(bytes.NewReader(in), testGenesis)
		if err != nil {
			if !errors.Is(err, ErrInterchange) && !errors.Is(err, ErrWrongGenesis) {
				t.Fatalf("error wrapping neither ErrInterchange nor ErrWrongGenesis: %v", err)
			}
			return
		}
		for addr, s := range staged {
			checkSigner(t, s)
			again := &signer{}
			for _, r := range s.records(addr) {
				if err := r.check(); err != nil {
					t.Fatalf("staged record does not check: %v", err)
				}
				again.apply(r)
			}
			if again.hasBlock != s.hasBlock || again.slot != s.slot || again.blockRoot != s.blockRoot || !slices.Equal(again.blocks, s.blocks) ||
				again.maxSource != s.maxSource || again.maxTarget != s.maxTarget || !slices.Equal(again.votes, s.votes) {
				t.Fatalf("records of a staged key rebuild another state")
			}
		}
	})
}

// checkSigner checks the invariants of a signer's state.
func checkSigner(t *testing.T, s *signer) {
	t.Helper()
	if len(s.votes) > keepVotes || !slices.IsSortedFunc(s.votes, cmpVote) {
		t.Fatalf("kept votes unsorted or over the bound: %d", len(s.votes))
	}
	if len(s.blocks) > keepBlocks || !slices.IsSortedFunc(s.blocks, func(a, b block) int { return cmpUint(a.slot, b.slot) }) ||
		s.hasBlock != (len(s.blocks) > 0) || s.hasBlock && s.blocks[len(s.blocks)-1] != (block{s.slot, s.blockRoot}) {
		t.Fatalf("kept blocks unsorted, over the bound or not ending with the latest: %d", len(s.blocks))
	}
	if s.maxSource > s.maxTarget {
		t.Fatalf("watermark source %d after target %d", s.maxSource, s.maxTarget)
	}
	for _, v := range s.votes {
		if v.source > v.target || v.source > s.maxSource || v.target > s.maxTarget {
			t.Fatalf("kept vote %d→%d outside watermark %d→%d", v.source, v.target, s.maxSource, s.maxTarget)
		}
	}
}
