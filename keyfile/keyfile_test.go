package keyfile

import (
	"bytes"
	"crypto/ed25519"
	"encoding/hex"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

// TestGenerateLoad: a generated key file is one line of 64 hex digits, mode 0600, and loads to the same key.
func TestGenerateLoad(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", "client.key")
	key, err := Generate(path)
	if err != nil {
		t.Fatal(err)
	}
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if info.Mode().Perm() != Mode {
		t.Errorf("mode: got %v, want %v", info.Mode().Perm(), Mode)
	}
	data, _ := os.ReadFile(path)
	if len(data) != 65 || data[64] != '\n' {
		t.Errorf("file: got %q, want 64 hex digits and a newline", data)
	}
	got, err := Load(path)
	if err != nil || !got.Equal(key) {
		t.Errorf("load: got %x, %v; want the generated key", got.Public(), err)
	}
}

// TestGenerateRefusesOverwrite: an existing file is neither overwritten nor changed.
func TestGenerateRefusesOverwrite(t *testing.T) {
	path := filepath.Join(t.TempDir(), "client.key")
	if _, err := Generate(path); err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(path)
	if _, err := Generate(path); !errors.Is(err, fs.ErrExist) {
		t.Errorf("second generate: got %v, want fs.ErrExist", err)
	}
	if after, _ := os.ReadFile(path); !bytes.Equal(before, after) {
		t.Error("the key file changed")
	}
}

// TestLoadFormat: the RFC 8032 seed of the test vector 1 loads to its public key; whitespace is allowed, other
// content is malformed, and a missing file is fs.ErrNotExist.
func TestLoadFormat(t *testing.T) {
	dir := t.TempDir()
	const seed = "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60" // RFC 8032 §7.1, test 1
	const pub = "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"
	write := func(name, s string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	key, err := Load(write("ok", "  "+seed+"\r\n"))
	if err != nil {
		t.Fatal(err)
	}
	if got := key.Public().(ed25519.PublicKey); hex.EncodeToString(got) != pub {
		t.Errorf("public key: got %s, want %s", hex.EncodeToString(got), pub)
	}
	for name, s := range map[string]string{"short": seed[:62], "not hex": "zz" + seed[2:], "two keys": seed + "\n" + seed, "empty": ""} {
		if _, err := Load(write(name, s)); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: got %v, want ErrMalformed", name, err)
		}
	}
	if _, err := Load(filepath.Join(dir, "missing")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing: got %v, want fs.ErrNotExist", err)
	}
}
