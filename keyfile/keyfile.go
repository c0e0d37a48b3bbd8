// Package keyfile reads and writes posnode key files (PROTOCOL.md §1): one line holding the 64 hex digits of a
// 32-byte ed25519 seed (RFC 8032 §5.1.5), readable by its owner only. The seed gives the private key, the public
// key and so the address; the same file serves a node (node.key) and a client.
package keyfile

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// Mode is the permission a key file is created with: read and write by its owner only.
const Mode fs.FileMode = 0o600

// ErrMalformed: a key file does not hold one hex-encoded 32-byte seed.
var ErrMalformed = errors.New("malformed key file")

// Load reads the key file at path. Whitespace around the hex digits is ignored; anything else but 64 hex
// digits is ErrMalformed. A missing file gives an error wrapping fs.ErrNotExist.
func Load(path string) (ed25519.PrivateKey, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read key: %w", err)
	}
	seed, err := hex.DecodeString(strings.TrimSpace(string(data)))
	if err != nil || len(seed) != ed25519.SeedSize {
		return nil, fmt.Errorf("%w: %s: want %d hex-encoded bytes", ErrMalformed, path, ed25519.SeedSize)
	}
	return ed25519.NewKeyFromSeed(seed), nil
}

// Save writes key's seed to path as 64 lowercase hex digits and a newline, with Mode, creating the directory
// (0700) if needed. It never overwrites: an existing file gives an error wrapping fs.ErrExist.
func Save(path string, key ed25519.PrivateKey) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("create key directory: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, Mode)
	if err != nil {
		return fmt.Errorf("create key: %w", err)
	}
	if _, err := fmt.Fprintln(f, hex.EncodeToString(key.Seed())); err != nil {
		f.Close()
		return fmt.Errorf("write key: %w", err)
	}
	return f.Close()
}

// Generate creates a key from the operating system's randomness and saves it to path; like Save it refuses an
// existing file (fs.ErrExist).
func Generate(path string) (ed25519.PrivateKey, error) {
	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generate key: %w", err)
	}
	if err := Save(path, key); err != nil {
		return nil, err
	}
	return key, nil
}
