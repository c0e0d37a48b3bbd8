//go:build !unix

package slashprot

import (
	"fmt"
	"os"
)

// lockFile opens (creating) path. Without flock there is no cross-process lock here: the operator must stop
// the node before an import or export.
func lockFile(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open slashing protection lock: %w", err)
	}
	return f, nil
}
