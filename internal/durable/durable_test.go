package durable

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// TestReplace: the new contents replace the old; a failing step keeps the old contents and leaves no sibling.
func TestReplace(t *testing.T) {
	path := filepath.Join(t.TempDir(), "f")
	if err := Replace(path, []byte("one"), nil); err != nil {
		t.Fatal(err)
	}
	if err := Replace(path, []byte("two"), nil); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(path); string(got) != "two" {
		t.Fatalf("contents %q, want %q", got, "two")
	}
	full := errors.New("disk full")
	for _, op := range []string{"write", "sync"} {
		err := Replace(path, []byte("three"), func(o string) error {
			if o == op {
				return full
			}
			return nil
		})
		if !errors.Is(err, full) {
			t.Fatalf("%s failing: error %v, want %v", op, err, full)
		}
		if got, _ := os.ReadFile(path); string(got) != "two" {
			t.Fatalf("%s failing: contents %q, want the old %q", op, got, "two")
		}
		if _, err := os.Stat(path + ".tmp"); !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("%s failing: the sibling file is left: %v", op, err)
		}
	}
}
