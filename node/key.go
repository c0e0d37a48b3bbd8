package node

import (
	"crypto/ed25519"
	"errors"
	"os"

	"github.com/posnode/posnode/keyfile"
)

// KeyFile is the name of the node's key file in its home directory.
const KeyFile = "node.key"

// LoadOrCreateKey reads the ed25519 key file at path (keyfile: hex of the 32-byte seed, PROTOCOL.md §1), creating
// it on first use. The key is both the node's libp2p identity and its account.
func LoadOrCreateKey(path string) (ed25519.PrivateKey, bool, error) {
	key, err := LoadKey(path)
	if err == nil {
		return key, false, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return nil, false, err
	}
	key, err = keyfile.Generate(path)
	return key, err == nil, err
}

// LoadKey reads a key file written by SaveKey (keyfile.Load).
func LoadKey(path string) (ed25519.PrivateKey, error) { return keyfile.Load(path) }

// SaveKey writes the key's seed in hex, readable by its owner only; it never overwrites an existing file
// (keyfile.Save).
func SaveKey(path string, key ed25519.PrivateKey) error { return keyfile.Save(path, key) }
