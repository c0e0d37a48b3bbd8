package evidencefile

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/posnode/posnode/chain"
	"github.com/posnode/posnode/internal/chaintest"
)

var keys = chaintest.Keys("evidencefile")

// doubleVote is validator i's double vote for epoch e.
func doubleVote(i int, e chain.Epoch) chain.Evidence {
	return chain.NewDoubleVote(keys.Vote(i, chaintest.Checkpoint(e-1, 0), chaintest.Checkpoint(e, 0)),
		keys.Vote(i, chaintest.Checkpoint(e-1, 0), chaintest.Checkpoint(e, 1)))
}

func ids(set []chain.Evidence) []chain.Hash {
	out := make([]chain.Hash, len(set))
	for i := range set {
		out[i] = set[i].ID()
	}
	return out
}

// TestWriteAndOpen: what Write replaced the file with is what Open returns, a newer generation winning over an
// older one that comes after it; a missing file holds nothing.
func TestWriteAndOpen(t *testing.T) {
	path := filepath.Join(t.TempDir(), FileName)
	f, set, err := Open(path)
	if err != nil || len(set) != 0 {
		t.Fatalf("missing file: %d pieces, %v; want none, no error", len(set), err)
	}
	two := []chain.Evidence{doubleVote(0, 3), doubleVote(1, 4)}
	if err := f.Write(2, two); err != nil {
		t.Fatal(err)
	}
	if err := f.Write(1, two[:1]); err != nil { // overtaken by the newer set: nothing happens
		t.Fatal(err)
	}
	_, got, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(ids(got), ids(two)) {
		t.Fatalf("opened %d pieces %v, want %v", len(got), ids(got), ids(two))
	}
	if err := f.Write(3, nil); err != nil {
		t.Fatal(err)
	}
	if _, got, err = Open(path); err != nil || len(got) != 0 {
		t.Fatalf("after writing none: %d pieces, %v", len(got), err)
	}
}

// TestWriteFailureKeepsTheOldSet: a disk that fails the write or the sync leaves the set written before, and the
// same set can be written once it works.
func TestWriteFailureKeepsTheOldSet(t *testing.T) {
	path := filepath.Join(t.TempDir(), FileName)
	f, _, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	one := []chain.Evidence{doubleVote(0, 3)}
	if err := f.Write(1, one); err != nil {
		t.Fatal(err)
	}
	failing := errors.New("no space left on device")
	var broken bool
	f.SetFault(func(op string) error {
		if broken {
			return failing
		}
		return nil
	})
	broken = true
	two := append(slices.Clone(one), doubleVote(1, 4))
	if err := f.Write(2, two); !errors.Is(err, failing) {
		t.Fatalf("write on a failing disk: %v, want %v", err, failing)
	}
	if _, got, _ := Open(path); !slices.Equal(ids(got), ids(one)) {
		t.Fatalf("after a failed write the file holds %v, want the old %v", ids(got), ids(one))
	}
	broken = false
	if err := f.Write(2, two); err != nil {
		t.Fatalf("the same set once the disk works: %v", err)
	}
	if _, got, _ := Open(path); !slices.Equal(ids(got), ids(two)) {
		t.Fatalf("file holds %v, want %v", ids(got), ids(two))
	}
}

// TestDamagedFile: every flipped byte of a file is found, and Open names the file and what to do.
func TestDamagedFile(t *testing.T) {
	data := Encode([]chain.Evidence{doubleVote(0, 3), {Kind: chain.EvidenceDoubleProposal}})
	for i := range data {
		bad := slices.Clone(data)
		bad[i] ^= 0x40
		if _, err := Decode(bad); !errors.Is(err, ErrDamaged) {
			t.Fatalf("byte %d flipped: %v, want ErrDamaged", i, err)
		}
	}
	if _, err := Decode(data[:len(data)-1]); !errors.Is(err, ErrDamaged) {
		t.Fatalf("cut short: %v, want ErrDamaged", err)
	}
	path := filepath.Join(t.TempDir(), FileName)
	if err := os.WriteFile(path, data[:40], 0o600); err != nil {
		t.Fatal(err)
	}
	_, _, err := Open(path)
	if !errors.Is(err, ErrDamaged) {
		t.Fatalf("Open of a damaged file: %v, want ErrDamaged", err)
	}
	t.Log(err)
}

// FuzzDecode: Decode never panics, and what it accepts encodes to the same bytes.
func FuzzDecode(f *testing.F) {
	f.Add(Encode(nil))
	f.Add(Encode([]chain.Evidence{doubleVote(0, 3)}))
	f.Fuzz(func(t *testing.T, data []byte) {
		set, err := Decode(data)
		if err != nil {
			return
		}
		if again := Encode(set); !slices.Equal(again, data) {
			t.Fatalf("decoded %d pieces that encode to other bytes", len(set))
		}
	})
}
