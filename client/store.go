package client

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/posnode/posnode/chain"
	"github.com/posnode/posnode/light"
)

// maxHistory bounds the final records a client remembers (about 200 bytes each on disk), so that its state file
// stays far below 1 MB.
const maxHistory = 2000

// Status of a record the client submitted.
const (
	StatusSubmitted = "submitted" // a node admitted it to its mempool
	StatusCommitted = "committed" // proven in a canonical block of a node's chain
	StatusFinal     = "final"     // under a finalized checkpoint the client verified
)

// Record is one transaction the client signed, and what it has proven about it.
type Record struct {
	ID     chain.Hash   `json:"id"`
	Tx     string       `json:"tx"` // hex of the 153-byte encoding, resubmitted as is
	Kind   string       `json:"kind"`
	Nonce  chain.Nonce  `json:"nonce"`
	Value  uint64       `json:"value"`
	Status string       `json:"status"`
	Height chain.Height `json:"height,omitempty"` // of the block proven to hold it
	Epoch  chain.Epoch  `json:"epoch,omitempty"`  // the finalized checkpoint that made it final
}

// tx decodes the record's transaction.
func (r *Record) tx() (chain.Tx, error) {
	b, err := hex.DecodeString(r.Tx)
	if err != nil {
		return chain.Tx{}, fmt.Errorf("record %s: %w", r.ID.Short(), err)
	}
	return chain.DecodeTx(b)
}

func newRecord(tx chain.Tx) Record {
	return Record{ID: tx.ID(), Tx: hex.EncodeToString(tx.Encode()), Kind: tx.Kind.String(), Nonce: tx.Nonce,
		Value: tx.Value, Status: StatusSubmitted}
}

// saved is the client's state file: what it trusts and what it waits for. Nothing in it is secret.
type saved struct {
	Genesis chain.Hash  `json:"genesis"`
	Trust   light.Trust `json:"trust"`
	// Earlier are the trusts before Trust, newest first, whose justified checkpoint is not below the finalized
	// one: sources of an update when the chain justified nothing from Trust's (PROTOCOL.md §14).
	Earlier []light.Trust `json:"earlier,omitempty"`
	Pending []Record      `json:"pending"`
	History []Record      `json:"history"`
	// Peers are the multiaddrs of the full nodes that answered last, for a client started without any.
	Peers []string `json:"peers,omitempty"`
}

// load reads the state file at path; a missing file is no state (nil, nil).
func load(path string) (*saved, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var s saved
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrState, path, err)
	}
	return &s, nil
}

// store writes s to path through a temporary file and a rename, so that a crash leaves the old or the new file.
func (s *saved) store(path string) error {
	if path == "" {
		return nil
	}
	if len(s.History) > maxHistory {
		s.History = s.History[len(s.History)-maxHistory:]
	}
	b, err := json.Marshal(s)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
