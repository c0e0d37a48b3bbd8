package main

import (
	"bytes"
	"crypto/ed25519"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/posnode/posnode/chain"
	"github.com/posnode/posnode/keyfile"
)

// TestClientKeygen: keygen writes a 0600 key file whose key has the address it prints, and refuses to overwrite
// it the second time.
func TestClientKeygen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "me", "client.key")
	var out bytes.Buffer
	if err := clientKeygen([]string{"--out", path}, &out); err != nil {
		t.Fatal(err)
	}
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if info.Mode().Perm() != 0o600 {
		t.Errorf("mode: got %v, want 0600", info.Mode().Perm())
	}
	key, err := keyfile.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	want := "address " + chain.AddressOf(key.Public().(ed25519.PublicKey)).String() + "\n"
	if !strings.HasSuffix(out.String(), want) {
		t.Errorf("output: got %q, want it to end with %q", out.String(), want)
	}
	before, _ := os.ReadFile(path)
	err = clientKeygen([]string{"--out", path}, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "not overwriting") {
		t.Errorf("second keygen: got %v, want a refusal to overwrite", err)
	}
	if after, _ := os.ReadFile(path); !bytes.Equal(before, after) {
		t.Error("the key file changed")
	}
}
